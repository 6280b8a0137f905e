package apitime

import (
	"encoding/json"
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
