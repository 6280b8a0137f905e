package sharedconn_test

import (
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/sharedconn"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkPipelines sends an authenticated request's pipeline (a GET, an EXISTS and two
// scripts, as authentication and the rate limit send) from 32 concurrent callers on a private
// Redis, on pooled connections (a client built without sharedconn.Options) and on the shared
// one, and reports the CPU per pipeline of this process and of Redis:
//
//	go test -run '^$' -bench Pipelines ./internal/sharedconn/
func BenchmarkPipelines(b *testing.B) {
	pooled, shared := benchClients(b)
	for _, tc := range []struct {
		name string
		conn sharedconn.Conn
	}{{"pooled", sharedconn.Of(pooled)}, {"shared", sharedconn.Of(shared)}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := b.Context()
			if err := echo.Load(ctx, pooled).Err(); err != nil {
				b.Fatal(err)
			}
			var caller atomic.Int64
			b.SetParallelism(16) // 32 callers on 2 cores
			self, server := processCPU(), redisCPU(b, pooled)
			b.RunParallel(func(pb *testing.PB) {
				key := "bench:" + strconv.FormatInt(caller.Add(1), 10)
				for pb.Next() {
					p := tc.conn.Pipeline()
					p.Get(ctx, key)
					p.Exists(ctx, key+":jti")
					echo.EvalSha(ctx, p, []string{key + ":rl"}, 1)
					echo.EvalSha(ctx, p, []string{key + ":ip"}, 0)
					if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
						b.Error(err)
						return
					}
				}
			})
			per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(b.N) }
			b.ReportMetric(per(processCPU()-self), "client-cpu-µs/op")
			b.ReportMetric(per(redisCPU(b, pooled)-server), "redis-cpu-µs/op")
		})
	}
}

// benchClients starts a private Redis and returns two clients of it: a plain one (pooled
// connections only) and one built as the service builds it (sharing a connection).
func benchClients(b *testing.B) (pooled *redis.Client, shared redis.UniversalClient) {
	r := testutil.StartRedis(b)
	pooled = redis.NewClient(&redis.Options{Addr: r.Addr})
	b.Cleanup(func() { _ = pooled.Close() })
	shared, err := store.NewRedisClient(r.URL, config.Redis{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = shared.Close() })
	return pooled, shared
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the CPU Redis has used (INFO cpu: used_cpu_sys + used_cpu_user).
func redisCPU(b *testing.B, rdb *redis.Client) time.Duration {
	info, err := rdb.Info(b.Context(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for line := range strings.Lines(info) {
		name, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if name == "used_cpu_sys" || name == "used_cpu_user" {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkLonePipeline sends the same pipeline from one caller at a time, idle in between (as a
// lone request's are), on a pooled connection and on the shared one, and reports each
// pipeline's round trip. The shared connection's writer and reader cost two goroutine wake-ups
// more than a pooled write-then-read; on this project's 2-core machine the p50 gap went from
// none to about 40 µs between runs (pooled 102–151 µs, shared 118–187 µs), too unsteady to pay
// for routing lone pipelines elsewhere, so they share too:
//
//	go test -run '^$' -bench LonePipeline -benchtime=2000x ./internal/sharedconn/
func BenchmarkLonePipeline(b *testing.B) {
	pooled, rdb := benchClients(b)
	for _, tc := range []struct {
		name     string
		pipeline func() redis.Pipeliner
	}{{"pooled", pooled.Pipeline}, {"shared", sharedconn.Of(rdb).Pipeline}} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := b.Context()
			if err := echo.Load(ctx, pooled).Err(); err != nil {
				b.Fatal(err)
			}
			var trips []time.Duration
			for b.Loop() {
				time.Sleep(200 * time.Microsecond)
				start := time.Now()
				p := tc.pipeline()
				p.Get(ctx, "bench:lone")
				p.Exists(ctx, "bench:lone:jti")
				echo.EvalSha(ctx, p, []string{"bench:lone:rl"}, 1)
				echo.EvalSha(ctx, p, []string{"bench:lone:ip"}, 0)
				if _, err := p.Exec(ctx); err != nil && err != redis.Nil {
					b.Fatal(err)
				}
				trips = append(trips, time.Since(start))
			}
			slices.Sort(trips)
			b.ReportMetric(float64(trips[len(trips)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(trips[len(trips)*9/10].Microseconds()), "p90-µs")
		})
	}
}
