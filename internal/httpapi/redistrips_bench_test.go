package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// tripHook is a redis.Hook that hands it the commands of every Redis round trip (a command or a
// pipeline) a client sends, before they are sent.
type tripHook func(cmds ...redis.Cmder)

func (tripHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h tripHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h(cmd); return next(ctx, cmd) }
}
func (h tripHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h(cmds...); return next(ctx, cmds) }
}

// tripCounter counts the Redis round trips and commands a client sends (add its hook); those
// sent while inReply is set are also counted as sent while a reply was awaited.
type tripCounter struct {
	trips, cmds, replyTrips atomic.Int64
	inReply                 atomic.Bool
}

func (t *tripCounter) hook() tripHook { return func(cmds ...redis.Cmder) { t.count(len(cmds)) } }

func (t *tripCounter) count(cmds int) {
	t.trips.Add(1)
	t.cmds.Add(int64(cmds))
	if t.inReply.Load() {
		t.replyTrips.Add(1)
	}
}

func (t *tripCounter) reset() { t.trips.Store(0); t.cmds.Store(0); t.replyTrips.Store(0) }

// BenchmarkRedisTripsPerRequest reports the Redis round trips and commands of one authenticated
// request with an access token, as trips/op and cmds/op (everything the request caused, once its
// background work is flushed) and reply-trips/op (the trips made between sending the request and
// reading the whole answer: those the client waits for, plus any background work that happened
// to run meanwhile):
//
//   - profile: GET /v1/auth/profile;
//   - chat: a non-streamed POST /v1/chat/completions with the token budget and the
//     concurrent-generation cap on, against an upstream that answers at once.
func BenchmarkRedisTripsPerRequest(b *testing.B) {
	up := newInstantUpstream(b)
	s := testutil.NewServer(b, testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = up.URL, "sk-ant-bench"
		c.RateLimitDefault = testutil.RatePolicy{Limit: 1 << 30, Period: time.Minute}
		c.RateLimitTokens = &testutil.RatePolicy{Limit: 1 << 30, Period: time.Minute}
		c.MaxConcurrentGenerations = 8
	}))
	u := s.Register(b, "bench-trips@example.com")
	count := &tripCounter{}
	s.App.Redis.AddHook(count.hook())
	client := &http.Client{}
	const chatBody = `{"model":"` + chatModel + `","max_tokens":256,"stream":false,"messages":[{"role":"user","content":"Say hello."}]}`
	for _, tc := range []struct{ name, method, path, body string }{
		{"profile", http.MethodGet, "/v1/auth/profile", ""},
		{"chat", http.MethodPost, "/v1/chat/completions", chatBody},
	} {
		do := func(b *testing.B) {
			req, _ := http.NewRequest(tc.method, s.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+u.AccessToken)
			req.Header.Set("Content-Type", "application/json")
			count.inReply.Store(true)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatalf("%s: %v %v", tc.name, err, resp)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			count.inReply.Store(false)
			flushBackground(b, s)
		}
		b.Run(tc.name, func(b *testing.B) {
			do(b) // the family's revocation state is cached from here on
			count.reset()
			for b.Loop() {
				do(b)
			}
			b.ReportMetric(float64(count.trips.Load())/float64(b.N), "trips/op")
			b.ReportMetric(float64(count.cmds.Load())/float64(b.N), "cmds/op")
			b.ReportMetric(float64(count.replyTrips.Load())/float64(b.N), "reply-trips/op")
		})
	}
}

// flushBackground waits for the work a reply leaves behind (its usage event, its token
// settlement and slot release) to be done.
func flushBackground(b *testing.B, s *testutil.Server) {
	if err := s.App.Chat.FlushUsage(b.Context()); err != nil {
		b.Fatal(err)
	}
	if err := s.App.Chat.FlushLimits(b.Context()); err != nil {
		b.Fatal(err)
	}
}
