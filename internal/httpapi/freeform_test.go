package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// deep nests a value depth objects deep under key "a".
func deep(depth int) map[string]any {
	m := map[string]any{}
	for range depth - 1 {
		m = map[string]any{"a": m}
	}
	return m
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func manyKeys(n int) map[string]any {
	m := map[string]any{}
	for i := range n {
		m[fmt.Sprintf("k%d", i)] = i
	}
	return m
}

// TestFreeFormJSONIsBounded: settings, metadata and preferences larger, deeper or wider than the
// contract says are a 400 pointing at the member, and nothing is stored.
func TestFreeFormJSONIsBounded(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "freeform@example.com")
	project := syncCreate(t, s, u.Bearer(), "/v1/projects", map[string]any{"name": "p"})
	session := syncCreate(t, s, u.Bearer(), "/v1/sessions", map[string]any{"title": "s"})
	big := strings.Repeat("x", 2<<20) // twice the content limit, far past the metadata one
	cases := []struct {
		name, method, path string
		body               map[string]any
		pointer            string
	}{
		{"large metadata", http.MethodPost, "/v1/sessions/" + session + "/messages",
			map[string]any{"role": "user", "content": "hi", "metadata": map[string]any{"blob": big}}, "/metadata"},
		{"deep metadata", http.MethodPost, "/v1/sessions/" + session + "/messages",
			map[string]any{"role": "user", "content": "hi", "metadata": deep(9)}, "/metadata/a/a/a/a/a/a/a/a"},
		{"wide metadata", http.MethodPost, "/v1/sessions/" + session + "/messages",
			map[string]any{"role": "user", "content": "hi", "metadata": map[string]any{"x": manyKeys(65)}}, "/metadata/x"},
		{"large settings", http.MethodPost, "/v1/projects", map[string]any{"name": "q", "settings": map[string]any{"blob": big}}, "/settings"},
		{"deep settings (PUT)", http.MethodPut, "/v1/projects/" + project, map[string]any{"name": "q", "settings": deep(9)}, "/settings/a/a/a/a/a/a/a/a"},
		{"wide settings (PATCH)", http.MethodPatch, "/v1/projects/" + project, map[string]any{"settings": map[string]any{"x": manyKeys(257)}}, "/settings/x"},
		{"too many settings", http.MethodPost, "/v1/projects", map[string]any{"name": "q", "settings": manyKeys(257)}, "/settings"},
		{"deep preferences", http.MethodPatch, "/v1/auth/profile", map[string]any{"preferences": deep(9)}, "/preferences/a/a/a/a/a/a/a/a"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, raw := s.Do(t, c.method, c.path, mustJSON(t, c.body), u.Bearer())
			p := decodeProblem(t, resp, raw, http.StatusBadRequest)
			if firstPointer(p) != c.pointer {
				t.Errorf("errors = %+v, want pointer %s", p.Errors, c.pointer)
			}
		})
	}
	// Nothing was stored: the session has no messages, the project keeps its settings.
	resp, raw := s.Do(t, http.MethodGet, "/v1/sessions/"+session+"/messages", nil, u.Bearer())
	var msgs api.MessageList
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &msgs) != nil || len(msgs.Data) != 0 {
		t.Errorf("messages after refusals = %d %s", resp.StatusCode, raw)
	}
	// At the limits is accepted.
	at := map[string]any{"role": "user", "content": "hi", "metadata": map[string]any{"blob": strings.Repeat("x", 15<<10), "d": deep(7)}}
	if resp, raw := s.Do(t, http.MethodPost, "/v1/sessions/"+session+"/messages", mustJSON(t, at), u.Bearer()); resp.StatusCode != http.StatusCreated {
		t.Errorf("metadata at the limits = %d %s", resp.StatusCode, raw)
	}
}

// TestListPagesStopAtTheByteBudget: with a small page budget a page of large messages ends
// early, and following next_cursor still yields every message once, in order.
func TestListPagesStopAtTheByteBudget(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.MaxPageBytes = 100 << 10 }))
	u := s.Register(t, "budget@example.com")
	session := syncCreate(t, s, u.Bearer(), "/v1/sessions", map[string]any{"title": "s"})
	const n = 12
	for i := range n {
		syncAddMessage(t, s, u.Bearer(), session, "user", fmt.Sprintf("%03d %s", i, strings.Repeat("y", 30<<10)))
	}
	var seqs []int64
	cursor, pages := "", 0
	for ; pages < n+1; pages++ {
		path := "/v1/sessions/" + session + "/messages?limit=200"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		resp, raw := s.Do(t, http.MethodGet, path, nil, u.Bearer())
		var pg api.MessageList
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &pg) != nil {
			t.Fatalf("page %d = %d", pages, resp.StatusCode)
		}
		if len(raw) > 200<<10 {
			t.Errorf("page %d is %d bytes, past the 100 KiB budget", pages, len(raw))
		}
		for _, m := range pg.Data {
			seqs = append(seqs, m.Seq)
		}
		if pg.HasMore != (pg.NextCursor != nil) {
			t.Fatalf("page %d: has_more %v, next_cursor %v", pages, pg.HasMore, pg.NextCursor)
		}
		if !pg.HasMore {
			break
		}
		cursor = *pg.NextCursor
	}
	if pages < 3 {
		t.Errorf("%d large messages came in %d pages; the budget should cut them into more", n, pages+1)
	}
	if len(seqs) != n {
		t.Fatalf("saw %d messages, want %d: %v", len(seqs), n, seqs)
	}
	for i := 1; i < n; i++ {
		if seqs[i] != seqs[i-1]+1 {
			t.Errorf("messages out of order or repeated: %v", seqs)
		}
	}
}
