package httpapi_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkMCPToolCallOverhead compares an `echo` call through POST /v1/mcp/servers/{id}/tools/
// echo/call (authentication, validation, registry lookup, header opening, pooled session) with the
// same call made directly with the SDK on one open session. The difference of the p50s is what
// the backend adds. Plain HTTP clients on both sides: the test client's contract validation is
// not part of the service.
func BenchmarkMCPToolCallOverhead(b *testing.B) {
	es := testutil.StartMCPServer(b, "streamable_http")
	b.Run("direct-sdk", func(b *testing.B) {
		ctx := b.Context()
		client := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil)
		cs, err := client.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: es.URL, HTTPClient: &http.Client{}}, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer cs.Close()
		args := map[string]any{"message": "bench"}
		measure(b, func() error {
			_, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "echo", Arguments: args})
			return err
		})
	})
	b.Run("through-backend", func(b *testing.B) {
		s := testutil.NewServer(b, withLoopbackMCP(false))
		u := s.Register(b, "mcp-bench@example.com")
		resp, raw := s.Do(b, http.MethodPost, "/v1/mcp/servers", fmt.Sprintf(`{"name":"bench","transport":"streamable_http","url":%q,"headers":{"Authorization":"Bearer bench-secret-0123456789"}}`, es.URL), u.Bearer())
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("create: %d %s", resp.StatusCode, raw)
		}
		id := raw[strings.Index(string(raw), `"id":"`)+6:][:36]
		url := s.URL + "/v1/mcp/servers/" + string(id) + "/tools/echo/call"
		hc := &http.Client{}
		measure(b, func() error {
			req, _ := http.NewRequestWithContext(b.Context(), http.MethodPost, url, strings.NewReader(`{"arguments":{"message":"bench"}}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+u.AccessToken)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
	})
}

// measure runs op once to warm up, then b.N times, and reports p50/p99 next to ns/op.
func measure(b *testing.B, op func() error) {
	if err := op(); err != nil {
		b.Fatal(err)
	}
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := op(); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[min(len(d)-1, len(d)*99/100)].Microseconds()), "p99-µs")
}
