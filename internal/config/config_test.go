package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.MetricsAddr != "127.0.0.1:9464" || c.MaxBodyBytes != 10<<20 ||
		!c.MigrateOnStart || c.LogLevel != "info" || c.Env != "development" || c.ShutdownTimeout != 30*time.Second {
		t.Errorf("defaults = %+v", c)
	}
	if c.ReadHeaderTimeout != 10*time.Second || c.BodyTimeout != time.Minute || c.WriteTimeout != time.Minute ||
		c.IdleTimeout != 2*time.Minute || c.MaxConnsPerIP != 256 || c.MaxPageBytes != 4<<20 {
		t.Errorf("connection defaults = %+v", c)
	}
	if c.RateLimitAuthFailures != (RatePolicy{20, time.Minute}) || c.MaxAPIKeysPerUser != 25 {
		t.Errorf("auth failure throttle %+v, API key cap %d; want 20/min and 25", c.RateLimitAuthFailures, c.MaxAPIKeysPerUser)
	}
	if f := c.Files; f.BlobURL != "file://./.data/blobs" || f.MaxFileBytes != 100<<20 || f.QuotaBytes != 1<<30 || f.UploadStale != time.Hour {
		t.Errorf("file defaults = %+v", f)
	}
	for _, o := range []string{"capacitor://localhost", "ionic://localhost", "http://localhost"} {
		if !slices.Contains(c.CORSOrigins, o) {
			t.Errorf("default CORS origins lack %s", o)
		}
	}
}

func TestOverrides(t *testing.T) {
	c, err := Load(env(map[string]string{
		"CCB_ADDR": "127.0.0.1:9000", "CCB_METRICS_ADDR": "off", "CCB_CORS_ORIGINS": " https://a.example , https://b.example ",
		"CCB_MAX_BODY_BYTES": "2048", "CCB_MIGRATE_ON_START": "false", "CCB_LOG_LEVEL": "DEBUG",
		"DATABASE_URL": "postgresql://u:p@db:5432/app", "REDIS_URL": "rediss://cache:6380/2",
		"CCB_RATE_LIMIT_AUTH_FAILURES": "5/s", "CCB_MAX_API_KEYS_PER_USER": "3",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:9000" || c.MetricsAddr != "" || c.MaxBodyBytes != 2048 || c.MigrateOnStart || c.LogLevel != "debug" {
		t.Errorf("overrides = %+v", c)
	}
	if c.RateLimitAuthFailures != (RatePolicy{5, time.Second}) || c.MaxAPIKeysPerUser != 3 {
		t.Errorf("auth failure throttle %+v, API key cap %d", c.RateLimitAuthFailures, c.MaxAPIKeysPerUser)
	}
	if !slices.Contains(c.CORSOrigins, "https://b.example") || !slices.Contains(c.CORSOrigins, "capacitor://localhost") {
		t.Errorf("CORS origins = %v", c.CORSOrigins)
	}
}

func TestChatLimits(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil || c.MaxConcurrentGenerations != 8 || c.TokenLimitFailOpen {
		t.Fatalf("defaults: generations %d, fail open %v (%v); want 8, false", c.MaxConcurrentGenerations, c.TokenLimitFailOpen, err)
	}
	c, err = Load(env(map[string]string{"CCB_MAX_CONCURRENT_GENERATIONS": "0", "CCB_TOKEN_LIMIT_FAIL_OPEN": "true"}))
	if err != nil || c.MaxConcurrentGenerations != 0 || !c.TokenLimitFailOpen {
		t.Fatalf("overrides: generations %d, fail open %v (%v); want 0 (off), true", c.MaxConcurrentGenerations, c.TokenLimitFailOpen, err)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"CCB_ADDR":                       "8080",
		"CCB_MAX_BODY_BYTES":             "-1",
		"CCB_MIGRATE_ON_START":           "maybe",
		"CCB_LOG_LEVEL":                  "loud",
		"CCB_ENV":                        "staging",
		"CCB_SHUTDOWN_TIMEOUT":           "soon",
		"DATABASE_URL":                   "mysql://root:hunter2@db/app",
		"REDIS_URL":                      "memcached://x",
		"CCB_MAX_CONCURRENT_GENERATIONS": "-1",
		"CCB_TOKEN_LIMIT_FAIL_OPEN":      "sometimes",
		"CCB_WRITE_TIMEOUT":              "0",
		"CCB_BODY_TIMEOUT":               "fast",
		"CCB_MAX_CONNS_PER_IP":           "-1",
		"CCB_MAX_PAGE_BYTES":             "100",
		"CCB_RATE_LIMIT_AUTH_FAILURES":   "lots",
		"CCB_MAX_API_KEYS_PER_USER":      "0",
		"CCB_BLOB_URL":                   "ftp://files.example/x",
		"CCB_MAX_FILE_BYTES":             "0",
		"CCB_FILE_QUOTA_BYTES":           "lots",
		"CCB_FILE_SWEEP_INTERVAL":        "often",
		"CCB_FILE_UPLOAD_STALE":          "-1h",
		"AWS_ACCESS_KEY_ID":              "AKIDONLY",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(map[string]string{name: value}))
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Fatalf("Load(%s=%q) = %v, want an error naming %s", name, value, err, name)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}
