package config

import (
	"strings"
	"testing"
	"time"
)

// More settings an operator can get wrong: each is refused, naming the variable, and never
// quoting a password back.
func TestMoreBadValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct{ name, value string }{
		{"CCB_API_KEY_ROTATION_GRACE", "-1s"},
		{"CCB_API_KEY_ROTATION_GRACE", "a while"},
		{"CCB_BLOB_URL", "file://"},
		{"CCB_BLOB_URL", "s3://?region=x"},
		{"CCB_BLOB_URL", "s3://u:hunter2@%zz"},
		{"DATABASE_URL", "postgres://u:hunter2@%zz/db"},
		{"ANTHROPIC_BASE_URL", "ftp://api.example"},
		{"CCB_OPENAI_BASE_URL", "grpc://api.example"},
		{"CCB_RATE_LIMIT_TOKENS", "100/fortnight"},
		{"CCB_TRUSTED_PROXIES", "10.0.0.1, proxy.internal"},
		{"CCB_TRUSTED_PROXIES", "fe80::1%eth0"}, // a zoned address never matches a peer
		{"CCB_SECRET_KEY", "short"},
		{"CCB_METRICS_ADDR", "nowhere"},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := Load(env(map[string]string{tc.name: tc.value}))
			if err == nil || !strings.Contains(err.Error(), tc.name) {
				t.Fatalf("Load(%s=%q) = %v, want an error naming it", tc.name, tc.value, err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
	if _, err := Load(env(map[string]string{"AWS_SECRET_ACCESS_KEY": "only-the-secret"})); err == nil || strings.Contains(err.Error(), "only-the-secret") {
		t.Errorf("a lone AWS secret: %v", err)
	}
	if _, err := Load(env(map[string]string{"CCB_ENV": "production"})); err == nil || !strings.Contains(err.Error(), "CCB_SECRET_KEY") {
		t.Errorf("production with the development secret key: %v", err)
	}
}

func TestOptionalSettings(t *testing.T) {
	c, err := Load(env(map[string]string{
		"CCB_API_KEY_ROTATION_GRACE": "0", "CCB_METRICS_ADDR": "off", "CCB_RATE_LIMIT_TOKENS": "200000/min",
		"ANTHROPIC_BASE_URL": "https://anthropic.internal", "CCB_OPENAI_BASE_URL": "http://vllm:8000/v1",
		"CCB_BLOB_URL": "s3://bucket?region=eu-west-1", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIKeyRotateGrace != 0 || c.MetricsAddr != "" || c.RateLimitTokens == nil || *c.RateLimitTokens != (RatePolicy{200000, time.Minute}) {
		t.Errorf("grace %v, metrics %q, tokens %v", c.APIKeyRotateGrace, c.MetricsAddr, c.RateLimitTokens)
	}
	if c.AnthropicBaseURL != "https://anthropic.internal" || c.OpenAIBaseURL != "http://vllm:8000/v1" || c.Files.BlobURL != "s3://bucket?region=eu-west-1" {
		t.Errorf("URLs %q %q %q", c.AnthropicBaseURL, c.OpenAIBaseURL, c.Files.BlobURL)
	}
	red := c.Redacted()
	files, _ := red["files"].(map[string]any)
	if files == nil || files["aws_secret_access_key"] != Redacted || files["aws_session_token"] != "" {
		t.Errorf("redacted files = %v", files)
	}
	if tokens, _ := red["rate_limit_tokens"].(map[string]any); tokens == nil || tokens["period"] != "1m0s" {
		t.Errorf("redacted token limit = %v", red["rate_limit_tokens"])
	}
	if RedactURL("") != "" || RedactURL("postgres://u:p@%zz") != Redacted {
		t.Errorf("RedactURL of empty / unparsable")
	}
}
