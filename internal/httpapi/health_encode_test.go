package httpapi

import (
	"math"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
)

// TestHealthPageEncodesLikeTheGeneratedResponse: healthPage writes the bytes, status and content
// type of api.GetHealth200JSONResponse for versions that need escaping and for uptimes in each
// of encoding/json's float forms.
func TestHealthPageEncodesLikeTheGeneratedResponse(t *testing.T) {
	started := time.Date(2026, 12, 3, 6, 0, 0, 123456789, time.FixedZone("CET", 3600))
	for _, version := range []string{"v1.2.3", "", `quo"te \ <b>&amp;</b>`, "naïve\u2028\x00", "bad \xff"} {
		frame, err := newHealthFrame(version, started)
		if err != nil {
			t.Fatal(err)
		}
		for _, uptime := range []float64{0, 1e-7, -1e-7, 1e-6, 0.5, 1, 12345.678901234, 86400.000001, 1e20, 1e21, 1e22, -3.25, math.MaxFloat64} {
			want := httptest.NewRecorder()
			if err := (api.GetHealth200JSONResponse{Status: api.HealthStatusOk, Version: version, UptimeSeconds: uptime,
				StartedAt: apitime.New(started)}).VisitGetHealthResponse(want); err != nil {
				t.Fatal(err)
			}
			got := httptest.NewRecorder()
			if err := (healthPage{frame: frame, uptime: uptime}).VisitGetHealthResponse(got); err != nil {
				t.Fatal(err)
			}
			if got.Code != want.Code || got.Header().Get("Content-Type") != want.Header().Get("Content-Type") || got.Body.String() != want.Body.String() {
				t.Errorf("version %q uptime %v:\n got %d %q %s\nwant %d %q %s", version, uptime,
					got.Code, got.Header().Get("Content-Type"), got.Body, want.Code, want.Header().Get("Content-Type"), want.Body)
			}
		}
	}
}
