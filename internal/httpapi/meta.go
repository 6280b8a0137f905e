package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/oasdiff/yaml"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/gen/swaggerui"
	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Pinger is a dependency that /ready checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// PingFunc adapts a function to Pinger.
type PingFunc func(ctx context.Context) error

// Ping calls f.
func (f PingFunc) Ping(ctx context.Context) error { return f(ctx) }

// MetaHandlers serve the public operations of the `meta` tag.
type MetaHandlers struct {
	version      string
	startedAt    time.Time
	health       *healthFrame // GET /health's answer around its uptime
	now          func() time.Time
	postgres     Pinger
	redis        Pinger
	readyTimeout time.Duration
	specYAML     []byte
	specJSON     map[string]any
}

// NewMetaHandlers prepares the meta handlers; specYAML is the contract served verbatim.
func NewMetaHandlers(version string, now func() time.Time, postgres, redis Pinger, readyTimeout time.Duration, specYAML []byte) (*MetaHandlers, error) {
	// Converted from the YAML itself, so both documents say exactly the same thing.
	raw, err := yaml.YAMLToJSON(specYAML)
	if err != nil {
		return nil, fmt.Errorf("httpapi: spec to JSON: %w", err)
	}
	var specJSON map[string]any
	if err := json.Unmarshal(raw, &specJSON); err != nil {
		return nil, fmt.Errorf("httpapi: spec to JSON: %w", err)
	}
	startedAt := now()
	health, err := newHealthFrame(version, startedAt)
	if err != nil {
		return nil, fmt.Errorf("httpapi: health answer: %w", err)
	}
	return &MetaHandlers{
		version: version, startedAt: startedAt, now: now, health: health,
		postgres: postgres, redis: redis, readyTimeout: readyTimeout,
		specYAML: specYAML, specJSON: specJSON,
	}, nil
}

// GetRoot describes the service.
func (h *MetaHandlers) GetRoot(context.Context, api.GetRootRequestObject) (api.GetRootResponseObject, error) {
	info := api.ServiceInfo{Name: "ccbackend", Version: h.version}
	info.Links.Docs = "/docs"
	info.Links.OpenapiJson = "/openapi.json"
	info.Links.OpenapiYaml = "/openapi.yaml"
	info.Links.Health = "/health"
	info.Links.Ready = "/ready"
	return api.GetRoot200JSONResponse(info), nil
}

// GetHealth answers while the process serves requests; it checks no dependency on purpose, so a
// database outage does not get every instance restarted.
func (h *MetaHandlers) GetHealth(context.Context, api.GetHealthRequestObject) (api.GetHealthResponseObject, error) {
	return healthPage{frame: h.health, uptime: h.now().Sub(h.startedAt).Seconds()}, nil
}

// GetReady checks PostgreSQL and Redis concurrently, each within the ready timeout.
func (h *MetaHandlers) GetReady(ctx context.Context, _ api.GetReadyRequestObject) (api.GetReadyResponseObject, error) {
	type result struct {
		latency time.Duration
		err     error
	}
	check := func(p Pinger, out *result, wg *sync.WaitGroup) {
		defer wg.Done()
		// A panic here would kill the process: Echo's recover guards only the handler goroutine.
		defer func() {
			if r := recover(); r != nil {
				out.err = fmt.Errorf("check panicked: %v", r)
			}
		}()
		cctx, cancel := context.WithTimeout(ctx, h.readyTimeout)
		defer cancel()
		start := time.Now()
		out.err = p.Ping(cctx)
		out.latency = time.Since(start)
	}
	var pg, rd result
	var wg sync.WaitGroup
	wg.Add(2)
	go check(h.postgres, &pg, &wg)
	go check(h.redis, &rd, &wg)
	wg.Wait()

	var down []string
	if pg.err != nil {
		down = append(down, "postgres")
	}
	if rd.err != nil {
		down = append(down, "redis")
	}
	if len(down) > 0 {
		return nil, apperr.Wrap(fmt.Errorf("postgres: %v; redis: %v", pg.err, rd.err), apperr.Unavailable,
			"dependency_unavailable", strings.Join(down, " and ")+" unavailable")
	}
	var body api.Readiness
	body.Status = api.ReadinessStatusReady
	body.Checks.Postgres = api.DependencyCheck{Status: api.DependencyCheckStatusUp, LatencyMs: ms(pg.latency)}
	body.Checks.Redis = api.DependencyCheck{Status: api.DependencyCheckStatusUp, LatencyMs: ms(rd.latency)}
	return api.GetReady200JSONResponse(body), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// GetOpenAPIYAML serves api/openapi.yaml byte for byte.
func (h *MetaHandlers) GetOpenAPIYAML(context.Context, api.GetOpenAPIYAMLRequestObject) (api.GetOpenAPIYAMLResponseObject, error) {
	return api.GetOpenAPIYAML200ApplicationyamlResponse{Body: bytes.NewReader(h.specYAML), ContentLength: int64(len(h.specYAML))}, nil
}

// GetOpenAPIJSON serves the same contract as JSON.
func (h *MetaHandlers) GetOpenAPIJSON(context.Context, api.GetOpenAPIJSONRequestObject) (api.GetOpenAPIJSONResponseObject, error) {
	return api.GetOpenAPIJSON200JSONResponse(h.specJSON), nil
}

// GetDocs serves the Swagger UI page; its assets come from this server only.
func (h *MetaHandlers) GetDocs(context.Context, api.GetDocsRequestObject) (api.GetDocsResponseObject, error) {
	page, err := fs.ReadFile(swaggerui.Assets, "index.html")
	if err != nil {
		return nil, fmt.Errorf("docs page: %w", err)
	}
	return api.GetDocs200TexthtmlResponse{Body: bytes.NewReader(page), ContentLength: int64(len(page))}, nil
}

// GetDocsAsset serves one Swagger UI asset.
func (h *MetaHandlers) GetDocsAsset(_ context.Context, req api.GetDocsAssetRequestObject) (api.GetDocsAssetResponseObject, error) {
	notFound := apperr.New(apperr.NotFound, "not_found", "no such documentation asset")
	data, err := fs.ReadFile(swaggerui.Assets, req.Asset)
	if err != nil {
		return nil, notFound
	}
	body, n := bytes.NewReader(data), int64(len(data))
	switch path.Ext(req.Asset) {
	case ".css":
		return api.GetDocsAsset200TextcssResponse{Body: body, ContentLength: n}, nil
	case ".js":
		return api.GetDocsAsset200ApplicationjavascriptResponse{Body: body, ContentLength: n}, nil
	case ".png":
		return api.GetDocsAsset200ImagepngResponse{Body: body, ContentLength: n}, nil
	}
	return nil, notFound
}
