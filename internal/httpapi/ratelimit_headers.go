package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// setRateLimitHeaders reports r in the IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers-08 and
// later, structured-field lists):
//
//	RateLimit-Policy: "default";q=600;w=60
//	RateLimit: "default";r=599;t=1
//	Retry-After: 7 (only when r was refused)
//
// Each call adds one list member, so a response governed by several policies (default and auth)
// reports each of them. A zero Result (the caller failed open without one) writes nothing.
func setRateLimitHeaders(h http.Header, r ratelimit.Result) {
	if r.Policy.Name == "" {
		return
	}
	name := `"` + r.Policy.Name + `"` // validName guarantees nothing needs escaping
	h.Add("RateLimit-Policy", name+";q="+strconv.Itoa(r.Policy.Limit)+";w="+ceilSeconds(r.Policy.Period))
	remaining := r.Remaining
	if !r.Allowed {
		remaining = 0
	}
	h.Add("RateLimit", name+";r="+strconv.Itoa(remaining)+";t="+ceilSeconds(r.ResetAfter))
	if !r.Allowed {
		// Rounded up and at least 1: a client that obeys must not be refused again for being early.
		h.Set("Retry-After", ceilSeconds(max(r.RetryAfter, time.Second)))
	}
}

// ceilSeconds renders d in whole seconds, rounded up, never negative.
func ceilSeconds(d time.Duration) string {
	if d <= 0 {
		return "0"
	}
	return strconv.FormatInt(int64((d+time.Second-1)/time.Second), 10)
}
