package httpapi

import (
	"context"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/diagnostics"
)

// DebugHandlers serve getDebugInfo (tag admin; the spec's adminAuth admits only admins).
type DebugHandlers struct {
	diag *diagnostics.Service
}

// NewDebugHandlers returns the debug handlers.
func NewDebugHandlers(d *diagnostics.Service) *DebugHandlers { return &DebugHandlers{diag: d} }

// GetDebugInfo shows this instance's debug information and audits the view.
func (h *DebugHandlers) GetDebugInfo(ctx context.Context, _ api.GetDebugInfoRequestObject) (api.GetDebugInfoResponseObject, error) {
	actor, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	d, err := h.diag.GetDebugInfo(ctx, actor.UserID)
	if err != nil {
		return nil, err
	}
	return api.GetDebugInfo200JSONResponse(debugBody(d)), nil
}

func debugBody(d diagnostics.Info) api.DebugInfo {
	b := api.DebugBuild{Version: d.Build.Version, GoVersion: d.Build.GoVersion, Modified: d.Build.Modified}
	if d.Build.Commit != "" {
		b.Commit = &d.Build.Commit
	}
	if d.Build.CommitTime != nil {
		t := apitime.New(*d.Build.CommitTime)
		b.CommitTime = &t
	}
	pg, r := d.Postgres, d.Redis
	body := api.DebugInfo{Build: b, InstanceId: d.InstanceID, Hostname: d.Hostname, StartedAt: apitime.New(d.StartedAt),
		UptimeSeconds: d.Uptime.Seconds(), Goroutines: d.Goroutines, OpenStreams: int(d.OpenStreams),
		McpSessions: d.MCPSessions, WsConnections: d.WSConnections, Config: d.Config,
		Migration: api.DebugMigration{Version: d.Migration.Version, Dirty: d.Migration.Dirty},
		Postgres: api.DebugPostgres{ServerVersion: nonEmpty(pg.ServerVersion), Error: nonEmpty(pg.Error), Pool: api.DebugPostgresPool{
			MaxConns: pg.MaxConns, TotalConns: pg.TotalConns, AcquiredConns: pg.AcquiredConns, IdleConns: pg.IdleConns,
			ConstructingConns: pg.ConstructingConns, AcquireCount: pg.AcquireCount, EmptyAcquireCount: pg.EmptyAcquireCount,
			CanceledAcquireCount: pg.CanceledAcquireCount, AcquireWaitSeconds: pg.AcquireWait.Seconds()}},
		Redis: api.DebugRedis{Version: nonEmpty(r.Version), Error: nonEmpty(r.Error), Pool: api.DebugRedisPool{
			MaxConns: r.MaxConns, TotalConns: r.TotalConns, IdleConns: r.IdleConns, Hits: r.Hits, Misses: r.Misses, Timeouts: r.Timeouts}},
		UsagePartitions: []api.DebugPartition{},
	}
	if r.Error == "" {
		body.Redis.UsedMemoryBytes, body.Redis.ConnectedClients = &r.UsedMemoryBytes, &r.ConnectedClients
	}
	for _, p := range d.Partitions {
		body.UsagePartitions = append(body.UsagePartitions, api.DebugPartition{Name: p.Name, From: apitime.New(p.From),
			To: apitime.New(p.To), DetachPending: p.DetachPending})
	}
	return body
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
