package config

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzValueParsers feeds one arbitrary value to each kind of setting through Load, as an
// operator's environment would: rates (600/min), durations, CIDR lists and URLs. Whatever the
// value, Load either fails naming the variable or returns a setting that keeps the parser's
// promise (positive rates and durations, masked prefixes that contain the addresses listed,
// a URL of an allowed scheme); and no error repeats a URL's password.
func FuzzValueParsers(f *testing.F) {
	for _, seed := range []string{
		"600/min", "10/s", "1/day", "0/min", "-5/h", "+7/sec", "5/", "/min", "600/minute", "9999999999999999999/s",
		"30s", "1h30m", "0", "-1s", "1.5h", "9223372036854775807ns", "100000000000000000h",
		"10.0.0.0/8", "10.0.0.1", "::1, 192.168.1.0/24", "fe80::1%eth0", "10.0.0.0/33", "1.2.3.4/0", ",,,",
		"postgres://u:hunter2@db:5432/x", "redis://:pw@[::1", "postgres://u:p%zz@h/", "http://h/\x00",
		"", " ", "\x00", "\xff\xfe",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, name := range []string{"CCB_RATE_LIMIT_DEFAULT", "CCB_RATE_LIMIT_TOKENS"} {
			c, err := Load(env(map[string]string{name: v}))
			p := c.RateLimitDefault
			if c.RateLimitTokens != nil {
				p = *c.RateLimitTokens
			}
			checkErrNames(t, name, v, err)
			if err == nil && strings.TrimSpace(v) != "" {
				if p.Limit <= 0 || p.Period < time.Second {
					t.Fatalf("%s=%q gave %+v", name, v, p)
				}
				again, err := Load(env(map[string]string{name: fmt.Sprintf("%d/s", p.Limit)}))
				if err != nil || again.RateLimitDefault.Limit != p.Limit && again.RateLimitTokens.Limit != p.Limit {
					t.Fatalf("%s: limit %d does not read back: %v", name, p.Limit, err)
				}
			}
		}

		c, err := Load(env(map[string]string{"CCB_SHUTDOWN_TIMEOUT": v, "CCB_API_KEY_ROTATION_GRACE": v}))
		checkErrNames(t, "", v, err)
		if err == nil && strings.TrimSpace(v) != "" && (c.ShutdownTimeout <= 0 || c.APIKeyRotateGrace < 0) {
			t.Fatalf("duration %q gave %v and %v", v, c.ShutdownTimeout, c.APIKeyRotateGrace)
		}

		c, err = Load(env(map[string]string{"CCB_TRUSTED_PROXIES": v}))
		checkErrNames(t, "CCB_TRUSTED_PROXIES", v, err)
		if err == nil {
			checkPrefixes(t, v, c.TrustedProxies)
		}

		c, err = Load(env(map[string]string{"DATABASE_URL": v}))
		checkErrNames(t, "DATABASE_URL", v, err)
		if err == nil {
			if u, perr := url.Parse(c.DatabaseURL); perr != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
				t.Fatalf("DATABASE_URL=%q accepted as %q", v, c.DatabaseURL)
			}
		}
		if u, perr := url.Parse(strings.TrimSpace(v)); err != nil && perr == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && len(pw) >= 4 && strings.Contains(err.Error(), pw) {
				t.Fatalf("the error %q repeats the URL's password", err)
			}
		}
	})
}

// checkErrNames: a failure names the variable (any of the set ones when name is "").
func checkErrNames(t *testing.T, name, v string, err error) {
	t.Helper()
	if err != nil && !strings.HasPrefix(err.Error(), "config: "+name) {
		t.Fatalf("value %q: error %q does not name %s", v, err, name)
	}
}

// checkPrefixes: every listed item is covered by the prefix read from it, which is masked.
func checkPrefixes(t *testing.T, v string, got []netip.Prefix) {
	t.Helper()
	items := env(map[string]string{"x": v})
	r := reader{getenv: items}
	listed := r.list("x")
	if len(got) != len(listed) {
		t.Fatalf("%q: %d items, %d prefixes %v", v, len(listed), len(got), got)
	}
	for i, p := range got {
		if p != p.Masked() || !p.IsValid() {
			t.Fatalf("%q: prefix %v is not masked", v, p)
		}
		if addr, err := netip.ParseAddr(listed[i]); err == nil && !p.Contains(addr) {
			t.Fatalf("%q: prefix %v does not contain the address %v", v, p, addr)
		}
		if back, err := netip.ParsePrefix(p.String()); err != nil || back != p {
			t.Fatalf("%q: prefix %v does not read back (%v, %v)", v, p, back, err)
		}
	}
}
