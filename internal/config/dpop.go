package config

import (
	"net/url"
	"strings"
	"time"
)

// DPoP configures sender-constrained tokens (RFC 9449).
type DPoP struct {
	// ProofWindow (CCB_DPOP_PROOF_WINDOW): how far a proof's iat may lie from the server's clock,
	// either way; each proof's jti is remembered for twice as long (default 60s, 1s–10m).
	ProofWindow time.Duration
	// PublicBaseURL (CCB_PUBLIC_BASE_URL): the scheme, host and path prefix clients use to reach
	// this service, e.g. https://api.example.com behind a TLS-terminating proxy. A proof's htu is
	// compared with it plus the request path. Empty: the request's own scheme (TLS or not) and
	// Host header, right only without a proxy in front.
	PublicBaseURL string `secret:"none"`
}

// dpop reads the DPoP settings.
func (r *reader) dpop() DPoP {
	d := DPoP{
		ProofWindow:   r.duration("CCB_DPOP_PROOF_WINDOW", 60*time.Second),
		PublicBaseURL: strings.TrimRight(r.str("CCB_PUBLIC_BASE_URL", ""), "/"),
	}
	if d.ProofWindow < time.Second || d.ProofWindow > 10*time.Minute {
		r.fail("CCB_DPOP_PROOF_WINDOW", "must be between 1s and 10m")
	}
	if d.PublicBaseURL != "" {
		u, err := url.Parse(d.PublicBaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			r.fail("CCB_PUBLIC_BASE_URL", "not an http(s) URL of scheme, host and optional path")
		}
	}
	return d
}
