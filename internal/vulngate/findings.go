// Package vulngate turns govulncheck's JSON output into a pass/fail decision against a committed
// allowlist (scripts/vulncheck.sh runs it in make test). govulncheck has no ignore flag and its
// exit status says nothing about which advisories were found, so the decision is made here: every
// advisory whose vulnerable symbol is reachable from this module's code must be listed, with a
// reason and a review date that has not passed.
package vulngate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Level is how close a finding is to this module's code, as govulncheck reports it.
type Level int

const (
	// LevelModule: a vulnerable version of the module is required, its package is not imported.
	LevelModule Level = iota
	// LevelPackage: the vulnerable package is imported, the vulnerable symbol is not reached.
	LevelPackage
	// LevelSymbol: a call path from this module's code reaches the vulnerable symbol.
	LevelSymbol
)

func (l Level) String() string {
	switch l {
	case LevelSymbol:
		return "reachable"
	case LevelPackage:
		return "imported"
	default:
		return "required"
	}
}

// Advisory is one advisory found at its closest level, with what the report needs to explain it.
type Advisory struct {
	ID           string
	Summary      string
	Aliases      []string
	Level        Level
	Module       string
	Version      string // the version in use ("v1.26.8" for the standard library)
	FixedVersion string // "" when no fixed version exists
	Symbols      []string
}

// message is one object of govulncheck's -format json stream; only the parts read here.
type message struct {
	OSV     *osvEntry `json:"osv"`
	Finding *finding  `json:"finding"`
}

type osvEntry struct {
	ID      string   `json:"id"`
	Summary string   `json:"summary"`
	Aliases []string `json:"aliases"`
}

type finding struct {
	OSV          string  `json:"osv"`
	FixedVersion string  `json:"fixed_version"`
	Trace        []frame `json:"trace"`
}

// frame is one step of a finding's trace; the first is the vulnerable symbol (or package/module).
type frame struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Package  string `json:"package"`
	Function string `json:"function"`
	Receiver string `json:"receiver"`
}

// ReadFindings reads govulncheck's JSON stream and returns one Advisory per advisory that has a
// finding, at the closest level any of its findings reached, sorted by ID. Advisories the stream
// describes but that have no finding (govulncheck lists every entry it looked at) are left out.
func ReadFindings(r io.Reader) ([]Advisory, error) {
	dec := json.NewDecoder(r)
	entries := map[string]osvEntry{}
	byID := map[string]*Advisory{}
	symbols := map[string]map[string]bool{}
	for {
		var m message
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("govulncheck output: %w", err)
		}
		if m.OSV != nil {
			entries[m.OSV.ID] = *m.OSV
		}
		if m.Finding == nil {
			continue
		}
		f := m.Finding
		if f.OSV == "" || len(f.Trace) == 0 {
			return nil, fmt.Errorf("govulncheck output: finding without advisory id or trace")
		}
		top := f.Trace[0]
		level := LevelModule
		switch {
		case top.Function != "":
			level = LevelSymbol
		case top.Package != "":
			level = LevelPackage
		}
		a := byID[f.OSV]
		if a == nil {
			a = &Advisory{ID: f.OSV, Module: top.Module, Version: top.Version, FixedVersion: f.FixedVersion, Level: level}
			byID[f.OSV] = a
			symbols[f.OSV] = map[string]bool{}
		}
		if level > a.Level {
			a.Level = level
		}
		if level == LevelSymbol {
			symbols[f.OSV][symbolName(top)] = true
		}
	}
	out := make([]Advisory, 0, len(byID))
	for id, a := range byID {
		if e, ok := entries[id]; ok {
			a.Summary, a.Aliases = e.Summary, e.Aliases
		}
		for s := range symbols[id] {
			a.Symbols = append(a.Symbols, s)
		}
		sort.Strings(a.Symbols)
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// symbolName is "pkg.Func" or "pkg.Recv.Method", the way govulncheck's text output names them.
func symbolName(f frame) string {
	name := f.Function
	if f.Receiver != "" {
		name = strings.TrimPrefix(f.Receiver, "*") + "." + name
	}
	return f.Package + "." + name
}
