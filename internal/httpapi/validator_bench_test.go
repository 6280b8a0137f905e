package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
)

// BenchmarkValidateChat measures the whole request validation of a typical chat completion
// request on its route (security with an AuthenticationFunc that accepts, the header parameter,
// the body against ChatCompletionRequest): what the validator middleware adds to every chat
// request besides authentication itself.
func BenchmarkValidateChat(b *testing.B) {
	routes := testRoutes(b)
	options := &openapi3filter.Options{AuthenticationFunc: acceptAll}
	b.ReportAllocs()
	for b.Loop() {
		c, _ := routedContext(chatRequest(chatBenchBody, echo.MIMEApplicationJSON), "/v1/chat/completions")
		if err := routes.validate(c, options); err != nil {
			b.Fatal(err)
		}
	}
}

func acceptAll(context.Context, *openapi3filter.AuthenticationInput) error { return nil }

func chatRequest(body, contentType string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/v1/chat/completions", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, contentType)
	return req
}
