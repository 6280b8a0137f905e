package httpapi_test

import (
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/httpapi"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// newLimiter returns a limiter on the test Redis in a key namespace private to t.
func newLimiter(t testing.TB) *ratelimit.Limiter {
	t.Helper()
	rdb := testutil.NewRedis(t)
	return ratelimit.New(rdb, testutil.NewRedisPrefix(t))
}

func pol(name string, limit int, period time.Duration) ratelimit.Policy {
	return ratelimit.Policy{Name: name, Limit: limit, Period: period}
}

var (
	policyField = regexp.MustCompile(`^"([a-z0-9_.-]+)";q=(\d+);w=(\d+)$`)
	stateField  = regexp.MustCompile(`^"([a-z0-9_.-]+)";r=(\d+);t=(\d+)$`)
)

func TestSetHeaders(t *testing.T) {
	def := pol("default", 600, time.Minute)
	auth := pol("auth", 10, time.Minute)
	tests := []struct {
		name                      string
		results                   []ratelimit.Result
		policy, state, retryAfter []string
	}{
		{"admitted", []ratelimit.Result{{Allowed: true, Limit: 600, Remaining: 599, ResetAfter: 100 * time.Millisecond, Policy: def}},
			[]string{`"default";q=600;w=60`}, []string{`"default";r=599;t=1`}, nil},
		{"refused, fractions round up", []ratelimit.Result{{Limit: 10, Remaining: 3, RetryAfter: 5100 * time.Millisecond, ResetAfter: 59001 * time.Millisecond, Policy: auth}},
			[]string{`"auth";q=10;w=60`}, []string{`"auth";r=0;t=60`}, []string{"6"}},
		{"refused, retry at least 1s", []ratelimit.Result{{Limit: 10, RetryAfter: time.Millisecond, ResetAfter: 2 * time.Second, Policy: auth}},
			[]string{`"auth";q=10;w=60`}, []string{`"auth";r=0;t=2`}, []string{"1"}},
		{"two policies", []ratelimit.Result{
			{Allowed: true, Limit: 600, Remaining: 10, ResetAfter: 59 * time.Second, Policy: def},
			{Allowed: true, Limit: 10, Remaining: 9, ResetAfter: 6 * time.Second, Policy: auth}},
			[]string{`"default";q=600;w=60`, `"auth";q=10;w=60`}, []string{`"default";r=10;t=59`, `"auth";r=9;t=6`}, nil},
		{"zero result writes nothing", []ratelimit.Result{{}}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, r := range tt.results {
				httpapi.SetRateLimitHeaders(h, r)
			}
			for name, want := range map[string][]string{"RateLimit-Policy": tt.policy, "RateLimit": tt.state, "Retry-After": tt.retryAfter} {
				if got := h.Values(name); !slices.Equal(got, want) {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// TestHeadersFromRedis parses the headers of real decisions back into numbers.
func TestHeadersFromRedis(t *testing.T) {
	l := newLimiter(t)
	p := pol("auth", 3, time.Minute)
	for i := range 4 {
		res, err := l.Allow(t.Context(), "user-1", p)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		httpapi.SetRateLimitHeaders(h, res)
		pf := policyField.FindStringSubmatch(h.Get("RateLimit-Policy"))
		st := stateField.FindStringSubmatch(h.Get("RateLimit"))
		if pf == nil || st == nil {
			t.Fatalf("call %d: unparsable %q", i, h)
		}
		if pf[1] != "auth" || atoi(t, pf[2]) != 3 || atoi(t, pf[3]) != 60 || st[1] != "auth" {
			t.Errorf("call %d: policy %q", i, pf[0])
		}
		wantR, wantT := 3-(i+1), 20*(i+1) // each call pushes the full reset 20 s further
		if i == 3 {
			wantR, wantT = 0, 60
		}
		if atoi(t, st[2]) != wantR || atoi(t, st[3]) != wantT {
			t.Errorf("call %d: RateLimit %q, want r=%d t=%d", i, st[0], wantR, wantT)
		}
		if retry := h.Get("Retry-After"); (i == 3) != (retry != "") || (retry != "" && atoi(t, retry) != 20) {
			t.Errorf("call %d: Retry-After %q", i, retry)
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}
