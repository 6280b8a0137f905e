package analytics

import (
	"bytes"
	"encoding/csv"
	"strconv"

	"github.com/google/uuid"
)

// CSV renders the groups (one row each, in key order; the key column is named after the
// grouping) for spreadsheets. Cost is in US dollars.
func (u Usage) CSV() []byte {
	rows := [][]string{{u.GroupBy, "requests", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost", "errors"}}
	for _, g := range u.Groups {
		rows = append(rows, []string{g.Key, itoa(g.Requests), itoa(g.InputTokens), itoa(g.OutputTokens), itoa(g.CacheReadTokens),
			itoa(g.CacheWriteTokens), ftoa(g.Cost), itoa(g.Errors)})
	}
	return writeCSV(rows)
}

// CSV renders one row per bucket: its start (RFC 3339 UTC) and the metric's value.
func (s Series) CSV() []byte {
	rows := [][]string{{"start", s.Metric}}
	for _, p := range s.Points {
		rows = append(rows, []string{p.Start.UTC().Format("2006-01-02T15:04:05.000Z"), ftoa(p.Value)})
	}
	return writeCSV(rows)
}

// CSV renders the three rankings one after the other, a kind column telling them apart.
func (t Top) CSV() []byte {
	rows := [][]string{{"kind", "key", "requests", "tokens", "cost"}}
	for _, part := range []struct {
		kind   string
		groups []Group
	}{{"user", t.Users}, {"api_key", t.APIKeys}, {"model", t.Models}} {
		for _, g := range part.groups {
			rows = append(rows, []string{part.kind, g.Key, itoa(g.Requests), itoa(g.Tokens()), ftoa(g.Cost)})
		}
	}
	return writeCSV(rows)
}

// EventsCSV renders one row per event in the order given, under the JSON member names; absent
// values are empty cells and cost is in US dollars.
func EventsCSV(events []Event) []byte {
	rows := [][]string{{"id", "created_at", "model", "provider", "status", "api_key_id", "session_id", "project_id",
		"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost", "stop_reason", "ttft_ms", "duration_ms"}}
	for _, e := range events {
		rows = append(rows, []string{itoa(e.ID), e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000Z"), e.Model, e.Provider, e.Status,
			optional(e.APIKeyID, uuid.UUID.String), optional(e.SessionID, uuid.UUID.String), optional(e.ProjectID, uuid.UUID.String),
			itoa(e.InputTokens), itoa(e.OutputTokens), itoa(e.CacheReadTokens), itoa(e.CacheWriteTokens), ftoa(e.Cost),
			optional(e.StopReason, func(s string) string { return s }), optional(e.TTFTMs, ftoa), ftoa(e.DurationMs)})
	}
	return writeCSV(rows)
}

// optional renders a value that may be absent; absent is the empty cell.
func optional[T any](v *T, render func(T) string) string {
	if v == nil {
		return ""
	}
	return render(*v)
}

func writeCSV(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.WriteAll(rows) // a bytes.Buffer does not fail
	return b.Bytes()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
