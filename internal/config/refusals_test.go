package config

import (
	"strings"
	"testing"
)

// Settings that are each well-formed alone but out of bounds, or that contradict another setting,
// are refused at start with the variable named, instead of failing on the first request that uses
// them (a DPoP proof compared with a bad base URL, an APNs token Apple refuses after an hour).
func TestOutOfBoundsAndInconsistentSettings(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
		want []string // the variables the error must name (Load reports the first problem only)
	}{
		{"API key cache longer than a revocation may take", map[string]string{"CCB_API_KEY_CACHE_TTL": "11m"}, []string{"CCB_API_KEY_CACHE_TTL"}},
		{"DPoP window under a second", map[string]string{"CCB_DPOP_PROOF_WINDOW": "500ms"}, []string{"CCB_DPOP_PROOF_WINDOW"}},
		{"DPoP window over ten minutes", map[string]string{"CCB_DPOP_PROOF_WINDOW": "11m"}, []string{"CCB_DPOP_PROOF_WINDOW"}},
		{"base URL of another scheme", map[string]string{"CCB_PUBLIC_BASE_URL": "ftp://api.example.com"}, []string{"CCB_PUBLIC_BASE_URL"}},
		{"base URL without a host", map[string]string{"CCB_PUBLIC_BASE_URL": "api.example.com/v1"}, []string{"CCB_PUBLIC_BASE_URL"}},
		{"base URL with a query", map[string]string{"CCB_PUBLIC_BASE_URL": "https://api.example.com/?x=1"}, []string{"CCB_PUBLIC_BASE_URL"}},
		{"base URL with credentials", map[string]string{"CCB_PUBLIC_BASE_URL": "https://u:hunter2@api.example.com"}, []string{"CCB_PUBLIC_BASE_URL"}},
		{"base URL that does not parse", map[string]string{"CCB_PUBLIC_BASE_URL": "https://%zz"}, []string{"CCB_PUBLIC_BASE_URL"}},
		{"APNs token kept past Apple's hour", map[string]string{"CCB_APNS_TOKEN_REFRESH": "61m"}, []string{"CCB_APNS_TOKEN_REFRESH"}},
		{"APNs token minted too often", map[string]string{"CCB_APNS_TOKEN_REFRESH": "5m"}, []string{"CCB_APNS_TOKEN_REFRESH"}},
		{"APNs key without its id", map[string]string{"CCB_APNS_KEY_FILE": "/etc/ccb/apns.p8", "CCB_APNS_TEAM_ID": "T", "CCB_APNS_TOPIC": "app"}, []string{"CCB_APNS_KEY_ID"}},
		{"APNs key without its team", map[string]string{"CCB_APNS_KEY_FILE": "/etc/ccb/apns.p8", "CCB_APNS_KEY_ID": "K", "CCB_APNS_TOPIC": "app"}, []string{"CCB_APNS_TEAM_ID"}},
		{"APNs key without its topic", map[string]string{"CCB_APNS_KEY_FILE": "/etc/ccb/apns.p8", "CCB_APNS_KEY_ID": "K", "CCB_APNS_TEAM_ID": "T"}, []string{"CCB_APNS_TOPIC"}},
		{"direct URL that is not PostgreSQL", map[string]string{"DATABASE_DIRECT_URL": "mysql://root:hunter2@db/app"}, []string{"DATABASE_DIRECT_URL"}},
		{"replica URL that is not PostgreSQL", map[string]string{"DATABASE_REPLICA_URL": "mysql://root:hunter2@db/app"}, []string{"DATABASE_REPLICA_URL"}},
		{"replica lag checked less often than it may grow", map[string]string{"CCB_REPLICA_MAX_LAG": "2s", "CCB_REPLICA_CHECK_INTERVAL": "3s"}, []string{"CCB_REPLICA_CHECK_INTERVAL"}},
		{"WebAuthn origin that does not parse", map[string]string{"CCB_WEBAUTHN_ORIGINS": "https://%zz"}, []string{"CCB_WEBAUTHN_ORIGINS"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil {
				t.Fatalf("Load(%v) succeeded", tc.env)
			}
			for _, name := range tc.want {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("Load(%v) = %v, want an error naming %s", tc.env, err, name)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}

// The bounds themselves are accepted, and the session-level URL is the direct one only when it
// is set: migrations must bypass a pooler when there is one and use DATABASE_URL otherwise.
func TestBoundarySettingsAndDirectURL(t *testing.T) {
	c, err := Load(env(map[string]string{
		"CCB_DPOP_PROOF_WINDOW": "10m", "CCB_APNS_TOKEN_REFRESH": "59m", "CCB_API_KEY_CACHE_TTL": "10m",
		"CCB_PUBLIC_BASE_URL": "https://api.example.com/ccb/", "CCB_REPLICA_MAX_LAG": "3s", "CCB_REPLICA_CHECK_INTERVAL": "3s",
		"DATABASE_REPLICA_URL": "postgresql://replica/app",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DPoP.PublicBaseURL != "https://api.example.com/ccb" {
		t.Errorf("base URL %q: the trailing slash must go, or every htu would carry a double slash", c.DPoP.PublicBaseURL)
	}
	if c.Replica.URL != "postgresql://replica/app" {
		t.Errorf("replica URL %q", c.Replica.URL)
	}
	if got := c.Pooler.Direct(c.DatabaseURL); got != c.DatabaseURL {
		t.Errorf("without DATABASE_DIRECT_URL, Direct = %q, want DATABASE_URL %q", got, c.DatabaseURL)
	}
	c, err = Load(env(map[string]string{"CCB_DATABASE_POOLER": PoolerPgBouncer, "DATABASE_URL": "postgres://bouncer:6432/app", "DATABASE_DIRECT_URL": "postgres://primary:5432/app"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Pooler.Direct(c.DatabaseURL); got != "postgres://primary:5432/app" {
		t.Errorf("behind PgBouncer, Direct = %q, want the direct URL", got)
	}
}

// A cluster-mode REDIS_URL that does not parse is reported once, as REDIS_URL, not also as a
// database number a cluster cannot have.
func TestClusterRedisURLThatDoesNotParse(t *testing.T) {
	_, err := Load(env(map[string]string{"CCB_REDIS_MODE": "cluster", "CCB_REDIS_ADDRS": "r1:6379,r2:6379", "REDIS_URL": "redis://%zz"}))
	if err == nil || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Fatalf("Load = %v, want REDIS_URL refused", err)
	}
	if strings.Contains(err.Error(), "database 0 only") {
		t.Errorf("an unparsable URL was also read as a database number: %v", err)
	}
}
