package httpapi_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// usageFixture seeds events for two users over the last three days: alice's in a project and
// with an API key or without, bob's larger.
type usageFixture struct {
	s            *testutil.Server
	alice, bob   testutil.Session
	admin        testutil.Session
	project, key uuid.UUID
	from, to     time.Time
}

func newUsageFixture(t *testing.T) usageFixture {
	t.Helper()
	s := testutil.NewServer(t)
	f := usageFixture{s: s, alice: s.Register(t, "alice@example.com"), bob: s.Register(t, "bob@example.com"),
		admin: s.Admin(t, "root@example.com"), project: uuid.New(), key: uuid.New()}
	today := analytics.Day(time.Now())
	f.from, f.to = today.AddDate(0, 0, -3), today.AddDate(0, 0, 1)
	ctx := context.Background()
	// The window may start in last month, which has no partition yet in a fresh database.
	back := analytics.NewMaintainer(s.App.Store, func() time.Time { return f.from }, 1200, s.App.Log)
	if _, err := back.Run(ctx); err != nil {
		t.Fatal(err)
	}
	insert := func(user string, key *uuid.UUID, project *uuid.UUID, model, status string, in, out int64, cost float64, at time.Time) {
		t.Helper()
		if _, err := s.App.Store.Pool.Exec(ctx, `INSERT INTO usage_events (user_id, api_key_id, project_id, model, provider,
			input_tokens, output_tokens, cache_read_tokens, cost, status, duration_ms, created_at)
			VALUES ($1, $2, $3, $4, 'anthropic', $5, $6, 1, $7, $8, 10, $9)`, user, key, project, model, in, out, cost, status, at); err != nil {
			t.Fatal(err)
		}
	}
	for d := 0; d < 3; d++ {
		day := f.from.Add(time.Duration(d)*24*time.Hour + 90*time.Minute)
		insert(f.alice.UserID, &f.key, &f.project, "claude-sonnet-4-5", "completed", 100, 10, 0.5, day)
		insert(f.alice.UserID, nil, nil, "claude-haiku-4-5", "failed", 7, 0, 0.125, day.Add(time.Hour))
		insert(f.bob.UserID, nil, nil, "claude-opus-4-1", "completed", 1000, 100, 4, day.Add(2*time.Hour))
	}
	insert(f.alice.UserID, nil, &f.project, "claude-sonnet-4-5", "completed", 1, 1, 0.25, today.Add(time.Minute)) // today: raw only
	return f
}

func (f usageFixture) query(extra string) string {
	return "from=" + url.QueryEscape(f.from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(f.to.Format(time.RFC3339)) + extra
}

func (f usageFixture) get(t *testing.T, path string, who testutil.Session, accept string) (*http.Response, []byte) {
	t.Helper()
	h := who.Bearer()
	if accept != "" {
		h["Accept"] = accept
	}
	return f.s.Do(t, http.MethodGet, path, nil, h)
}

// readCSV parses a CSV answer (its content type checked) into rows.
func readCSV(t *testing.T, resp *http.Response, body []byte) [][]string {
	t.Helper()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv" {
		t.Fatalf("CSV answer %d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	return rows
}

// csvMatchesReport checks that the CSV rows are the report's groups, in order.
func csvMatchesReport(t *testing.T, rows [][]string, r api.UsageReport) {
	t.Helper()
	if len(rows) != len(r.Groups)+1 || rows[0][0] != string(r.GroupBy) {
		t.Fatalf("CSV has %d rows (header %v) for %d groups", len(rows), rows[0], len(r.Groups))
	}
	for i, g := range r.Groups {
		key := ""
		if g.Key != nil {
			key = *g.Key
		}
		u := g.Usage
		want := []string{key, strconv.FormatInt(u.Requests, 10), strconv.FormatInt(u.InputTokens, 10), strconv.FormatInt(u.OutputTokens, 10),
			strconv.FormatInt(u.CacheReadTokens, 10), strconv.FormatInt(u.CacheWriteTokens, 10), strconv.FormatFloat(u.Cost, 'f', -1, 64),
			strconv.FormatInt(u.Errors, 10)}
		for j := range want {
			if rows[i+1][j] != want[j] {
				t.Fatalf("CSV row %d = %v, JSON group %v", i+1, rows[i+1], want)
			}
		}
	}
}

// The caller sees only their own usage, by day, model and API key, filtered by project, the same
// before and after the days are rolled up, and as CSV.
func TestUsageOwnUsage(t *testing.T) {
	t.Parallel()
	f := newUsageFixture(t)
	report := func(extra string) api.UsageReport {
		resp, body := f.get(t, "/v1/usage?"+f.query(extra), f.alice, "")
		return decodeInto[api.UsageReport](t, resp, body, http.StatusOK)
	}
	before := map[string]api.UsageReport{}
	for _, g := range []string{"&group_by=day", "&group_by=model", "&group_by=api_key", "&group_by=model&project_id=" + f.project.String()} {
		before[g] = report(g)
	}
	byDay := before["&group_by=day"]
	if tt := byDay.Totals; tt.Requests != 7 || tt.InputTokens != 322 || tt.Cost != 2.125 || tt.Errors != 3 || tt.TotalTokens != 322+31+7 {
		t.Fatalf("alice's totals %+v (bob's usage leaked or rows lost)", tt)
	}
	if len(byDay.Groups) != 4 || *byDay.Groups[0].Key != f.from.Format(time.DateOnly) {
		t.Fatalf("days %+v", byDay.Groups)
	}
	keys := before["&group_by=api_key"].Groups
	if len(keys) != 2 || keys[0].Key != nil || *keys[1].Key != f.key.String() || keys[1].Usage.Requests != 3 {
		t.Fatalf("api key groups %+v", keys)
	}
	if p := before["&group_by=model&project_id="+f.project.String()]; p.Totals.Requests != 4 || len(p.Groups) != 1 {
		t.Fatalf("project filter: %+v", p)
	}

	rep, err := f.s.App.UsageMaintainer.Run(context.Background())
	if err != nil || rep.RolledDays < 3 {
		t.Fatalf("rollup: %+v %v", rep, err)
	}
	for g, want := range before {
		if got := report(g); !equalReports(got, want) {
			t.Errorf("%s changed once rolled up:\n got %+v\nwant %+v", g, got, want)
		}
	}
	resp, body := f.get(t, "/v1/usage?"+f.query("&group_by=model"), f.alice, "text/csv")
	csvMatchesReport(t, readCSV(t, resp, body), before["&group_by=model"])
}

func equalReports(a, b api.UsageReport) bool {
	if a.Totals != b.Totals || len(a.Groups) != len(b.Groups) {
		return false
	}
	for i := range a.Groups {
		if (a.Groups[i].Key == nil) != (b.Groups[i].Key == nil) || (a.Groups[i].Key != nil && *a.Groups[i].Key != *b.Groups[i].Key) ||
			a.Groups[i].Usage != b.Groups[i].Usage {
			return false
		}
	}
	return true
}

// The caller's events page newest first, theirs only.
func TestUsageEvents(t *testing.T) {
	t.Parallel()
	f := newUsageFixture(t)
	var seen []api.UsageEvent
	path := "/v1/usage/events?limit=3"
	for path != "" {
		resp, body := f.get(t, path, f.alice, "")
		l := decodeInto[api.UsageEventList](t, resp, body, http.StatusOK)
		seen = append(seen, l.Data...)
		path = ""
		if l.HasMore {
			path = "/v1/usage/events?limit=3&cursor=" + url.QueryEscape(*l.NextCursor)
		}
	}
	if len(seen) != 7 {
		t.Fatalf("%d events, want alice's 7", len(seen))
	}
	for i := 1; i < len(seen); i++ {
		if !seen[i].CreatedAt.Before(seen[i-1].CreatedAt.Time) {
			t.Fatalf("events not newest first: %v then %v", seen[i-1].CreatedAt, seen[i].CreatedAt)
		}
	}
	if seen[0].ProjectId == nil || *seen[0].ProjectId != f.project || seen[0].Cost != 0.25 {
		t.Fatalf("newest event %+v", seen[0])
	}
	csvEventsMatch(t, f, seen)
}

// csvEventsMatch pages through the CSV form (the cursor in X-Next-Cursor) and checks it holds the
// same events, in the same order, as the JSON pages.
func csvEventsMatch(t *testing.T, f usageFixture, want []api.UsageEvent) {
	t.Helper()
	var rows [][]string
	path, pages := "/v1/usage/events?limit=3", 0
	for path != "" {
		resp, body := f.get(t, path, f.alice, "text/csv")
		page := readCSV(t, resp, body)
		if page[0][0] != "id" || page[0][12] != "cost" || page[0][7] != "project_id" {
			t.Fatalf("CSV header %v", page[0])
		}
		rows, pages, path = append(rows, page[1:]...), pages+1, ""
		if next := resp.Header.Get("X-Next-Cursor"); next != "" {
			path = "/v1/usage/events?limit=3&cursor=" + url.QueryEscape(next)
		}
	}
	if pages != 3 || len(rows) != len(want) {
		t.Fatalf("CSV: %d rows over %d pages, want %d over 3", len(rows), pages, len(want))
	}
	for i, e := range want {
		r := rows[i]
		if r[0] != strconv.FormatInt(e.Id, 10) || r[1] != e.CreatedAt.Format("2006-01-02T15:04:05.000Z") || r[2] != e.Model ||
			r[12] != strconv.FormatFloat(e.Cost, 'f', -1, 64) {
			t.Fatalf("CSV row %d = %v, JSON %+v", i, r, e)
		}
	}
	if rows[0][7] != f.project.String() {
		t.Fatalf("newest CSV row's project_id %q, want %s", rows[0][7], f.project)
	}
}

// Admin analytics: a plain user gets 403; windows and group_by are validated with a pointer; the
// groups, series and rankings add up over everyone; CSV matches the JSON.
func TestAnalyticsOperations(t *testing.T) {
	t.Parallel()
	f := newUsageFixture(t)
	for _, p := range []string{"/v1/analytics/usage", "/v1/analytics/timeseries", "/v1/analytics/top"} {
		resp, body := f.get(t, p+"?"+f.query(""), f.alice, "")
		decodeProblem(t, resp, body, http.StatusForbidden)
	}
	bad := []struct{ path, pointer string }{
		{"/v1/analytics/usage?" + f.query("&group_by=hour"), "group_by"},
		{"/v1/usage?" + f.query("&group_by=user"), "group_by"},
		{"/v1/analytics/usage?from=2026-01-02T00:00:00Z&to=2026-01-02T00:00:00Z", "to"},
		{"/v1/analytics/timeseries?from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "from"},
		{"/v1/analytics/timeseries?interval=hour&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z", "interval"},
		{"/v1/usage?from=2026-01-03T00:00:00Z&to=2026-01-02T00:00:00Z", "to"},
	}
	for _, b := range bad {
		resp, body := f.get(t, b.path, f.admin, "")
		if p := decodeProblem(t, resp, body, http.StatusBadRequest); firstPointer(p) != b.pointer {
			t.Errorf("%s: pointer %q, want %q", b.path, firstPointer(p), b.pointer)
		}
	}

	resp, body := f.get(t, "/v1/analytics/usage?"+f.query("&group_by=user"), f.admin, "")
	users := decodeInto[api.UsageReport](t, resp, body, http.StatusOK)
	if users.Totals.Requests != 10 || users.Totals.Cost != 14.125 || len(users.Groups) != 2 {
		t.Fatalf("usage by user %+v", users)
	}
	resp, body = f.get(t, "/v1/analytics/usage?"+f.query("&group_by=model&model=claude-opus-4-1"), f.admin, "")
	if opus := decodeInto[api.UsageReport](t, resp, body, http.StatusOK); opus.Totals.Requests != 3 || len(opus.Groups) != 1 {
		t.Fatalf("model filter %+v", opus)
	}
	resp, body = f.get(t, "/v1/analytics/usage?"+f.query("&group_by=week"), f.admin, "text/csv")
	rows := readCSV(t, resp, body)
	resp, body = f.get(t, "/v1/analytics/usage?"+f.query("&group_by=week"), f.admin, "")
	csvMatchesReport(t, rows, decodeInto[api.UsageReport](t, resp, body, http.StatusOK))

	// Hours without usage are zeros; the series sums to the totals.
	resp, body = f.get(t, "/v1/analytics/timeseries?"+f.query("&metric=cost&interval=hour"), f.admin, "")
	series := decodeInto[api.UsageTimeseries](t, resp, body, http.StatusOK)
	sum, zeros := 0.0, 0
	for _, p := range series.Points {
		sum += p.Value
		if p.Value == 0 {
			zeros++
		}
	}
	if len(series.Points) != 4*24 || sum != 14.125 || zeros != 4*24-10 {
		t.Fatalf("hourly cost: %d points, sum %v, %d zeros", len(series.Points), sum, zeros)
	}
	resp, body = f.get(t, "/v1/analytics/timeseries?"+f.query("&metric=active_users&interval=hour"), f.admin, "")
	active := 0.0
	for _, p := range decodeInto[api.UsageTimeseries](t, resp, body, http.StatusOK).Points {
		active += p.Value
	}
	if active != 10 { // each event has an hour of its own
		t.Fatalf("hourly active users sum to %v, want 10", active)
	}
	resp, body = f.get(t, "/v1/analytics/timeseries?"+f.query("&metric=active_users"), f.admin, "text/csv")
	if rows := readCSV(t, resp, body); len(rows) != 5 || rows[1][1] != "2" || rows[4][1] != "1" {
		t.Fatalf("daily active users CSV %v", rows)
	}

	resp, body = f.get(t, "/v1/analytics/top?"+f.query("&by=cost&limit=1"), f.admin, "")
	top := decodeInto[api.UsageTop](t, resp, body, http.StatusOK)
	if len(top.Users) != 1 || top.Users[0].Key != f.bob.UserID || top.Users[0].Cost != 12 ||
		len(top.ApiKeys) != 1 || top.ApiKeys[0].Key != f.key.String() || len(top.Models) != 1 || top.Models[0].Key != "claude-opus-4-1" {
		t.Fatalf("top %+v", top)
	}
	resp, body = f.get(t, "/v1/analytics/top?"+f.query("&by=tokens&limit=5"), f.admin, "text/csv")
	if rows := readCSV(t, resp, body); len(rows) != 1+2+1+3 || rows[1][0] != "user" || rows[1][1] != f.bob.UserID {
		t.Fatalf("top CSV %v", rows)
	}
}
