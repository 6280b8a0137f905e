package httpapi

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
)

// gzipServer serves handlers under gzipMiddleware, /stream skipped as server.go skips streams.
func gzipServer(t *testing.T, handlers map[string]echo.HandlerFunc) *httptest.Server {
	t.Helper()
	e := echo.New()
	e.Pre(gzipMiddleware(func(c echo.Context) bool { return c.Request().URL.Path == "/stream" }))
	for path, h := range handlers {
		e.GET(path, h)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// gzipGet fetches path, asking for gzip or refusing it (the transport then leaves the body as
// it came), and returns the response with its body decoded as its Content-Encoding says.
func gzipGet(srv *httptest.Server, path string, acceptGzip bool) (*http.Response, string, error) {
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.Header.Set("Accept-Encoding", "identity")
	if acceptGzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		if r, err = gzip.NewReader(resp.Body); err != nil {
			return nil, "", err
		}
	}
	body, err := io.ReadAll(r)
	return resp, string(body), err
}

// TestGzipCompressesOnlyWhatIsWorthIt: bodies from gzipMinLength on are compressed whether they
// come in one write or several, smaller ones go out as they are with their status, streams and
// clients that do not ask are never compressed, and every answer but a stream varies by encoding.
func TestGzipCompressesOnlyWhatIsWorthIt(t *testing.T) {
	t.Parallel()
	large := strings.Repeat(`{"name":"project"},`, 100)
	srv := gzipServer(t, map[string]echo.HandlerFunc{
		"/large": func(c echo.Context) error { return c.Blob(http.StatusOK, "application/json", []byte(large)) },
		"/pieces": func(c echo.Context) error {
			c.Response().Header().Set("Content-Type", "application/json")
			c.Response().WriteHeader(http.StatusCreated)
			for i := 0; i < len(large); i += 100 {
				if _, err := c.Response().Write([]byte(large[i:min(i+100, len(large))])); err != nil {
					return err
				}
			}
			return nil
		},
		"/sized": func(c echo.Context) error { // as projectPage sends a page: the uncompressed length declared
			c.Response().Header().Set("Content-Type", "application/json")
			c.Response().Header().Set("Content-Length", strconv.Itoa(len(large)))
			c.Response().WriteHeader(http.StatusOK)
			_, err := c.Response().Write([]byte(large))
			return err
		},
		"/small":   func(c echo.Context) error { return c.JSON(http.StatusAccepted, map[string]string{"status": "ok"}) },
		"/empty":   func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		"/failing": func(c echo.Context) error { return echo.NewHTTPError(http.StatusTeapot, "no") },
		"/stream":  func(c echo.Context) error { return c.Blob(http.StatusOK, "text/event-stream", []byte(large)) },
	})
	for _, tc := range []struct {
		path       string
		acceptGzip bool
		status     int
		gzipped    bool
		vary       bool
		body       string
	}{
		{"/large", true, http.StatusOK, true, true, large},
		{"/large", false, http.StatusOK, false, true, large},
		{"/pieces", true, http.StatusCreated, true, true, large},
		{"/sized", true, http.StatusOK, true, true, large},
		{"/sized", false, http.StatusOK, false, true, large},
		{"/small", true, http.StatusAccepted, false, true, `{"status":"ok"}` + "\n"},
		{"/empty", true, http.StatusNoContent, false, true, ""},
		{"/failing", true, http.StatusTeapot, false, true, `{"message":"no"}` + "\n"},
		{"/stream", true, http.StatusOK, false, false, large},
	} {
		resp, body, err := gzipGet(srv, tc.path, tc.acceptGzip)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		gzipped := resp.Header.Get("Content-Encoding") == "gzip"
		vary := strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding")
		if resp.StatusCode != tc.status || gzipped != tc.gzipped || vary != tc.vary || body != tc.body {
			t.Errorf("GET %s (gzip %v) = %d gzipped %v vary %v body %.40q, want %d %v %v %.40q",
				tc.path, tc.acceptGzip, resp.StatusCode, gzipped, vary, body, tc.status, tc.gzipped, tc.vary, tc.body)
		}
		if gzipped && resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: compressed with Content-Type %q", tc.path, resp.Header.Get("Content-Type"))
		}
	}
}

// TestGzipPooledWritersKeepResponsesApart: the pooled compressors and buffers serve concurrent
// responses, each of which decodes to its own body.
func TestGzipPooledWritersKeepResponsesApart(t *testing.T) {
	t.Parallel()
	srv := gzipServer(t, map[string]echo.HandlerFunc{
		"/echo": func(c echo.Context) error {
			return c.Blob(http.StatusOK, "text/plain", bytes.Repeat([]byte(c.QueryParam("s")), gzipMinLength))
		},
	})
	var wg sync.WaitGroup
	for _, s := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		wg.Go(func() {
			for range 20 {
				resp, body, err := gzipGet(srv, "/echo?s="+s, true)
				if err != nil {
					t.Errorf("GET /echo?s=%s: %v", s, err)
					return
				}
				if resp.Header.Get("Content-Encoding") != "gzip" || body != strings.Repeat(s, gzipMinLength) {
					t.Errorf("GET /echo?s=%s: gzipped %q, body %.20q…", s, resp.Header.Get("Content-Encoding"), body)
					return
				}
			}
		})
	}
	wg.Wait()
}
