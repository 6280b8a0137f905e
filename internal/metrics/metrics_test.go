package metrics_test

import (
	"bufio"
	"context"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

const model = "claude-sonnet-4-5"

type env struct {
	s    *testutil.Server
	fake *llmtest.FakeAnthropic
	user testutil.Session
}

func newEnv(t *testing.T, adjust func(*testutil.Config)) env {
	t.Helper()
	fake := llmtest.NewFakeAnthropic(t)
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.AnthropicBaseURL, c.AnthropicAPIKey = fake.URL, "sk-ant-metrics-test"
		c.LLMRetryBase = time.Millisecond
		adjust(c)
	}))
	return env{s: s, fake: fake, user: s.Register(t, "metrics-"+strings.ReplaceAll(t.Name(), "/", "-")+"@example.com")}
}

// value is the sum of the samples of family name whose labels include want: a counter's or
// gauge's value, a histogram's sum (or its count with name+"_count").
func value(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	family, count := name, false
	if base, ok := strings.CutSuffix(name, "_count"); ok {
		family, count = base, true
	}
	total := 0.0
	for _, f := range fams {
		if f.GetName() != family {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue samples
				}
			}
			total += sampleValue(f.GetType(), m, count)
		}
	}
	return total
}

func sampleValue(typ dto.MetricType, m *dto.Metric, count bool) float64 {
	switch typ {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		if count {
			return float64(m.GetHistogram().GetSampleCount())
		}
		return m.GetHistogram().GetSampleSum()
	}
	return 0
}

func chatBody(stream bool) string {
	s := "false"
	if stream {
		s = "true"
	}
	return `{"model":"` + model + `","stream":` + s + `,"messages":[{"role":"user","content":"hello"}]}`
}

// TestChatMovesTokenAndCostCounters sends one chat whose upstream reports known usage: every
// token-type series and the cost counter move by exactly those amounts.
func TestChatMovesTokenAndCostCounters(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(*testutil.Config) {})
	usage := llmtest.Usage{Input: 100, CacheRead: 30, CacheWrite: 20}
	e.fake.Enqueue(llmtest.NewScript("msg_m1", model, usage).Text("Hi", " there").Stop("end_turn", "", 40))
	reg := e.s.App.Registry
	tokens := func(typ string) float64 {
		return value(t, reg, "gen_ai_client_token_usage", map[string]string{"gen_ai_token_type": typ,
			"gen_ai_request_model": model, "gen_ai_provider_name": "anthropic", "gen_ai_operation_name": "chat"})
	}
	types := map[string]float64{"input": 100, "output": 40, "cache_read": 30, "cache_write": 20}
	before := map[string]float64{}
	for typ := range types {
		before[typ] = tokens(typ)
	}
	costBefore := value(t, reg, "ccbackend_llm_cost_usd_total", map[string]string{"model": model})
	stopsBefore := value(t, reg, "ccbackend_stop_reason_total", map[string]string{"model": model, "stop_reason": "end_turn"})
	opsBefore := value(t, reg, "gen_ai_client_operation_duration_seconds_count", map[string]string{"gen_ai_request_model": model, "error_type": ""})

	resp, body := e.s.Do(t, http.MethodPost, "/v1/chat/completions", chatBody(false), e.user.Bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	for typ, n := range types {
		if got := tokens(typ) - before[typ]; got != n {
			t.Errorf("gen_ai_client_token_usage{gen_ai_token_type=%q} moved by %v, want %v", typ, got, n)
		}
	}
	// The catalog's prices for the model, US dollars per million tokens: 3 input, 15 output,
	// 0.3 cache read, 3.75 cache write.
	wantCost := (100*3 + 40*15 + 30*0.3 + 20*3.75) / 1e6
	if got := value(t, reg, "ccbackend_llm_cost_usd_total", map[string]string{"model": model}) - costBefore; math.Abs(got-wantCost) > 1e-12 {
		t.Errorf("ccbackend_llm_cost_usd_total moved by %v, want %v", got, wantCost)
	}
	if got := value(t, reg, "ccbackend_stop_reason_total", map[string]string{"model": model, "stop_reason": "end_turn"}) - stopsBefore; got != 1 {
		t.Errorf("ccbackend_stop_reason_total{stop_reason=end_turn} moved by %v, want 1", got)
	}
	if got := value(t, reg, "gen_ai_client_operation_duration_seconds_count", map[string]string{"gen_ai_request_model": model, "error_type": ""}) - opsBefore; got != 1 {
		t.Errorf("gen_ai_client_operation_duration_seconds count moved by %v, want 1", got)
	}
	if got := value(t, reg, "gen_ai_server_time_to_first_token_seconds_count", map[string]string{"gen_ai_request_model": model}); got != 1 {
		t.Errorf("gen_ai_server_time_to_first_token_seconds count = %v, want 1", got)
	}
}

// TestStreamGauge holds a stream open: ccbackend_streams_active is 1 while it runs and 0 once
// the client went away, which also counts as a disconnect.
func TestStreamGauge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(*testutil.Config) {})
	r := llmtest.NewScript("msg_s1", model, llmtest.DefaultUsage).Text("partial").Response()
	r.HoldOpen = true
	e.fake.Enqueue(r)
	reg := e.s.App.Registry
	active := func() float64 { return value(t, reg, "ccbackend_streams_active", nil) }
	disconnects := value(t, reg, "ccbackend_stream_disconnects_total", nil)
	if got := active(); got != 0 {
		t.Fatalf("streams_active before = %v", got)
	}
	ctx, cancel := context.WithCancel(t.Context())
	req := e.s.Request(t, http.MethodPost, "/v1/chat/completions", chatBody(true), e.user.Bearer())
	resp, err := http.DefaultClient.Do(req.WithContext(ctx)) // a stream cut short: no contract check
	if err != nil {
		t.Fatal(err)
	}
	body := bufio.NewReader(resp.Body)
	line, err := body.ReadString('\n')
	if strings.HasPrefix(line, "id: ") && err == nil { // the event's id comes first (resumable streams)
		line, err = body.ReadString('\n')
	}
	if err != nil || !strings.HasPrefix(line, "data: ") {
		t.Fatalf("first line %q, %v", line, err)
	}
	if got := active(); got != 1 {
		t.Errorf("streams_active during the stream = %v, want 1", got)
	}
	cancel()
	_ = resp.Body.Close()
	eventually(t, func() bool { return active() == 0 }, "streams_active back to 0")
	eventually(t, func() bool { return value(t, reg, "ccbackend_stream_disconnects_total", nil)-disconnects == 1 }, "one stream disconnect counted")
}

// eventually waits (bounded) for cond: the server notices a client gone on its own goroutine.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestRateLimitRejectionCounted exceeds the default policy once: its counter moves by one.
func TestRateLimitRejectionCounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *testutil.Config) { c.RateLimitDefault = testutil.RatePolicy{Limit: 2, Period: time.Hour} })
	reg := e.s.App.Registry
	rejected := func() float64 {
		return value(t, reg, "ccbackend_ratelimit_rejections_total", map[string]string{"policy": "default"})
	}
	if got := rejected(); got != 0 {
		t.Fatalf("rejections before = %v", got)
	}
	statuses := []int{}
	for range 3 {
		resp, _ := e.s.Do(t, http.MethodGet, "/v1/models", nil, e.user.Bearer())
		statuses = append(statuses, resp.StatusCode)
	}
	if statuses[2] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v, want the third 429", statuses)
	}
	if got := rejected(); got != 1 {
		t.Errorf("ccbackend_ratelimit_rejections_total{policy=default} = %v, want 1", got)
	}
}

// TestUpstreamErrorCounted: an overloaded answer that the router retries counts once.
func TestUpstreamErrorCounted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(*testutil.Config) {})
	e.fake.Enqueue(llmtest.Overloaded529(), llmtest.TextStream("msg_u1", model, "ok"))
	resp, body := e.s.Do(t, http.MethodPost, "/v1/chat/completions", chatBody(false), e.user.Bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	got := value(t, e.s.App.Registry, "ccbackend_upstream_errors_total", map[string]string{"provider": "anthropic", "error_type": "overloaded"})
	if got != 1 {
		t.Errorf("ccbackend_upstream_errors_total{provider=anthropic,error_type=overloaded} = %v, want 1", got)
	}
}
