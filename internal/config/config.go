// Package config is the only reader of the process environment: it parses every setting once into
// a Config and rejects bad values with a message that names the variable.
package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config holds every setting of the service. A field holding a secret (or a URL that may carry
// credentials) is tagged `secret:"value"` or `secret:"url"` (see redact.go): Redacted relies on it.
type Config struct {
	Env             string        // CCB_ENV: development | test | production
	Addr            string        // CCB_ADDR
	MetricsAddr     string        // CCB_METRICS_ADDR; empty disables the metrics listener
	DatabaseURL     string        `secret:"url"` // DATABASE_URL
	Replica         Replica       // DATABASE_REPLICA_URL, CCB_REPLICA_*: the read replica (replica.go)
	Pooler          Pooler        // CCB_DATABASE_POOLER, DATABASE_DIRECT_URL: PgBouncer (pooler.go)
	RedisURL        string        `secret:"url"` // REDIS_URL
	RedisPrefix     string        // CCB_REDIS_PREFIX: namespace of every Redis key
	Redis           Redis         // CCB_REDIS_MODE, CCB_REDIS_ADDRS, …: single node, cluster or sentinel (redis.go)
	CORSOrigins     []string      // CCB_CORS_ORIGINS, comma-separated, added to the defaults
	LogLevel        string        // CCB_LOG_LEVEL: debug | info | warn | error
	MaxBodyBytes    int64         // CCB_MAX_BODY_BYTES
	MigrateOnStart  bool          // CCB_MIGRATE_ON_START
	ShutdownTimeout time.Duration // CCB_SHUTDOWN_TIMEOUT
	ReadyTimeout    time.Duration // CCB_READY_TIMEOUT: budget of each dependency check in /ready

	// Connection limits (see README, "Timeouts and connection limits").
	ReadHeaderTimeout time.Duration // CCB_READ_HEADER_TIMEOUT: request line and headers
	BodyTimeout       time.Duration // CCB_BODY_TIMEOUT: reading a request body, from the first byte of the request
	WriteTimeout      time.Duration // CCB_WRITE_TIMEOUT: each response write; streams extend it per chunk
	IdleTimeout       time.Duration // CCB_IDLE_TIMEOUT: a keep-alive connection between requests
	MaxConnsPerIP     int           // CCB_MAX_CONNS_PER_IP: open connections per client address; 0 disables
	MaxPageBytes      int           // CCB_MAX_PAGE_BYTES: a list page ends early past this estimated size

	SecretKey         []byte        `secret:"value"` // CCB_SECRET_KEY: ≥32 bytes; encrypts signing keys, signs cursors
	AccessTokenTTL    time.Duration // CCB_ACCESS_TOKEN_TTL
	JWTRotateEvery    time.Duration // CCB_JWT_ROTATE_EVERY
	RefreshTTL        time.Duration // CCB_REFRESH_TTL
	RefreshGrace      time.Duration // CCB_REFRESH_GRACE
	BcryptCost        int           // CCB_BCRYPT_COST
	APIKeyRotateGrace time.Duration // CCB_API_KEY_ROTATION_GRACE; 0 ends the old secret at once
	LockoutThreshold  int           // CCB_LOCKOUT_THRESHOLD: consecutive failures that lock
	LockoutDuration   time.Duration // CCB_LOCKOUT_DURATION
	RateLimitDefault  RatePolicy    // CCB_RATE_LIMIT_DEFAULT, e.g. 600/min
	RateLimitAuth     RatePolicy    // CCB_RATE_LIMIT_AUTH, e.g. 10/min (register, login, refresh)
	// CCB_RATE_LIMIT_AUTH_FAILURES: refused credentials (401/403) per client IP, e.g. 20/min
	RateLimitAuthFailures RatePolicy
	MaxAPIKeysPerUser     int            // CCB_MAX_API_KEYS_PER_USER: working (not revoked, not expired) keys a user may hold
	TrustedProxies        []netip.Prefix // CCB_TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed

	MaxMessageBytes int64         // CCB_MAX_MESSAGE_BYTES: largest message content (JSON-encoded)
	SyncRetention   time.Duration // CCB_SYNC_RETENTION: how long deletions stay in the sync feed

	ModelsFile string // CCB_MODELS_FILE: replaces the embedded model catalog

	Files Files // file storage (files.go)

	Analytics Analytics // usage partitions, retention and rollups

	DPoP        DPoP        // sender-constrained tokens (dpop.go)
	APIKeyCache APIKeyCache // verified API keys held in memory (apikeys.go)

	AnthropicAPIKey  string        `secret:"value"` // ANTHROPIC_API_KEY
	AnthropicBaseURL string        `secret:"url"`   // ANTHROPIC_BASE_URL (empty: https://api.anthropic.com)
	OpenAIName       string        // CCB_OPENAI_NAME: the catalog provider name of an OpenAI-compatible upstream
	OpenAIBaseURL    string        `secret:"url"`   // CCB_OPENAI_BASE_URL, including /v1 (vLLM, Ollama, OpenRouter…)
	OpenAIAPIKey     string        `secret:"value"` // CCB_OPENAI_API_KEY
	LLMRetries       int           // CCB_LLM_RETRIES: attempts per provider before falling back
	LLMRetryBase     time.Duration // CCB_LLM_RETRY_BASE: first backoff; doubles per attempt, with jitter
	RateLimitTokens  *RatePolicy   // CCB_RATE_LIMIT_TOKENS, e.g. 200000/min; unset: no token limit
	// CCB_RATE_LIMIT_LEASE: how long an instance may hold request and token units it took from a
	// busy caller's budget ahead of need (ratelimit.WithLeases); 0 asks Redis for every decision
	RateLimitLease time.Duration
	// CCB_TOKEN_LIMIT_FAIL_OPEN: admit chat completions uncharged while Redis is unreachable
	// (default false: refuse them with 503, as the budget bounds spend)
	TokenLimitFailOpen bool
	// CCB_MAX_CONCURRENT_GENERATIONS: chat generations one user may run at once, across
	// instances (default 8; 0 turns the cap off)
	MaxConcurrentGenerations int
	StreamKeepAlive          time.Duration // CCB_STREAM_KEEPALIVE: comment line interval on quiet streams

	MCP MCP // CCB_MCP_*: MCP server connections and the chat tool loop (mcp.go)

	WebAuthn WebAuthn // CCB_WEBAUTHN_*, CCB_APPLE_APP_IDS, CCB_ANDROID_APPS: passkeys (webauthn.go)
	MFA      MFA      // multi-factor authentication and step-up (mfa.go)
	Resume   Resume   // CCB_RESUME_*: resumable chat streams (resume.go)
	Events   Events   // CCB_EVENTS_*: the live event feed (events.go)
	Push     Push     // CCB_APNS_*: push notifications (push.go)
}

// RatePolicy allows Limit requests per Period.
type RatePolicy struct {
	Limit  int
	Period time.Duration
}

// DevSecretKey is used outside production when CCB_SECRET_KEY is unset; production refuses it.
const DevSecretKey = "ccbackend-development-secret-key-do-not-use-in-production"

// DefaultCORSOrigins are the origins of the iOS app's web views and local development.
var DefaultCORSOrigins = []string{"capacitor://localhost", "ionic://localhost", "http://localhost"}

// Load reads the configuration through getenv (os.Getenv in production, a map in tests).
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		Env:             r.oneOf("CCB_ENV", "development", "development", "test", "production"),
		Addr:            r.hostPort("CCB_ADDR", ":8080", false),
		MetricsAddr:     r.hostPort("CCB_METRICS_ADDR", "127.0.0.1:9464", true),
		DatabaseURL:     r.url("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable", "postgres", "postgresql"),
		RedisURL:        r.url("REDIS_URL", "redis://127.0.0.1:6379/0", "redis", "rediss"),
		RedisPrefix:     r.str("CCB_REDIS_PREFIX", "ccb:"),
		CORSOrigins:     append(append([]string{}, DefaultCORSOrigins...), r.list("CCB_CORS_ORIGINS")...),
		LogLevel:        r.oneOf("CCB_LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		MaxBodyBytes:    r.positiveInt("CCB_MAX_BODY_BYTES", 10<<20),
		MigrateOnStart:  r.boolean("CCB_MIGRATE_ON_START", true),
		ShutdownTimeout: r.duration("CCB_SHUTDOWN_TIMEOUT", 30*time.Second),
		ReadyTimeout:    r.duration("CCB_READY_TIMEOUT", 2*time.Second),
	}
	c.Redis = r.redis(c.RedisURL, c.RedisPrefix)
	c.ReadHeaderTimeout = r.duration("CCB_READ_HEADER_TIMEOUT", 10*time.Second)
	c.BodyTimeout = r.duration("CCB_BODY_TIMEOUT", 60*time.Second)
	c.WriteTimeout = r.duration("CCB_WRITE_TIMEOUT", 60*time.Second)
	c.IdleTimeout = r.duration("CCB_IDLE_TIMEOUT", 120*time.Second)
	c.MaxConnsPerIP = r.intRange("CCB_MAX_CONNS_PER_IP", 256, 0, 1_000_000)
	c.MaxPageBytes = r.intRange("CCB_MAX_PAGE_BYTES", 4<<20, 64<<10, 1<<30)
	c.SecretKey = []byte(r.str("CCB_SECRET_KEY", DevSecretKey))
	switch {
	case len(c.SecretKey) < 32:
		r.fail("CCB_SECRET_KEY", "must be at least 32 bytes (e.g. openssl rand -base64 48)")
	case c.Env == "production" && string(c.SecretKey) == DevSecretKey:
		r.fail("CCB_SECRET_KEY", "must be set in production")
	}
	c.AccessTokenTTL = r.duration("CCB_ACCESS_TOKEN_TTL", 15*time.Minute)
	c.JWTRotateEvery = r.duration("CCB_JWT_ROTATE_EVERY", 30*24*time.Hour)
	c.RefreshTTL = r.duration("CCB_REFRESH_TTL", 7*24*time.Hour)
	c.RefreshGrace = r.duration("CCB_REFRESH_GRACE", 10*time.Second)
	c.BcryptCost = r.intRange("CCB_BCRYPT_COST", 12, 4, 31)
	c.APIKeyRotateGrace = r.nonNegativeDuration("CCB_API_KEY_ROTATION_GRACE", 0)
	c.LockoutThreshold = r.intRange("CCB_LOCKOUT_THRESHOLD", 5, 1, 1000)
	c.LockoutDuration = r.duration("CCB_LOCKOUT_DURATION", 15*time.Minute)
	c.RateLimitDefault = r.ratePolicy("CCB_RATE_LIMIT_DEFAULT", RatePolicy{600, time.Minute})
	c.RateLimitAuth = r.ratePolicy("CCB_RATE_LIMIT_AUTH", RatePolicy{10, time.Minute})
	c.RateLimitAuthFailures = r.ratePolicy("CCB_RATE_LIMIT_AUTH_FAILURES", RatePolicy{20, time.Minute})
	c.MaxAPIKeysPerUser = r.intRange("CCB_MAX_API_KEYS_PER_USER", 25, 1, 10000)
	c.TrustedProxies = r.prefixes("CCB_TRUSTED_PROXIES")
	c.MaxMessageBytes = r.positiveInt("CCB_MAX_MESSAGE_BYTES", 1<<20)
	c.SyncRetention = r.duration("CCB_SYNC_RETENTION", 30*24*time.Hour)
	c.ModelsFile = r.str("CCB_MODELS_FILE", "")
	c.Files = r.files()
	c.Replica = r.replica()
	c.Pooler = r.pooler()
	c.Analytics = r.analytics()
	c.DPoP = r.dpop()
	c.APIKeyCache = r.apiKeyCache()
	c.AnthropicAPIKey = r.str("ANTHROPIC_API_KEY", "")
	if v := r.str("ANTHROPIC_BASE_URL", ""); v != "" {
		c.AnthropicBaseURL = r.url("ANTHROPIC_BASE_URL", "", "http", "https")
	}
	c.OpenAIName = r.str("CCB_OPENAI_NAME", "openai")
	if v := r.str("CCB_OPENAI_BASE_URL", ""); v != "" {
		c.OpenAIBaseURL = r.url("CCB_OPENAI_BASE_URL", "", "http", "https")
	}
	c.OpenAIAPIKey = r.str("CCB_OPENAI_API_KEY", "")
	c.LLMRetries = r.intRange("CCB_LLM_RETRIES", 3, 1, 10)
	c.LLMRetryBase = r.duration("CCB_LLM_RETRY_BASE", 250*time.Millisecond)
	c.StreamKeepAlive = r.duration("CCB_STREAM_KEEPALIVE", 15*time.Second)
	c.TokenLimitFailOpen = r.boolean("CCB_TOKEN_LIMIT_FAIL_OPEN", false)
	c.RateLimitLease = r.nonNegativeDuration("CCB_RATE_LIMIT_LEASE", time.Second)
	c.MaxConcurrentGenerations = r.intRange("CCB_MAX_CONCURRENT_GENERATIONS", 8, 0, 10000)
	c.MCP = r.mcp()
	c.WebAuthn = r.webauthn()
	c.MFA = r.mfa()
	c.Resume = r.resume()
	c.Push = r.push()
	c.Events = r.events()
	if r.str("CCB_RATE_LIMIT_TOKENS", "") != "" {
		p := r.ratePolicy("CCB_RATE_LIMIT_TOKENS", RatePolicy{})
		c.RateLimitTokens = &p
	}
	if r.err != nil {
		return Config{}, r.err
	}
	return c, nil
}

// reader keeps the first error so Load reads like a list of settings.
type reader struct {
	getenv func(string) string
	err    error
}

func (r *reader) fail(name, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("config: %s: %s", name, fmt.Sprintf(format, args...))
	}
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "%q is not one of %s", v, strings.Join(allowed, ", "))
	return def
}

func (r *reader) hostPort(name, def string, allowEmpty bool) string {
	raw, set := r.getenv(name), r.getenv(name) != ""
	if !set {
		return def
	}
	v := strings.TrimSpace(raw)
	if allowEmpty && (v == "off" || v == "none") {
		return ""
	}
	if _, port, err := net.SplitHostPort(v); err != nil || port == "" {
		r.fail(name, "%q is not a host:port listen address (e.g. :8080)", v)
		return def
	}
	return v
}

func (r *reader) url(name, def string, schemes ...string) string {
	v := r.str(name, def)
	u, err := url.Parse(v)
	if err != nil {
		r.fail(name, "not a URL")
		return def
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return v
		}
	}
	// The value may hold a password: name only the scheme.
	r.fail(name, "scheme %q is not one of %s", u.Scheme, strings.Join(schemes, ", "))
	return def
}

func (r *reader) list(name string) []string {
	var out []string
	for _, part := range strings.Split(r.getenv(name), ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r *reader) positiveInt(name string, def int64) int64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		r.fail(name, "%q is not a positive integer", v)
		return def
	}
	return n
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "%q is not a boolean (true or false)", v)
		return def
	}
	return b
}

func (r *reader) intRange(name string, def, lo, hi int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, "%q is not an integer from %d to %d", v, lo, hi)
		return def
	}
	return n
}

func (r *reader) nonNegativeDuration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		r.fail(name, "%q is not a duration (e.g. 24h, or 0)", v)
		return def
	}
	return d
}

var periods = map[string]time.Duration{"s": time.Second, "sec": time.Second, "min": time.Minute, "m": time.Minute, "h": time.Hour, "hour": time.Hour, "day": 24 * time.Hour}

func (r *reader) ratePolicy(name string, def RatePolicy) RatePolicy {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	count, unit, ok := strings.Cut(v, "/")
	n, err := strconv.Atoi(count)
	period, known := periods[unit]
	if !ok || err != nil || n <= 0 || !known {
		r.fail(name, "%q is not a rate like 600/min (units: s, min, h, day)", v)
		return def
	}
	return RatePolicy{Limit: n, Period: period}
}

func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, item := range r.list(name) {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			// A zoned address (fe80::1%eth0) would never match a peer: refused like garbage.
			if addr, aerr := netip.ParseAddr(item); aerr == nil && addr.Zone() == "" {
				p = netip.PrefixFrom(addr, addr.BitLen())
			} else {
				r.fail(name, "%q is not an IP address or CIDR", item)
				continue
			}
		}
		out = append(out, p.Masked())
	}
	return out
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "%q is not a positive duration (e.g. 30s)", v)
		return def
	}
	return d
}
