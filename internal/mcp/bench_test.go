package mcp

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// latencies collects per-operation durations and reports their percentiles next to ns/op.
type latencies []time.Duration

func (l latencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	at := func(q float64) float64 { return float64(l[min(len(l)-1, int(q*float64(len(l))))].Nanoseconds()) }
	b.ReportMetric(at(0.50), "p50-ns")
	b.ReportMetric(at(0.99), "p99-ns")
}

// timed runs op b.N times, recording each duration.
func timed(b *testing.B, op func() error) {
	l := make(latencies, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		l = append(l, time.Since(start))
	}
	b.StopTimer()
	l.report(b)
}

// BenchmarkCallEcho compares a pooled Call of echo (tool lookup in Redis, schema check, guarded
// transport) with the bare SDK calling the same server-everything over Streamable HTTP.
func BenchmarkCallEcho(b *testing.B) {
	srv := testutil.StartMCPServer(b, TransportStreamableHTTP)
	args := json.RawMessage(`{"message":"bench"}`)
	ctx := context.Background()
	b.Run("direct-sdk", func(b *testing.B) {
		client := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil)
		cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: srv.URL, HTTPClient: &http.Client{}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		for range 200 { // warm server-everything's JIT before either side is measured
			if _, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: args}); err != nil {
				b.Fatal(err)
			}
		}
		timed(b, func() error {
			_, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: args})
			return err
		})
	})
	b.Run("pool", func(b *testing.B) {
		p := newTestPool(b, nil)
		s := Server{ID: uuid.New(), Version: time.Now(), Transport: TransportStreamableHTTP, URL: srv.URL}
		user := uuid.New()
		if _, err := p.Call(ctx, user, s, "echo", args); err != nil {
			b.Fatal(err)
		}
		timed(b, func() error {
			_, err := p.Call(ctx, user, s, "echo", args)
			return err
		})
	})
}

// BenchmarkToolsCached is a tool listing served from the Redis cache.
func BenchmarkToolsCached(b *testing.B) {
	srv := testutil.StartMCPServer(b, TransportStreamableHTTP)
	p := newTestPool(b, nil)
	s := Server{ID: uuid.New(), Version: time.Now(), Transport: TransportStreamableHTTP, URL: srv.URL}
	ctx, user := context.Background(), uuid.New()
	if _, err := p.Tools(ctx, user, s, true); err != nil {
		b.Fatal(err)
	}
	timed(b, func() error {
		_, err := p.Tools(ctx, user, s, false)
		return err
	})
}

// BenchmarkIdleSessionMemory reports the heap one idle pooled Streamable HTTP session holds,
// measured over 50 sessions (50 users, so the per-user cap does not evict).
func BenchmarkIdleSessionMemory(b *testing.B) {
	srv := testutil.StartMCPServer(b, TransportStreamableHTTP)
	const n = 50
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		p := newTestPool(b, nil)
		s := Server{ID: uuid.New(), Version: time.Now(), Transport: TransportStreamableHTTP, URL: srv.URL}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		for range n {
			if _, err := p.Tools(ctx, uuid.New(), s, true); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		if p.Sessions() != n {
			b.Fatalf("Sessions() = %d; want %d", p.Sessions(), n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-bytes/session")
		b.ReportMetric(float64(runtime.NumGoroutine()), "goroutines")
		_ = p.Close()
		b.StartTimer()
	}
}
