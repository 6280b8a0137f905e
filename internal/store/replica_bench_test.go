package store_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/db"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkReplicaUnderWriteBurst measures the replica lag during a write burst (issue 16's "Measured"): 8 writers
// insert as fast as they can for 5 s on a real primary with a streaming replica, while a reader
// that never writes lists through the router and the lag check (every 50 ms, max lag 5 s and
// 100 ms) is sampled. Reports the largest lag seen, the share of reads the replica served and
// how long the replica was not usable.
func BenchmarkReplicaUnderWriteBurst(b *testing.B) {
	rp, st, reader := replicatedStore(b)
	ctx := context.Background()
	// Its writes go straight to the pool (not marked as the user's own), so its reads stay routable.
	writer := reader
	for _, maxLag := range []time.Duration{5 * time.Second, 100 * time.Millisecond} {
		b.Run("max-lag="+maxLag.String(), func(b *testing.B) {
			r, err := store.OpenReplica(ctx, rp.ReplicaURL, store.ReplicaOptions{MaxLag: maxLag, CheckEvery: 50 * time.Millisecond,
				Writes: store.NewRedisRecentWrites(testutil.NewRedis(b), testutil.NewRedisPrefix(b), maxLag)})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			st.UseReplica(r)
			for end := time.Now().Add(10 * time.Second); !r.Status().Usable && time.Now().Before(end); {
				time.Sleep(20 * time.Millisecond)
			}
			r0, p0 := r.Reads()
			var writes atomic.Int64
			burst, stop := context.WithTimeout(ctx, 5*time.Second)
			defer stop()
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for burst.Err() == nil {
						if _, err := st.Pool.Exec(burst, "INSERT INTO projects (user_id, name) VALUES ($1, $2)", writer, uuid.NewString()); err == nil {
							writes.Add(1)
						}
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				for burst.Err() == nil {
					_, _ = st.Reader(burst, reader).ListProjects(burst, db.ListProjectsParams{UserID: reader, MaxRows: 50})
				}
			}()
			var lags []time.Duration
			unusable := 0
			for tick := time.NewTicker(50 * time.Millisecond); burst.Err() == nil; <-tick.C {
				s := r.Status()
				lags = append(lags, s.Lag)
				if !s.Usable {
					unusable++
				}
			}
			wg.Wait()
			r1, p1 := r.Reads()
			slices.Sort(lags)
			b.ReportMetric(float64(writes.Load())/5, "writes/s")
			b.ReportMetric(float64(lags[len(lags)/2].Microseconds())/1e3, "lag-p50-ms")
			b.ReportMetric(float64(lags[len(lags)-1].Microseconds())/1e3, "lag-max-ms")
			b.ReportMetric(100*float64(unusable)/float64(len(lags)), "%-time-fallback")
			if total := (r1 - r0) + (p1 - p0); total > 0 {
				b.ReportMetric(100*float64(r1-r0)/float64(total), "%-reads-on-replica")
			}
		})
	}
}
