package resume_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

// BenchmarkReplay2000Chunks replays a finished 2,000-event generation from its start (events of
// a realistic chunk size, ~230 bytes) and reports the time to the first replayed byte and to the
// end, as a client resuming after losing the whole stream would see them (minus the network).
func BenchmarkReplay2000Chunks(b *testing.B) {
	e := newEnv(b, testConfig)
	id := uuid.New()
	rec, err := e.store.Begin(context.Background(), id, uuid.New())
	if err != nil {
		b.Fatal(err)
	}
	const n = 2000
	for i := 1; i <= n; i++ {
		chunk := fmt.Sprintf(`data: {"id":"chatcmpl-%s","object":"chat.completion.chunk","created":1764650000,"model":"claude-sonnet-4-5","system_fingerprint":null,"choices":[{"index":0,"delta":{"content":"word %04d "},"finish_reason":null,"logprobs":null}]}`+"\n\n", id, i)
		rec.Numbered(chunk, i == n)
	}
	rec.Close()
	var first, total time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		var got, bytes int
		err := e.store.Replay(context.Background(), id, 0, func(events []string) error {
			if got == 0 {
				first += time.Since(start)
			}
			for _, ev := range events {
				got++
				bytes += len(ev)
			}
			return nil
		})
		total += time.Since(start)
		if err != nil || got != n {
			b.Fatalf("replayed %d events (%d bytes): %v", got, bytes, err)
		}
	}
	b.ReportMetric(float64(first.Microseconds())/float64(b.N), "µs-to-first-event")
	b.ReportMetric(float64(total.Microseconds())/float64(b.N)/1000, "ms-to-end")
}
