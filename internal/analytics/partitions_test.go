package analytics

import (
	"testing"
	"time"
)

func TestMonthsAhead(t *testing.T) {
	month := func(y int, m time.Month) Partition {
		from := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		return Partition{From: from, To: from.AddDate(0, 1, 0)}
	}
	now := time.Date(2026, 12, 15, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		parts []Partition
		want  int
	}{
		{"none", nil, -1},
		{"past only", []Partition{month(2026, 11)}, -1},
		{"current only", []Partition{month(2026, 12)}, 0},
		{"three ahead across the year", []Partition{month(2026, 12), month(2027, 1), month(2027, 2), month(2027, 3)}, 3},
		{"gap stops the count", []Partition{month(2026, 12), month(2027, 1), month(2027, 3)}, 1},
		{"detach pending is no cover", []Partition{month(2026, 12), {From: month(2027, 1).From, To: month(2027, 1).To, DetachPending: true}}, 0},
	}
	for _, c := range cases {
		if got := MonthsAhead(c.parts, now); got != c.want {
			t.Errorf("%s: MonthsAhead = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestParseBound(t *testing.T) {
	from, to, err := parseBound("FOR VALUES FROM ('2026-01-01 01:00:00+01') TO ('2026-02-01 05:30:00+05:30')")
	if err != nil {
		t.Fatal(err)
	}
	if !from.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !to.Equal(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("bounds %v %v", from, to)
	}
	if _, _, err := parseBound("DEFAULT"); err == nil {
		t.Fatal("a DEFAULT partition parsed")
	}
}
