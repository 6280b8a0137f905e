package testutil

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	apispec "github.com/ccbackend/ccbackend/api"
)

// Contract is api/openapi.yaml loaded for response validation.
type Contract struct {
	Doc    *openapi3.T
	router routers.Router
}

var (
	contractOnce sync.Once
	contract     *Contract
	contractErr  error
)

// LoadContract parses api/openapi.yaml (the file itself, not the generated copy, so a handler
// that drifts from the document fails its tests even if the generated code is stale).
func LoadContract(t testing.TB) *Contract {
	t.Helper()
	contractOnce.Do(func() {
		// Bodies of these types are checked as opaque strings; JSON bodies are validated fully.
		for _, ct := range []string{"text/html", "application/yaml", "application/javascript", "text/css", "image/png",
			"text/plain", "image/svg+xml", "application/octet-stream", "application/pdf", "text/event-stream"} {
			openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(apispec.YAML)
		if err != nil {
			contractErr = err
			return
		}
		if err = doc.Validate(context.Background()); err != nil {
			contractErr = err
			return
		}
		doc.Servers = nil
		r, err := gorillamux.NewRouter(doc)
		if err != nil {
			contractErr = err
			return
		}
		contract = &Contract{Doc: doc, router: r}
	})
	if contractErr != nil {
		t.Fatalf("testutil: load api/openapi.yaml: %v", contractErr)
	}
	return contract
}

// Validate checks one exchange against the contract: the status is declared for the operation,
// headers and body match the declared schema, and the request id is present. A request the spec
// has no operation for must be answered with a Problem.
func (c *Contract) Validate(req *http.Request, status int, header http.Header, body []byte) error {
	if header.Get("X-Request-ID") == "" {
		return fmt.Errorf("%s %s → %d: no X-Request-ID header", req.Method, req.URL.Path, status)
	}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return c.validateProblem(req, status, header, body)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: status,
		Header: header,
		Body:   io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s → %d does not match the contract: %w\nbody: %s", req.Method, req.URL.Path, status, err, truncate(body))
	}
	recordExercised(route, status)
	return nil
}

// validateProblem checks an answer to a request no operation covers (unknown path or method).
func (c *Contract) validateProblem(req *http.Request, status int, header http.Header, body []byte) error {
	if status < 400 {
		return fmt.Errorf("%s %s → %d: success for a request the contract does not declare", req.Method, req.URL.Path, status)
	}
	if req.Method == http.MethodHead {
		return nil
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		return fmt.Errorf("%s %s → %d: content type %q, want application/problem+json", req.Method, req.URL.Path, status, ct)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s %s → %d: problem body is not JSON: %w", req.Method, req.URL.Path, status, err)
	}
	schema := c.Doc.Components.Schemas["Problem"].Value
	if err := schema.VisitJSON(v); err != nil {
		return fmt.Errorf("%s %s → %d: body is not a Problem: %w", req.Method, req.URL.Path, status, err)
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}
