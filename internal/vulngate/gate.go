package vulngate

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// Result is the gate's decision.
type Result struct {
	Reachable   []Advisory // symbol-level findings that are not allowlisted: these fail the gate
	Accepted    []Advisory // symbol-level findings the allowlist accepts
	NotReached  []Advisory // package- and module-level findings: reported, never failing
	UnusedEntry []Entry    // allowlist entries no reachable finding needs any more: remove them
}

// Passed reports whether no unaccepted reachable advisory was found.
func (r Result) Passed() bool { return len(r.Reachable) == 0 }

// Evaluate sorts the findings by what the gate does with them.
func Evaluate(found []Advisory, list *Allowlist) Result {
	var r Result
	used := map[string]bool{}
	for _, a := range found {
		switch {
		case a.Level != LevelSymbol:
			r.NotReached = append(r.NotReached, a)
		case hasEntry(list, a.ID):
			used[a.ID] = true
			r.Accepted = append(r.Accepted, a)
		default:
			r.Reachable = append(r.Reachable, a)
		}
	}
	if list != nil {
		for _, id := range slices.Sorted(maps.Keys(list.Entries)) {
			if !used[id] {
				r.UnusedEntry = append(r.UnusedEntry, list.Entries[id])
			}
		}
	}
	return r
}

func hasEntry(list *Allowlist, id string) bool {
	if list == nil {
		return false
	}
	_, ok := list.Entries[id]
	return ok
}

// maxSymbolsShown keeps a widely used package's advisory (net/http) to one readable line.
const maxSymbolsShown = 4

// Write prints the decision for a person reading make test's output.
func (r Result) Write(w io.Writer) {
	section := func(title string, as []Advisory, detail func(Advisory) string) {
		if len(as) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(as))
		for _, a := range as {
			fmt.Fprintf(w, "  %s  %s@%s (fixed: %s)  %s\n", a.ID, a.Module, a.Version, orNone(a.FixedVersion), a.Summary)
			if d := detail(a); d != "" {
				fmt.Fprintf(w, "      %s\n", d)
			}
		}
	}
	symbols := func(a Advisory) string {
		shown := a.Symbols
		more := ""
		if len(shown) > maxSymbolsShown {
			shown, more = shown[:maxSymbolsShown], fmt.Sprintf(" and %d more", len(a.Symbols)-maxSymbolsShown)
		}
		return "reaches " + strings.Join(shown, ", ") + more
	}
	section("FAIL: reachable, not in the allowlist", r.Reachable, symbols)
	section("accepted by the allowlist (reachable)", r.Accepted, symbols)
	section("not reached (imported or required only; not failing)", r.NotReached, func(a Advisory) string { return a.Level.String() })
	for _, e := range r.UnusedEntry {
		fmt.Fprintf(w, "note: allowlist entry %s is no longer needed (no reachable finding): remove it\n", e.ID)
	}
	if r.Passed() {
		fmt.Fprintf(w, "vulncheck: ok (%d reachable, all accepted; %d not reached)\n", len(r.Accepted), len(r.NotReached))
		return
	}
	fmt.Fprintf(w, "vulncheck: FAILED: %d reachable advisories not in the allowlist: fix them (upgrade) or add each with a reason and a review date\n", len(r.Reachable))
}

func orNone(s string) string {
	if s == "" {
		return "none yet"
	}
	return s
}
