package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// TestRequestLogSkipsOnlyLinesBelowTheLevel: with the logger at WARN, observeMiddleware builds no
// line for a 200 but still writes the 500's, with its fields.
func TestRequestLogSkipsOnlyLinesBelowTheLevel(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := echo.New()
	e.Pre(observeMiddleware(log, NewMetrics(prometheus.NewRegistry())))
	e.GET("/ok", func(c echo.Context) error { return c.NoContent(http.StatusOK) })
	e.GET("/broken", func(echo.Context) error { return errors.New("broken") })
	for _, path := range []string{"/ok", "/broken"} {
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	var lines []map[string]any
	for _, raw := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		var line map[string]any
		if err := json.Unmarshal(raw, &line); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		lines = append(lines, line)
	}
	if len(lines) != 1 || lines[0]["status"] != float64(500) || lines[0]["level"] != "ERROR" || lines[0]["method"] != "GET" {
		t.Errorf("log lines at WARN = %v, want the 500's line only", lines)
	}
}
