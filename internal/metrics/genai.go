// Package metrics holds the service's Prometheus collectors beyond HTTP: the model traffic, named
// after the OpenTelemetry GenAI semantic conventions where they fit (gen_ai_* metric and label
// names are the conventions' names in Prometheus form), the spend, rate limits, streams and the
// connection pools. Every label value is bounded: model ids come from the catalog (anything else
// is "other"), providers and policies from the configuration; never a user or an API key.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ccbackend/ccbackend/internal/chat"
)

// Token types of gen_ai_client_token_usage: the convention's input and output, plus the
// cached kinds Anthropic reports apart (input excludes them).
const (
	TokenInput      = "input"
	TokenOutput     = "output"
	TokenCacheRead  = "cache_read"
	TokenCacheWrite = "cache_write"
)

// OtherModel is the label of a model the catalog does not list.
const OtherModel = "other"

// operationChat is gen_ai.operation.name for chat completions.
const operationChat = "chat"

// GenAI are the model-traffic collectors; it implements chat.Observer.
type GenAI struct {
	models      map[string]bool
	tokens      *prometheus.HistogramVec
	duration    *prometheus.HistogramVec
	ttft        *prometheus.HistogramVec
	cost        *prometheus.CounterVec
	stops       *prometheus.CounterVec
	upstream    *prometheus.CounterVec
	rejections  *prometheus.CounterVec
	disconnects prometheus.Counter
}

var _ chat.Observer = (*GenAI)(nil)

// NewGenAI registers the collectors with reg; models are the catalog's ids (the only model
// label values besides OtherModel).
func NewGenAI(reg prometheus.Registerer, models []string) *GenAI {
	base := []string{"gen_ai_operation_name", "gen_ai_provider_name", "gen_ai_request_model"}
	g := &GenAI{models: map[string]bool{},
		tokens: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_client_token_usage",
			Help:    "Tokens used per chat completion, by token type (input excludes the cached kinds).",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10), // 1 … 262144
		}, append(base, "gen_ai_token_type")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_client_operation_duration_seconds",
			Help:    "Duration of chat completions, from the request to the last upstream event; error_type is empty on success.",
			Buckets: []float64{.01, .02, .04, .08, .16, .32, .64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84},
		}, append(base, "error_type")),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gen_ai_server_time_to_first_token_seconds",
			Help:    "Time from the request to the first upstream event of a chat completion.",
			Buckets: []float64{.001, .005, .01, .02, .04, .06, .08, .1, .25, .5, .75, 1, 2.5, 5, 7.5, 10},
		}, base),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ccbackend_llm_cost_usd_total", Help: "Spend on model providers in US dollars, by catalog model.",
		}, []string{"model"}),
		stops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ccbackend_stop_reason_total", Help: "Chat completions by normalised upstream stop reason.",
		}, []string{"model", "stop_reason"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ccbackend_upstream_errors_total", Help: "Failed upstream attempts and streams failing part-way, by provider and error type.",
		}, []string{"provider", "error_type"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ccbackend_ratelimit_rejections_total", Help: "Requests refused by a rate limit, by policy.",
		}, []string{"policy"}),
		disconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ccbackend_stream_disconnects_total", Help: "Streamed completions that ended before the model finished (client gone or cancelled).",
		}),
	}
	for _, m := range models {
		g.models[m] = true
	}
	reg.MustRegister(g.tokens, g.duration, g.ttft, g.cost, g.stops, g.upstream, g.rejections, g.disconnects)
	return g
}

// model folds ids the catalog does not list into OtherModel.
func (g *GenAI) model(id string) string {
	if g.models[id] {
		return id
	}
	return OtherModel
}

// GenerationEnded implements chat.Observer.
func (g *GenAI) GenerationEnded(o chat.Outcome) {
	model := g.model(o.Model)
	labels := []string{operationChat, o.Provider, model}
	g.duration.WithLabelValues(append(labels, o.ErrorType)...).Observe(o.Duration.Seconds())
	if o.TTFT > 0 {
		g.ttft.WithLabelValues(labels...).Observe(o.TTFT.Seconds())
	}
	if o.TTFT > 0 { // a generation that never started used nothing
		u := o.Usage
		for _, t := range []struct {
			typ    string
			n      int64
			always bool // the cached kinds are observed only when used
		}{{TokenInput, u.InputTokens, true}, {TokenOutput, u.OutputTokens, true},
			{TokenCacheRead, u.CacheReadTokens, false}, {TokenCacheWrite, u.CacheWriteTokens, false}} {
			if t.always || t.n > 0 {
				g.tokens.WithLabelValues(append(labels, t.typ)...).Observe(float64(t.n))
			}
		}
	}
	if o.Cost > 0 {
		g.cost.WithLabelValues(model).Add(o.Cost)
	}
	if o.StopReason != "" {
		g.stops.WithLabelValues(model, o.StopReason).Inc()
	}
	if o.Stream && o.Status == "cancelled" {
		g.disconnects.Inc()
	}
}

// Rejected implements chat.Observer.
func (g *GenAI) Rejected(policy string) { g.rejections.WithLabelValues(policy).Inc() }

// UpstreamError counts a failed upstream attempt (llm.RouterConfig.OnError).
func (g *GenAI) UpstreamError(provider, errorType string) {
	g.upstream.WithLabelValues(provider, errorType).Inc()
}

// StreamsActive registers ccbackend_streams_active, read from n at scrape time.
func StreamsActive(reg prometheus.Registerer, n func() int64) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ccbackend_streams_active", Help: "Streamed chat completions this instance is serving.",
	}, func() float64 { return float64(n()) }))
}
