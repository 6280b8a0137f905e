// Package diagnostics gathers what the admin debug view shows about the running instance: build,
// uptime, pools and servers, the migration version, the redacted configuration, streams and
// partitions. It holds no secret: the configuration comes in already redacted.
package diagnostics

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Sources are what the service reads; the optional counters are hook points for capabilities
// other packages add (nil: the field is left out of the view).
type Sources struct {
	Version  string
	Config   map[string]any // config.Config.Redacted(): never the raw settings
	Store    *store.Store
	Redis    redis.UniversalClient
	Streams  func() int64 // chat.Service.ActiveStreams
	Now      func() time.Time
	Started  time.Time
	Instance uuid.UUID

	MCPSessions   func() int // open MCP sessions, once the service has them
	WSConnections func() int // open WebSocket connections, once the service has them
}

// Service answers getDebugInfo.
type Service struct {
	src      Sources
	hostname string
	build    Build
}

// New returns the service; the build is read once from the binary.
func New(src Sources) *Service {
	host, _ := os.Hostname()
	return &Service{src: src, hostname: host, build: ReadBuild(src.Version)}
}

// Info is the debug view.
type Info struct {
	Build         Build
	InstanceID    uuid.UUID
	Hostname      string
	StartedAt     time.Time
	Uptime        time.Duration
	Goroutines    int
	OpenStreams   int64
	MCPSessions   *int
	WSConnections *int
	Postgres      Postgres
	Redis         Redis
	Migration     Migration
	Config        map[string]any
	Partitions    []analytics.Partition
}

// GetDebugInfo (operation getDebugInfo) gathers the view and records that actor saw it. A
// dependency that cannot be asked shows as an error inside its part rather than failing the
// view, which is most needed when something is down — but the audit entry must be written.
func (s *Service) GetDebugInfo(ctx context.Context, actor uuid.UUID) (Info, error) {
	now := s.src.Now()
	info := Info{Build: s.build, InstanceID: s.src.Instance, Hostname: s.hostname, StartedAt: s.src.Started,
		Uptime: now.Sub(s.src.Started), Goroutines: runtime.NumGoroutine(), OpenStreams: s.src.Streams(),
		Config: s.src.Config, Postgres: postgresInfo(ctx, s.src.Store), Redis: redisInfo(ctx, s.src.Redis)}
	info.MCPSessions, info.WSConnections = optional(s.src.MCPSessions), optional(s.src.WSConnections)
	var err error
	if info.Migration, err = migration(ctx, s.src.Store); err != nil {
		return Info{}, err
	}
	if info.Partitions, err = analytics.Partitions(ctx, s.src.Store.Pool); err != nil {
		return Info{}, err
	}
	err = s.src.Store.InTx(ctx, func(q *db.Queries) error {
		return audit.Record(ctx, q, now, audit.Event{Action: audit.DebugView, Outcome: audit.Success, ActorID: actor})
	})
	if err != nil {
		return Info{}, err
	}
	return info, nil
}

func optional(f func() int) *int {
	if f == nil {
		return nil
	}
	n := f()
	return &n
}

// Build is what the binary knows about itself.
type Build struct {
	Version    string
	Commit     string // empty when the build recorded no VCS information (go test, go run)
	CommitTime *time.Time
	Modified   *bool
	GoVersion  string
}

// ReadBuild reads the VCS settings the go command stamped into the binary.
func ReadBuild(version string) Build {
	b := Build{Version: version, GoVersion: runtime.Version()}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.GoVersion = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
				b.CommitTime = &t
			}
		case "vcs.modified":
			m := s.Value == "true"
			b.Modified = &m
		}
	}
	return b
}
