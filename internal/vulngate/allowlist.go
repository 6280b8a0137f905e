package vulngate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MaxReviewHorizon bounds how far ahead a review date may be set, so that an entry cannot be
// parked for good: at the latest a year from now someone looks at it again.
const MaxReviewHorizon = 366 * 24 * time.Hour

// Entry is one accepted advisory of the allowlist file.
type Entry struct {
	ID     string `yaml:"id"`
	Reason string `yaml:"reason"`
	// ReviewBy is the last day (YYYY-MM-DD, UTC) on which the entry is accepted.
	ReviewBy string `yaml:"review_by"`

	reviewBy time.Time
}

// Allowlist is the parsed allowlist file: entries keyed by advisory id.
type Allowlist struct {
	Entries map[string]Entry
}

type allowlistFile struct {
	Accepted []Entry `yaml:"accepted"`
}

var advisoryID = regexp.MustCompile(`^GO-[0-9]{4}-[0-9]{4,}$`)

// ParseAllowlist reads the allowlist file and checks every entry against today (UTC): an entry
// needs a govulncheck advisory id (GO-YYYY-NNNN), a reason, and a review date that is neither past
// nor more than MaxReviewHorizon ahead. Unknown keys and duplicate ids are errors, so a typo
// cannot silently drop a field. All problems are reported together.
func ParseAllowlist(r io.Reader, today time.Time) (*Allowlist, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var f allowlistFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("allowlist: %w", err)
	}
	day := truncateDay(today)
	list := &Allowlist{Entries: map[string]Entry{}}
	var problems []string
	for i, e := range f.Accepted {
		where := fmt.Sprintf("accepted[%d] (%s)", i, e.ID)
		if !advisoryID.MatchString(e.ID) {
			problems = append(problems, where+": id must be a govulncheck advisory id like GO-2026-1234")
		}
		if strings.TrimSpace(e.Reason) == "" {
			problems = append(problems, where+": reason is empty (why it does not apply or cannot be fixed yet)")
		}
		d, err := time.Parse(time.DateOnly, e.ReviewBy)
		switch {
		case err != nil:
			problems = append(problems, where+": review_by must be a date YYYY-MM-DD")
		case d.Before(day):
			problems = append(problems, fmt.Sprintf("%s: review date %s has passed: review the entry (fix, or renew with a reason)", where, e.ReviewBy))
		case d.Sub(day) > MaxReviewHorizon:
			problems = append(problems, fmt.Sprintf("%s: review date %s is more than a year ahead", where, e.ReviewBy))
		}
		if _, dup := list.Entries[e.ID]; dup {
			problems = append(problems, where+": listed twice")
		}
		e.reviewBy = d
		list.Entries[e.ID] = e
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("allowlist:\n  %s", strings.Join(problems, "\n  "))
	}
	return list, nil
}

func truncateDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
