package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkScaleMixed runs the same mixed load (sign-in, authenticated read, list page, message
// post, chat stream against the fake upstream) over one instance and over two on one database and
// Redis namespace, round-robin. scripts/bench-scale.sh compares the two. On a machine with few
// cores the two instances share the same CPUs, so the ratio shows the overhead of running two, not
// a speed-up.
func BenchmarkScaleMixed(b *testing.B) {
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) {
			fake := llmtest.NewFakeAnthropic(b)
			cfg := testutil.WithConfig(func(c *testutil.Config) {
				c.AnthropicBaseURL, c.AnthropicAPIKey = fake.URL, "sk-ant-test-secret"
			})
			first := testutil.NewServer(b, cfg)
			all := []*testutil.Server{first}
			for len(all) < n {
				all = append(all, first.Twin(b, cfg))
			}
			u := first.Register(b, "bench-scale@example.com")
			_, raw := first.Do(b, http.MethodPost, "/v1/sessions", `{}`, u.Bearer())
			var sess struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(raw, &sess); err != nil || sess.ID == "" {
				b.Fatalf("session %s", raw)
			}
			login := fmt.Sprintf(`{"email":%q,"password":%q}`, u.Email, u.Password)
			chat := `{"model":"` + chatModel + `","stream":true,"messages":[{"role":"user","content":"hi"}]}`
			var next atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					i := next.Add(1)
					s := all[int(i)%len(all)]
					start := time.Now()
					var resp *http.Response
					switch i % 5 {
					case 0:
						resp, _ = s.Do(b, http.MethodPost, "/v1/auth/login", login, nil)
					case 1:
						resp, _ = s.Do(b, http.MethodGet, "/v1/auth/profile", nil, u.Bearer())
					case 2:
						resp, _ = s.Do(b, http.MethodGet, "/v1/sessions?limit=20", nil, u.Bearer())
					case 3:
						resp, _ = s.Do(b, http.MethodPost, "/v1/sessions/"+sess.ID+"/messages", `{"role":"user","content":"x"}`, u.Bearer())
					case 4:
						fake.Enqueue(llmtest.TextStream("msg_b", chatModel, "a", "b", "c"))
						resp, _ = s.Do(b, http.MethodPost, "/v1/chat/completions", chat, u.Bearer())
					}
					if resp.StatusCode >= 300 {
						b.Errorf("request %d answered %d", i%5, resp.StatusCode)
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
