package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
)

// healthPage is GET /health's answer (api.Health) written straight to the response: only the
// uptime changes between probes, so the bytes around it are encoded once per process. The
// generated response ran the reflective encoder on every probe, the handler's whole cost;
// TestHealthPageEncodesLikeTheGeneratedResponse compares the bytes.
type healthPage struct {
	frame  *healthFrame
	uptime float64
}

// healthFrame is the encoded api.Health before and after its uptime_seconds value, in the
// generated type's field order.
type healthFrame struct {
	before, after []byte
}

func newHealthFrame(version string, startedAt time.Time) (*healthFrame, error) {
	started, err := json.Marshal(apitime.New(startedAt))
	if err != nil {
		return nil, err
	}
	status, err := json.Marshal(api.HealthStatusOk)
	if err != nil {
		return nil, err
	}
	ver, err := json.Marshal(version)
	if err != nil {
		return nil, err
	}
	before := append(append(append(append([]byte(`{"started_at":`), started...), `,"status":`...), status...), `,"uptime_seconds":`...)
	after := append(append([]byte(`,"version":`), ver...), "}\n"...)
	return &healthFrame{before: before, after: after}, nil
}

// VisitGetHealthResponse implements api.GetHealthResponseObject.
func (p healthPage) VisitGetHealthResponse(w http.ResponseWriter) error {
	b := make([]byte, 0, len(p.frame.before)+24+len(p.frame.after))
	b = append(b, p.frame.before...)
	b, err := appendJSONFloat(b, p.uptime)
	if err != nil {
		return err
	}
	b = append(b, p.frame.after...)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(b)
	return err
}

// appendJSONFloat appends f as encoding/json writes a float64. In [1e-6, 1e21) (and 0) that is
// the shortest decimal form; the exponent forms and NaN's error are left to encoding/json.
func appendJSONFloat(b []byte, f float64) ([]byte, error) {
	if f == 0 || (f >= 1e-6 && f < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	enc, err := json.Marshal(f)
	return append(b, enc...), err
}
