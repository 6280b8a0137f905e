package llm_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
)

// The provider reads error responses itself (the SDK's client used to): only the error object's
// type and message are kept, whatever else the body is, and for both ways of calling.
func TestAnthropicErrorBodies(t *testing.T) {
	long, huge := strings.Repeat("x", 100<<10), strings.Repeat("x", 1<<20)
	for _, c := range []struct {
		name    string
		resp    llmtest.Response
		status  int
		message string // the whole Error.Message
	}{
		{"the API's error object", llmtest.ErrorResponse(529, "overloaded_error", "Overloaded"), 529,
			"upstream returned HTTP 529 overloaded_error: Overloaded"},
		{"other fields around it", llmtest.Response{Status: 400, Body: `{"type":"error","request_id":"req_1","error":{"type":"invalid_request_error","message":"bad","details":{"error_code":"x"}}}`}, 400,
			"upstream returned HTTP 400 invalid_request_error: bad"},
		{"JSON of another shape", llmtest.Response{Status: 502, Body: `{"error":"bad gateway","message":"` + testKey + `"}`}, 502,
			"upstream returned HTTP 502"},
		{"a message without a type", llmtest.Response{Status: 500, Body: `{"error":{"message":"boom"}}`}, 500,
			"upstream returned HTTP 500: boom"},
		{"plain text", llmtest.Response{Status: 503, Body: "upstream connect error " + testKey}, 503,
			"upstream returned HTTP 503"},
		{"empty", llmtest.Response{Status: 504, Body: ""}, 504, "upstream returned HTTP 504"},
		{"a long message", llmtest.Response{Status: 413, Body: `{"type":"error","error":{"type":"request_too_large","message":"` + long + `"}}`}, 413,
			"upstream returned HTTP 413 request_too_large: " + long[:300] + "…"},
		{"larger than is read", llmtest.Response{Status: 413, Body: `{"type":"error","error":{"type":"request_too_large","message":"` + huge + `"}}`}, 413,
			"upstream returned HTTP 413"},
		{"echoing the key", llmtest.ErrorResponse(401, "authentication_error", "invalid key "+testKey), 401,
			"upstream returned HTTP 401 authentication_error: invalid key [redacted]"},
	} {
		for _, noStream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/no stream %v", c.name, noStream), func(t *testing.T) {
				p, fake := newAnthropic(t)
				fake.Enqueue(c.resp)
				req := simpleRequest()
				req.NoStream = noStream
				s, err := p.Stream(context.Background(), req)
				if err == nil {
					s.Close()
					t.Fatal("no error")
				}
				e := llmErr(t, err)
				if e.Status != c.status || e.Message != c.message || e.Provider != "anthropic" {
					t.Errorf("error status %d message %q, want %d %q", e.Status, e.Message, c.status, c.message)
				}
				if e.Retryable != (c.status == 429 || c.status >= 500) {
					t.Errorf("status %d retryable = %v", e.Status, e.Retryable)
				}
				if strings.Contains(err.Error(), testKey) {
					t.Errorf("the API key leaks into %q", err)
				}
			})
		}
	}
}

// The caller's deadline, while the upstream has not answered yet, is the caller's: a timeout,
// not retried. The HTTP client's own timeout is not the caller's: a connection failure, which
// the router may retry elsewhere.
func TestAnthropicTimeouts(t *testing.T) {
	t.Run("caller's deadline", func(t *testing.T) {
		srv := stallingServer(t)
		p := llm.NewAnthropic(testKey, srv.URL, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := p.Stream(ctx, simpleRequest())
		e := llmErr(t, err)
		if !errors.Is(err, context.DeadlineExceeded) || e.Retryable || llm.ErrorType(err) != llm.ErrTypeTimeout {
			t.Errorf("error %+v (type %q), want the caller's deadline", e, llm.ErrorType(err))
		}
	})
	t.Run("client timeout", func(t *testing.T) {
		srv := stallingServer(t)
		p := llm.NewAnthropic(testKey, srv.URL, &http.Client{Timeout: 50 * time.Millisecond})
		_, err := p.Stream(context.Background(), simpleRequest())
		e := llmErr(t, err)
		if e.Status != 0 || !e.Retryable || llm.ErrorType(err) == llm.ErrTypeCancelled {
			t.Errorf("error %+v (type %q), want a retryable connection failure", e, llm.ErrorType(err))
		}
		if strings.Contains(err.Error(), testKey) {
			t.Errorf("the API key leaks into %q", err)
		}
	})
}

// stallingServer accepts requests and never answers them until the client goes away.
func stallingServer(t *testing.T) *httptest.Server {
	t.Helper()
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	t.Cleanup(func() { close(stop); srv.Close() })
	return srv
}

// A base URL's path is kept and a trailing slash does not double, as the SDK resolved it.
func TestAnthropicBaseURLPath(t *testing.T) {
	for _, suffix := range []string{"", "/", "/proxy", "/proxy/"} {
		t.Run(suffix, func(t *testing.T) {
			var path string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				path = r.URL.Path
				w.WriteHeader(http.StatusTeapot)
			}))
			defer srv.Close()
			_, err := llm.NewAnthropic(testKey, srv.URL+suffix, nil).Stream(context.Background(), simpleRequest())
			if e := llmErr(t, err); e.Status != http.StatusTeapot {
				t.Fatalf("error %+v", e)
			}
			want := strings.TrimSuffix(suffix, "/") + "/v1/messages"
			if path != want {
				t.Errorf("path %q, want %q", path, want)
			}
		})
	}
}
