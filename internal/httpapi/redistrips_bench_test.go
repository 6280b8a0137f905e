package httpapi_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// tripCounter counts the Redis round trips (a command or a pipeline) and commands a client sends.
type tripCounter struct{ trips, cmds atomic.Int64 }

func (*tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (t *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { t.trips.Add(1); t.cmds.Add(1); return next(ctx, cmd) }
}
func (t *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		t.trips.Add(1)
		t.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// BenchmarkRedisTripsPerRequest reports the Redis round trips and commands of one authenticated
// request (GET /v1/auth/profile with an access token), as trips/op and cmds/op.
func BenchmarkRedisTripsPerRequest(b *testing.B) {
	s := testutil.NewServer(b)
	u := s.Register(b, "bench-trips@example.com")
	count := &tripCounter{}
	s.App.Redis.AddHook(count)
	client := &http.Client{}
	do := func() {
		req, _ := http.NewRequest(http.MethodGet, s.URL+"/v1/auth/profile", nil)
		req.Header.Set("Authorization", "Bearer "+u.AccessToken)
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("profile: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	do() // the family's revocation state is cached from here on
	count.trips.Store(0)
	count.cmds.Store(0)
	b.ResetTimer()
	for b.Loop() {
		do()
	}
	b.ReportMetric(float64(count.trips.Load())/float64(b.N), "trips/op")
	b.ReportMetric(float64(count.cmds.Load())/float64(b.N), "cmds/op")
}
