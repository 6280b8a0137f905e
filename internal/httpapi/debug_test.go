package httpapi_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// withPassword puts a password into a connection URL; the local PostgreSQL (trust) and Redis
// (default user without a password) accept any.
func withPassword(t *testing.T, raw, user, password string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, password)
	return u.String()
}

// TestDebugInfoHoldsNoSecret configures a value for every secret, reads /v1/debug as an admin
// and searches the whole body for each of them; a plain user is refused and the view is audited.
func TestDebugInfoHoldsNoSecret(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"secret key":         "debug-test-secret-key-0123456789-abcdefghij",
		"Anthropic key":      "sk-ant-debug-test-anthropic-key",
		"OpenAI key":         "sk-openai-debug-test-key",
		"database password":  "pg-debug-test-password",
		"Redis password":     "redis-debug-test-password",
		"OpenAI URL's token": "openai-url-debug-token",
	}
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.SecretKey = []byte(secrets["secret key"])
		c.AnthropicAPIKey = secrets["Anthropic key"]
		c.OpenAIAPIKey = secrets["OpenAI key"]
		c.OpenAIBaseURL = "http://127.0.0.1:9/v1?api_key=" + secrets["OpenAI URL's token"]
		c.DatabaseURL = withPassword(t, c.DatabaseURL, "postgres", secrets["database password"])
		c.RedisURL = withPassword(t, c.RedisURL, "default", secrets["Redis password"])
	}))
	admin := s.Admin(t, "debug-admin@example.com")
	user := s.Register(t, "debug-user@example.com")

	resp, body := s.Do(t, http.MethodGet, "/v1/debug", nil, user.Bearer())
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("plain user: %d %s", resp.StatusCode, body)
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/debug", nil, admin.Bearer())
	info := decodeInto[api.DebugInfo](t, resp, body, http.StatusOK)
	for what, secret := range secrets {
		if strings.Contains(string(body), secret) {
			t.Errorf("/v1/debug contains the %s", what)
		}
	}
	if got := info.Config["database_url"]; !strings.Contains(got.(string), "postgres:[redacted]@") {
		t.Errorf("config.database_url = %v, want the URL with its password redacted", got)
	}
	if info.Config["secret_key"] != "[redacted]" || info.Config["anthropic_api_key"] != "[redacted]" {
		t.Errorf("secret_key %v, anthropic_api_key %v", info.Config["secret_key"], info.Config["anthropic_api_key"])
	}
	if info.Build.Version != "test" || info.Build.GoVersion == "" || info.Goroutines < 1 || info.UptimeSeconds < 0 {
		t.Errorf("build %+v, goroutines %d, uptime %v", info.Build, info.Goroutines, info.UptimeSeconds)
	}
	if info.Postgres.ServerVersion == nil || info.Redis.Version == nil || info.Redis.ConnectedClients == nil || info.Postgres.Pool.MaxConns < 1 {
		t.Errorf("postgres %+v, redis %+v", info.Postgres, info.Redis)
	}
	if info.Migration.Version < 10 || info.Migration.Dirty || len(info.UsagePartitions) == 0 || info.OpenStreams != 0 {
		t.Errorf("migration %+v, %d partitions, %d open streams", info.Migration, len(info.UsagePartitions), info.OpenStreams)
	}
	// The MCP pool reports its sessions (none yet); WebSocket connections do not exist yet.
	if info.McpSessions == nil || *info.McpSessions != 0 || info.WsConnections != nil {
		t.Errorf("mcp_sessions = %v, ws_connections = %v; want 0 and absent", info.McpSessions, info.WsConnections)
	}
	assertAudit(t, s, admin, "admin.debug_view", 1)
}
