package vulngate

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// stream is a govulncheck -format json output in its real shape: indented objects one after
// another, osv entries for every advisory looked at, findings for those that apply.
const stream = `{
  "config": {"protocol_version": "v1.0.0", "scanner_name": "govulncheck"}
}
{
  "osv": {"id": "GO-2026-0001", "summary": "Panic in Parse", "aliases": ["CVE-2026-1"]}
}
{
  "osv": {"id": "GO-2026-0002", "summary": "Imported only"}
}
{
  "osv": {"id": "GO-2026-0003", "summary": "Looked at, no finding"}
}
{
  "finding": {"osv": "GO-2026-0001", "fixed_version": "v1.2.0",
    "trace": [{"module": "example.com/m", "version": "v1.1.0", "package": "example.com/m/p"}]}
}
{
  "finding": {"osv": "GO-2026-0001", "fixed_version": "v1.2.0",
    "trace": [{"module": "example.com/m", "version": "v1.1.0", "package": "example.com/m/p", "function": "Parse"},
              {"module": "github.com/ccbackend/ccbackend", "package": "github.com/ccbackend/ccbackend/internal/x", "function": "Run"}]}
}
{
  "finding": {"osv": "GO-2026-0001", "fixed_version": "v1.2.0",
    "trace": [{"module": "example.com/m", "version": "v1.1.0", "package": "example.com/m/p", "function": "Get", "receiver": "*Client"}]}
}
{
  "finding": {"osv": "GO-2026-0001", "fixed_version": "v1.2.0",
    "trace": [{"module": "example.com/m", "version": "v1.1.0", "package": "example.com/m/p", "function": "Parse"}]}
}
{
  "finding": {"osv": "GO-2026-0002",
    "trace": [{"module": "example.com/n", "version": "v0.1.0", "package": "example.com/n"}]}
}
{
  "finding": {"osv": "GO-2026-0004", "trace": [{"module": "example.com/o", "version": "v2.0.0"}]}
}
`

var today = time.Date(2026, 12, 2, 15, 4, 5, 0, time.UTC)

func TestReadFindingsKeepsTheClosestLevelPerAdvisory(t *testing.T) {
	got, err := ReadFindings(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d advisories, want 3 (one without a finding left out): %+v", len(got), got)
	}
	a := got[0]
	if a.ID != "GO-2026-0001" || a.Level != LevelSymbol || a.Summary != "Panic in Parse" || a.FixedVersion != "v1.2.0" ||
		a.Module != "example.com/m" || a.Version != "v1.1.0" || len(a.Aliases) != 1 {
		t.Errorf("first advisory = %+v", a)
	}
	if want := "example.com/m/p.Client.Get,example.com/m/p.Parse"; strings.Join(a.Symbols, ",") != want {
		t.Errorf("symbols = %v, want %s (deduplicated, receiver without *, sorted)", a.Symbols, want)
	}
	if got[1].ID != "GO-2026-0002" || got[1].Level != LevelPackage || len(got[1].Symbols) != 0 {
		t.Errorf("second advisory = %+v, want package level", got[1])
	}
	if got[2].ID != "GO-2026-0004" || got[2].Level != LevelModule || got[2].Summary != "" {
		t.Errorf("third advisory = %+v, want module level without summary", got[2])
	}
}

func TestReadFindingsRejectsBrokenOutput(t *testing.T) {
	for name, in := range map[string]string{
		"not json":        `{"finding": `,
		"finding no osv":  `{"finding": {"trace": [{"module": "m"}]}}`,
		"finding no path": `{"finding": {"osv": "GO-2026-0001", "trace": []}}`,
	} {
		if _, err := ReadFindings(strings.NewReader(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	got, err := ReadFindings(strings.NewReader(""))
	if err != nil || len(got) != 0 {
		t.Errorf("empty output: %v, %v", got, err)
	}
}

func TestParseAllowlistAcceptsValidEntries(t *testing.T) {
	list, err := ParseAllowlist(strings.NewReader(`
# comment
accepted:
  - id: GO-2026-0001
    reason: not reachable with our configuration
    review_by: 2026-12-02
  - id: GO-2026-12345
    reason: no fixed release yet
    review_by: 2027-12-02
`), today)
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Entries) != 2 || list.Entries["GO-2026-0001"].Reason == "" {
		t.Errorf("entries = %+v", list.Entries)
	}
	for _, empty := range []string{"", "accepted: []\n", "# nothing accepted\n"} {
		list, err := ParseAllowlist(strings.NewReader(empty), today)
		if err != nil || len(list.Entries) != 0 {
			t.Errorf("%q: %v, %v", empty, list, err)
		}
	}
}

func TestParseAllowlistRejectsIncompleteOrStaleEntries(t *testing.T) {
	cases := map[string]struct{ yaml, want string }{
		"bad id":       {"accepted: [{id: CVE-2026-1, reason: r, review_by: 2027-01-01}]", "advisory id"},
		"no reason":    {"accepted: [{id: GO-2026-0001, reason: '  ', review_by: 2027-01-01}]", "reason is empty"},
		"no date":      {"accepted: [{id: GO-2026-0001, reason: r}]", "YYYY-MM-DD"},
		"bad date":     {"accepted: [{id: GO-2026-0001, reason: r, review_by: 01/02/2027}]", "YYYY-MM-DD"},
		"expired":      {"accepted: [{id: GO-2026-0001, reason: r, review_by: 2026-12-01}]", "has passed"},
		"too far":      {"accepted: [{id: GO-2026-0001, reason: r, review_by: 2028-01-01}]", "more than a year"},
		"duplicate":    {"accepted: [{id: GO-2026-0001, reason: r, review_by: 2027-01-01}, {id: GO-2026-0001, reason: s, review_by: 2027-01-01}]", "listed twice"},
		"unknown key":  {"accepted: [{id: GO-2026-0001, reasons: r, review_by: 2027-01-01}]", "reasons"},
		"wrong shape":  {"accepted: {id: GO-2026-0001}", "allowlist"},
		"unknown root": {"ignored: []", "ignored"},
	}
	for name, c := range cases {
		_, err := ParseAllowlist(strings.NewReader(c.yaml), today)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
	}
	// Every problem is reported at once.
	_, err := ParseAllowlist(strings.NewReader("accepted: [{id: x, reason: '', review_by: 2020-01-01}]"), today)
	if err == nil || strings.Count(err.Error(), "accepted[0]") != 3 {
		t.Errorf("error %v, want three problems of accepted[0]", err)
	}
}

func TestEvaluateFailsOnlyOnUnacceptedReachableAdvisories(t *testing.T) {
	found, err := ReadFindings(strings.NewReader(stream))
	if err != nil {
		t.Fatal(err)
	}
	r := Evaluate(found, nil)
	if r.Passed() || len(r.Reachable) != 1 || r.Reachable[0].ID != "GO-2026-0001" || len(r.NotReached) != 2 {
		t.Fatalf("without allowlist: %+v", r)
	}
	list, err := ParseAllowlist(strings.NewReader(`accepted:
  - {id: GO-2026-0001, reason: why, review_by: 2027-01-01}
  - {id: GO-2026-0002, reason: imported only, review_by: 2027-01-01}
  - {id: GO-2026-9999, reason: fixed since, review_by: 2027-01-01}
`), today)
	if err != nil {
		t.Fatal(err)
	}
	r = Evaluate(found, list)
	if !r.Passed() || len(r.Accepted) != 1 || len(r.NotReached) != 2 {
		t.Fatalf("with allowlist: %+v", r)
	}
	if len(r.UnusedEntry) != 2 || r.UnusedEntry[0].ID != "GO-2026-0002" || r.UnusedEntry[1].ID != "GO-2026-9999" {
		t.Errorf("unused entries = %+v, want the imported-only and the absent one", r.UnusedEntry)
	}
}

func TestWriteNamesWhatFailsAndWhatIsAccepted(t *testing.T) {
	many := Advisory{ID: "GO-2026-0007", Module: "stdlib", Version: "v1.27.3", Level: LevelSymbol,
		Symbols: []string{"a.A", "a.B", "a.C", "a.D", "a.E", "a.F"}}
	var b bytes.Buffer
	Result{Reachable: []Advisory{many}}.Write(&b)
	out := b.String()
	for _, want := range []string{"FAIL: reachable, not in the allowlist (1)", "GO-2026-0007  stdlib@v1.27.3 (fixed: none yet)",
		"reaches a.A, a.B, a.C, a.D and 2 more", "vulncheck: FAILED: 1 reachable"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	Result{
		Accepted:    []Advisory{{ID: "GO-2026-0001", FixedVersion: "v1.2.0", Level: LevelSymbol, Symbols: []string{"p.F"}}},
		NotReached:  []Advisory{{ID: "GO-2026-0002", Level: LevelPackage}, {ID: "GO-2026-0004", Level: LevelModule}},
		UnusedEntry: []Entry{{ID: "GO-2026-9999"}},
	}.Write(&b)
	out = b.String()
	for _, want := range []string{"accepted by the allowlist (reachable) (1)", "(fixed: v1.2.0)", "reaches p.F", "imported", "required",
		"entry GO-2026-9999 is no longer needed", "vulncheck: ok (1 reachable, all accepted; 2 not reached)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("a passing result printed FAIL:\n%s", out)
	}
}
