package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/catalog"
	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/files"
	"github.com/ccbackend/ccbackend/internal/llm"
	"github.com/ccbackend/ccbackend/internal/metrics"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// providers are the configured upstreams by catalog provider name. The offline local model is
// there outside production only.
func providers(cfg config.Config) map[string]llm.Provider {
	// No client timeout: streams last as long as the model writes; requests are bound to the
	// client's context instead. Many streams run at once to one host: keep their connections.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	client := &http.Client{Transport: transport}
	ps := map[string]llm.Provider{"anthropic": llm.NewAnthropic(cfg.AnthropicAPIKey, cfg.AnthropicBaseURL, client)}
	if cfg.Env != "production" {
		ps["local"] = llm.NewLocal()
	}
	if cfg.OpenAIBaseURL != "" {
		ps[cfg.OpenAIName] = llm.NewOpenAI(cfg.OpenAIName, cfg.OpenAIAPIKey, cfg.OpenAIBaseURL, client)
	}
	return ps
}

// newRouter routes each catalog model to its provider, then to its fallbacks' providers.
func newRouter(cfg config.Config, cat *catalog.Catalog, onError func(provider, errorType string)) (*llm.Router, error) {
	ps := providers(cfg)
	target := func(m catalog.Model) (llm.Target, error) {
		p, ok := ps[m.Provider]
		if !ok {
			return llm.Target{}, fmt.Errorf("catalog: model %s names provider %q, which is not configured", m.ID, m.Provider)
		}
		return llm.Target{Provider: p, UpstreamModel: m.Upstream()}, nil
	}
	routes := map[string][]llm.Target{}
	for _, m := range cat.ListModels() {
		first, err := target(m)
		if err != nil {
			return nil, err
		}
		routes[m.ID] = []llm.Target{first}
		for _, id := range m.Fallbacks {
			fb, _ := cat.GetModel(id)
			t, err := target(fb)
			if err != nil {
				return nil, err
			}
			routes[m.ID] = append(routes[m.ID], t)
		}
	}
	return llm.NewRouter(llm.RouterConfig{Routes: routes, Attempts: cfg.LLMRetries, BaseDelay: cfg.LLMRetryBase, OnError: onError}), nil
}

// tokenPolicy names the chat token budget (its Redis keys and RateLimit headers).
const tokenPolicy = "tokens"

// newChat wires the chat service and starts listening for cancellations from other instances
// (until ctx ends).
func newChat(ctx context.Context, cfg config.Config, cat *catalog.Catalog, st *store.Store, rdb redis.UniversalClient,
	ws *workspace.Service, fs *files.Service, limiter *ratelimit.Limiter, loop chat.ToolLoop, genAI *metrics.GenAI, bus *events.Bus, log *slog.Logger) (*chat.Service, error) {
	router, err := newRouter(cfg, cat, genAI.UpstreamError)
	if err != nil {
		return nil, err
	}
	runs := chat.NewRuns(rdb, cfg.RedisPrefix, log)
	if err := runs.Listen(ctx); err != nil {
		return nil, fmt.Errorf("chat: subscribe to cancellations: %w", err)
	}
	var tokens *ratelimit.Policy
	if cfg.RateLimitTokens != nil {
		tokens = &ratelimit.Policy{Name: tokenPolicy, Limit: cfg.RateLimitTokens.Limit, Period: cfg.RateLimitTokens.Period}
	}
	limits := chat.Limits{Limiter: limiter, Tokens: tokens, TokensFailOpen: cfg.TokenLimitFailOpen,
		Generations:    ratelimit.NewSemaphore(rdb, cfg.RedisPrefix, ratelimit.DefaultLeaseTTL, log).WithSpares(cfg.RateLimitLease),
		MaxGenerations: cfg.MaxConcurrentGenerations, MaxMessageBytes: cfg.MaxMessageBytes}
	return chat.New(cat, router, ws, st, runs, fs, limits, loop, time.Now, log).WithObserver(genAI).WithEvents(bus), nil
}

// modelIDs are the catalog's ids: the model label values of the metrics.
func modelIDs(cat *catalog.Catalog) []string {
	var ids []string
	for _, m := range cat.ListModels() {
		ids = append(ids, m.ID)
	}
	return ids
}
