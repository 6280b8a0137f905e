package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	apispec "github.com/ccbackend/ccbackend/api"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// internalMarker stands for whatever an internal error may say (a SQL statement, a file path, a
// secret): it must never reach a client.
const internalMarker = "INTERNAL-7f3a9c"

var specForFuzz = sync.OnceValues(func() (*openapi3.T, error) {
	return openapi3.NewLoader().LoadFromData(apispec.YAML)
})

func fuzzSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := specForFuzz()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// fuzzError builds an error of the shape shape selects around the internal text cause, with
// the client-safe detail and fields an application error may carry.
func fuzzError(shape uint8, kind uint8, cause, detail, pointer string, retry int64) error {
	inner := errors.New(internalMarker + cause)
	ae := apperr.Wrap(inner, apperr.Kind(int(kind)%(int(apperr.RangeNotSatisfiable)+1)), "fuzz_code", detail)
	if pointer != "" {
		ae = ae.WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: pointer, Detail: detail})
	}
	if retry != 0 {
		ae = ae.WithRetryAfter(time.Duration(retry))
	}
	switch shape % 8 {
	case 0:
		return inner
	case 1:
		return ae
	case 2:
		return fmt.Errorf("handler %s: %w", internalMarker, ae)
	case 3:
		return echo.NewHTTPError(int(kind)+400, internalMarker+cause)
	case 4:
		return echo.NewHTTPError(int(kind)%100+500, internalMarker+cause).SetInternal(inner)
	case 5:
		return fmt.Errorf("query %s: %w", internalMarker, context.DeadlineExceeded)
	case 6:
		return &http.MaxBytesError{Limit: int64(kind)}
	default:
		return errors.Join(inner, errors.New(cause))
	}
}

// FuzzProblemRendering renders arbitrary errors with the one error handler and checks what the
// client gets: a problem+json body valid against the contract's Problem schema, a status the
// kind maps to, the same status in the body, and never the internal error's text.
func FuzzProblemRendering(f *testing.F) {
	f.Add(uint8(0), uint8(0), "pq: relation users", "", "", int64(0), "GET")
	f.Add(uint8(1), uint8(1), "", "the name is required", "/name", int64(0), "POST")
	f.Add(uint8(1), uint8(11), "redis down", "slow down", "", int64(1500*time.Millisecond), "GET")
	f.Add(uint8(2), uint8(4), "x", "no such project", "", int64(0), "HEAD")
	f.Add(uint8(3), uint8(5), "bad", "", "", int64(0), "DELETE")
	f.Add(uint8(4), uint8(3), "boom", "", "", int64(0), "PUT")
	f.Add(uint8(5), uint8(0), "", "", "", int64(-1), "GET")
	f.Add(uint8(6), uint8(7), "", "", "", int64(0), "PATCH")
	f.Add(uint8(7), uint8(2), "\xff\x00<script>", "d\u2028\"", "/a~1b", int64(1), "GET")
	f.Fuzz(func(t *testing.T, shape, kind uint8, cause, detail, pointer string, retry int64, method string) {
		if strings.Contains(detail+pointer, internalMarker[:8]) || strings.Contains(cause, internalMarker[:8]) {
			t.Skip("the client-safe parts would contain the marker themselves")
		}
		if !validMethod(method) {
			method = http.MethodGet
		}
		err := fuzzError(shape, kind, cause, detail, pointer, retry)
		e := echo.New()
		req := httptest.NewRequest(method, "/v1/fuzz", nil)
		rec := httptest.NewRecorder()
		c := e.NewContext(req, rec)
		c.Set(echo.HeaderXRequestID, "rid-1")
		newErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))(err, c)

		want := kindStatus[classify(err).Kind]
		if rec.Code != want || want == 0 {
			t.Fatalf("status %d, want %d for %v", rec.Code, want, err)
		}
		if ct := rec.Header().Get(echo.HeaderContentType); ct != "application/problem+json" {
			t.Fatalf("Content-Type %q", ct)
		}
		if ra := rec.Header().Get("Retry-After"); ra != "" && (ra[0] == '-' || ra == "0") {
			t.Fatalf("Retry-After %q", ra)
		}
		if strings.Contains(rec.Body.String(), internalMarker) || strings.Contains(rec.Header().Get("Retry-After"), internalMarker) {
			t.Fatalf("the problem shows the internal error: %s", rec.Body)
		}
		if method == http.MethodHead {
			if rec.Body.Len() != 0 {
				t.Fatalf("HEAD got a body: %s", rec.Body)
			}
			return
		}
		var doc any
		if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
			t.Fatalf("body is not JSON: %v\n%s", err, rec.Body)
		}
		schema := fuzzSpec(t).Components.Schemas["Problem"].Value
		if err := schema.VisitJSON(doc); err != nil {
			t.Fatalf("problem does not match the contract: %v\n%s", err, rec.Body)
		}
		if got := doc.(map[string]any)["status"]; got != float64(want) {
			t.Fatalf("body status %v, response status %d", got, want)
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// FuzzIdempotencyRequestHash checks the request fingerprint: deterministic, and no two
// different requests share it, in particular not by moving bytes from one part into the next
// (the parts are length-prefixed for that reason). It also checks the contract's rule for the
// key itself: a key the validator admits is printable ASCII, safe to store in a text column.
func FuzzIdempotencyRequestHash(f *testing.F) {
	f.Add("POST", "/v1/projects", "/v1/projects", "", []byte(`{"name":"a"}`), "key-1")
	f.Add("POST", "/v1/projects/:id/keys", "/v1/projects/1/keys", "a=b", []byte(""), "k")
	f.Add("PUT", "", "", "", []byte(nil), "")
	f.Add("POST", "/v1/a", "/v1/a b", "x=%zz", []byte("\x00\xff"), "ключ")
	f.Add("POST", "/v1/a", "/v1/a", "", []byte("x"), strings.Repeat("k", 256))
	f.Fuzz(func(t *testing.T, method, route, path, query string, body []byte, key string) {
		parts := []string{method, route, path, query, string(body)}
		hash := func(p []string) []byte {
			req := &http.Request{Method: p[0], URL: &url.URL{Path: p[2], RawQuery: p[3]}}
			return requestHash(req, p[1], []byte(p[4]))
		}
		h := hash(parts)
		if len(h) != 32 || !bytes.Equal(h, hash(parts)) {
			t.Fatalf("hash %x is not a stable SHA-256", h)
		}
		for i := 0; i < len(parts)-1; i++ {
			if parts[i] == "" {
				continue
			}
			moved := append([]string{}, parts...)
			last := len(moved[i]) - 1
			moved[i+1] = moved[i][last:] + moved[i+1]
			moved[i] = moved[i][:last]
			if i == 2 && (&url.URL{Path: moved[2]}).EscapedPath() == (&url.URL{Path: parts[2]}).EscapedPath() {
				continue // the same request path after all
			}
			if bytes.Equal(h, hash(moved)) {
				t.Fatalf("%q and %q share a fingerprint", parts, moved)
			}
		}

		schema := fuzzSpec(t).Components.Parameters["IdempotencyKey"].Value.Schema.Value
		if schema.VisitJSON(key) == nil {
			if len(key) == 0 || len(key) > 255 {
				t.Fatalf("key of %d bytes admitted", len(key))
			}
			for i := 0; i < len(key); i++ {
				if key[i] < 0x21 || key[i] > 0x7e {
					t.Fatalf("key %q with byte %#x admitted", key, key[i])
				}
			}
		}
	})
}
