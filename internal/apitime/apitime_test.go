package apitime

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

func TestMarshalIsMillisecondUTC(t *testing.T) {
	loc := time.FixedZone("X", 5*3600)
	cases := map[string]time.Time{
		"2026-01-02T03:04:05.000Z": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"2026-01-02T03:04:05.120Z": time.Date(2026, 1, 2, 3, 4, 5, 120_999_999, time.UTC),
		"2026-01-01T22:04:05.007Z": time.Date(2026, 1, 2, 3, 4, 5, 7_000_000, loc),
	}
	for want, in := range cases {
		b, err := json.Marshal(New(in))
		if err != nil || string(b) != `"`+want+`"` {
			t.Errorf("marshal %v = %s, %v; want %q", in, b, err, want)
		}
	}
}

func TestUnmarshalAcceptsRFC3339(t *testing.T) {
	for _, in := range []string{`"2026-01-02T03:04:05Z"`, `"2026-01-02T08:04:05.123456+05:00"`} {
		var got Time
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Fatalf("unmarshal %s: %v", in, err)
		}
		if got.Location() != time.UTC || got.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("unmarshal %s = %v", in, got.Time)
		}
	}
	for _, bad := range []string{`"yesterday"`, `1700000000`, `"2026-01-02"`} {
		var got Time
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("unmarshal %s succeeded", bad)
		}
	}
}

// TestAppendToMatchesTheLayout: the digit-by-digit formatter writes what time's own formatter
// writes for Layout, in UTC, for random instants over years 0–9999, the edges around them (where
// it hands over to time's formatter), sub-millisecond remainders and other zones.
func TestAppendToMatchesTheLayout(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 2026))
	loc := time.FixedZone("X", -(9*3600 + 30*60))
	cases := []time.Time{{}, time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 4, 0, 0, 0, 999_999, loc)}
	lo, hi := time.Date(0, 1, 2, 0, 0, 0, 0, time.UTC).Unix(), time.Date(9999, 12, 30, 0, 0, 0, 0, time.UTC).Unix()
	for range 2000 {
		cases = append(cases, time.Unix(lo+rng.Int64N(hi-lo), rng.Int64N(1e9)).In(loc))
	}
	for _, c := range cases {
		want := c.UTC().Format(Layout)
		if got := string((Time{c}).AppendTo([]byte("x"))); got != "x"+want {
			t.Fatalf("AppendTo(%v) = %q, want %q", c, got, "x"+want)
		}
		if got, _ := (Time{c}).MarshalJSON(); string(got) != `"`+want+`"` {
			t.Fatalf("MarshalJSON(%v) = %s, want %q", c, got, want)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	at := New(time.Date(2026, 12, 4, 19, 41, 54, 123_000_000, time.UTC))
	buf := make([]byte, 0, 64)
	b.Run("AppendFormat", func(b *testing.B) {
		for b.Loop() {
			buf = at.UTC().AppendFormat(buf[:0], Layout)
		}
	})
	b.Run("AppendTo", func(b *testing.B) {
		for b.Loop() {
			buf = at.AppendTo(buf[:0])
		}
	})
}
