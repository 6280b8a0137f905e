package testutil

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"
)

// ValidatingClient is an HTTP client whose every response is validated against the contract;
// a mismatch fails the test that made the request.
type ValidatingClient struct {
	HTTP *http.Client
}

// NewValidatingClient returns a client bound to t.
func NewValidatingClient(t testing.TB) *ValidatingClient {
	c := LoadContract(t)
	return &ValidatingClient{HTTP: &http.Client{
		Transport: &validatingTransport{t: t, contract: c, next: http.DefaultTransport},
		// Redirects would hide the response the contract describes.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type validatingTransport struct {
	t        testing.TB
	contract *Contract
	next     http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	// Streams are validated by the tests that read them, event by event; CORS preflights are
	// answered by the transport layer, outside the contract.
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		(req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "") {
		return resp, nil
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	plain := body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		if plain, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	if err := v.contract.Validate(req, resp.StatusCode, resp.Header, plain); err != nil {
		v.t.Errorf("contract: %v", err)
	}
	return resp, nil
}

// Do sends req and returns the response with its body read.
func (c *ValidatingClient) Do(t testing.TB, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, body
}

// Request builds a request to the server; body may be nil, a string or []byte.
func (s *Server) Request(t testing.TB, method, path string, body any, header map[string]string) *http.Request {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		t.Fatalf("testutil: unsupported body %T", body)
	}
	req, err := http.NewRequest(method, s.URL+path, r)
	if err != nil {
		t.Fatalf("testutil: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

// Do sends a request through the validating client.
func (s *Server) Do(t testing.TB, method, path string, body any, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	return s.Client.Do(t, s.Request(t, method, path, body, header))
}
