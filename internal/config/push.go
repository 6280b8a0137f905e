package config

import "time"

// Push holds the settings of push notifications (internal/push). Push is off until
// CCB_APNS_KEY_FILE names a .p8 key; devices can be registered either way.
type Push struct {
	// KeyFile (CCB_APNS_KEY_FILE) is the APNs auth key (.p8, PKCS#8 PEM) from the Apple developer
	// account; the file holds the secret, this setting only its path.
	KeyFile string `secret:"none"`
	KeyID   string `secret:"none"` // CCB_APNS_KEY_ID: the key's 10-character id (the provider token's `kid`)
	TeamID  string // CCB_APNS_TEAM_ID: the developer team (the provider token's `iss`)
	// Topic (CCB_APNS_TOPIC) is the app's bundle id; devices registered for another bundle are refused.
	Topic string
	// SandboxURL and ProductionURL (CCB_APNS_SANDBOX_URL, CCB_APNS_PRODUCTION_URL) are the APNs
	// endpoints a device's environment selects; tests point them at a local server.
	SandboxURL    string `secret:"url"`
	ProductionURL string `secret:"url"`
	// CAFile (CCB_APNS_CA_FILE) holds PEM certificates trusted for the endpoints besides the
	// system's (a TLS-inspecting egress proxy; tests).
	CAFile string `secret:"none"`
	// TokenRefresh (CCB_APNS_TOKEN_REFRESH, 50m): a provider token is reused this long. Apple
	// refuses tokens older than an hour and throttles minting more often than every 20 minutes.
	TokenRefresh time.Duration
	Workers      int           // CCB_APNS_WORKERS (2): notifications sent at once
	QueueSize    int           // CCB_APNS_QUEUE (1024): notifications waiting; past it new ones are dropped and counted
	Retries      int           // CCB_APNS_RETRIES (3): attempts after a 429, a 5xx or a transport error
	RetryBase    time.Duration // CCB_APNS_RETRY_BASE (500ms): first backoff; doubles per attempt, with jitter
}

// Enabled reports whether notifications are sent.
func (p Push) Enabled() bool { return p.KeyFile != "" }

func (r *reader) push() Push {
	p := Push{
		KeyFile:       r.str("CCB_APNS_KEY_FILE", ""),
		KeyID:         r.str("CCB_APNS_KEY_ID", ""),
		TeamID:        r.str("CCB_APNS_TEAM_ID", ""),
		Topic:         r.str("CCB_APNS_TOPIC", ""),
		SandboxURL:    r.url("CCB_APNS_SANDBOX_URL", "https://api.sandbox.push.apple.com", "https"),
		ProductionURL: r.url("CCB_APNS_PRODUCTION_URL", "https://api.push.apple.com", "https"),
		CAFile:        r.str("CCB_APNS_CA_FILE", ""),
		TokenRefresh:  r.duration("CCB_APNS_TOKEN_REFRESH", 50*time.Minute),
		Workers:       r.intRange("CCB_APNS_WORKERS", 2, 1, 64),
		QueueSize:     r.intRange("CCB_APNS_QUEUE", 1024, 1, 1_000_000),
		Retries:       r.intRange("CCB_APNS_RETRIES", 3, 0, 10),
		RetryBase:     r.duration("CCB_APNS_RETRY_BASE", 500*time.Millisecond),
	}
	if p.TokenRefresh < 20*time.Minute || p.TokenRefresh > 59*time.Minute {
		r.fail("CCB_APNS_TOKEN_REFRESH", "must be between 20m and 59m (Apple refuses tokens older than an hour)")
	}
	if p.Enabled() {
		for name, v := range map[string]string{"CCB_APNS_KEY_ID": p.KeyID, "CCB_APNS_TEAM_ID": p.TeamID, "CCB_APNS_TOPIC": p.Topic} {
			if v == "" {
				r.fail(name, "required when CCB_APNS_KEY_FILE is set")
			}
		}
	}
	return p
}
