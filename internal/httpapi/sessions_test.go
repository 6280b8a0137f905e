package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestMessagesRoundTripByteForByte(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "bytes@example.com")
	sess := newSession(t, s, u, `{"title":"round trip"}`)
	texts := []string{
		`'; DROP TABLE messages; -- " \ %_ $1 ::text`,
		"emoji 🧑‍💻🏳️‍🌈 and RTL שלום and combining é and zero-width \u200b\u2028\u2029",
		"tabs\tand\nnewlines\r\n and \u007f and surrogates 𝄞",
		strings.Repeat("long ", 20000),
	}
	for _, text := range texts {
		meta := text // metadata is bounded (16 KiB), content is not: the long text goes in content only
		if len(meta) > 1000 {
			meta = meta[:1000]
		}
		b, _ := json.Marshal(map[string]any{"role": "user", "content": text, "metadata": map[string]any{"k": meta}})
		m := addMessage(t, s, u, sess.Id.String(), string(b))
		var got string
		if err := json.Unmarshal(rawContent(t, m), &got); err != nil || got != text {
			t.Errorf("content changed: %q", truncateString(got))
		}
	}
	parts := `[{"type":"text","text":"look at this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}}]`
	m := addMessage(t, s, u, sess.Id.String(), `{"role":"user","content":`+parts+`}`)
	var gotParts, wantParts any
	_ = json.Unmarshal(rawContent(t, m), &gotParts)
	_ = json.Unmarshal([]byte(parts), &wantParts)
	if fmt.Sprint(gotParts) != fmt.Sprint(wantParts) {
		t.Errorf("content parts changed: %s", rawContent(t, m))
	}
	bad := []struct{ name, body, pointer string }{
		{"NUL", `{"role":"user","content":"a\u0000b"}`, "/content"},
		{"unknown role", `{"role":"robot","content":"x"}`, "/role"},
		{"empty parts", `{"role":"user","content":[]}`, "/content"},
		{"number content", `{"role":"user","content":42}`, "/content"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := s.Do(t, http.MethodPost, "/v1/sessions/"+sess.Id.String()+"/messages", tc.body, u.Bearer())
			p := decodeProblem(t, resp, raw, http.StatusBadRequest)
			if firstPointer(p) != tc.pointer {
				t.Errorf("errors %+v, want pointer %s", p.Errors, tc.pointer)
			}
		})
	}
	small := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) { c.MaxMessageBytes = 100 }))
	v := small.Register(t, "small@example.com")
	ss := newSession(t, small, v, `{}`)
	resp, raw := small.Do(t, http.MethodPost, "/v1/sessions/"+ss.Id.String()+"/messages", fmt.Sprintf(`{"role":"user","content":%q}`, strings.Repeat("x", 200)), v.Bearer())
	decodeProblem(t, resp, raw, http.StatusBadRequest)
}

func truncateString(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func TestMessageListingOrderFiltersAndScrolling(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "scroll@example.com")
	sess := newSession(t, s, u, `{}`)
	var ids []string
	for i := 1; i <= 9; i++ {
		role := "user"
		if i%3 == 0 {
			role = "assistant"
		}
		ids = append(ids, addMessage(t, s, u, sess.Id.String(), fmt.Sprintf(`{"role":%q,"content":"m%d"}`, role, i)).Id.String())
	}
	list := func(query string) api.MessageList {
		resp, raw := s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String()+"/messages"+query, nil, u.Bearer())
		return decodeInto[api.MessageList](t, resp, raw, http.StatusOK)
	}
	seqs := func(p api.MessageList) string {
		var out []string
		for _, m := range p.Data {
			out = append(out, fmt.Sprint(m.Seq))
		}
		return strings.Join(out, ",")
	}
	cases := map[string]string{
		"":                    "1,2,3,4,5,6,7,8,9",
		"?order=desc&limit=3": "9,8,7",
		"?role=assistant":     "3,6,9",
		"?after=" + ids[6]:    "8,9",
		"?before=" + ids[2]:   "1,2",
		"?before=" + ids[6] + "&order=desc&limit=2": "6,5",
		"?after=" + ids[1] + "&before=" + ids[5]:    "3,4,5",
	}
	for q, want := range cases {
		if got := seqs(list(q)); got != want {
			t.Errorf("%q → %s, want %s", q, got, want)
		}
	}
	// Cursor paging in both directions covers everything once.
	for _, order := range []string{"asc", "desc"} {
		var all []string
		cursor := ""
		for i := 0; i < 10; i++ {
			q := "?limit=4&order=" + order
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			p := list(q)
			all = append(all, seqs(p))
			if !p.HasMore {
				break
			}
			cursor = *p.NextCursor
		}
		joined := strings.Join(all, ",")
		if (order == "asc" && joined != "1,2,3,4,5,6,7,8,9") || (order == "desc" && joined != "9,8,7,6,5,4,3,2,1") {
			t.Errorf("%s paging → %s", order, joined)
		}
	}
	other := newSession(t, s, u, `{}`)
	resp, raw := s.Do(t, http.MethodGet, "/v1/sessions/"+other.Id.String()+"/messages?after="+ids[0], nil, u.Bearer())
	p := decodeProblem(t, resp, raw, http.StatusBadRequest)
	if firstPointer(p) != "after" {
		t.Errorf("foreign message id as a bound: %+v", fieldErrors(p))
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String()+"/messages?cursor=abc", nil, u.Bearer())
	decodeProblem(t, resp, raw, http.StatusBadRequest)
}

func TestSessionsFiltersSearchStatsAndTotals(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "sessions@example.com")
	resp, raw := s.Do(t, http.MethodPost, "/v1/projects", `{"name":"P"}`, u.Bearer())
	proj := decodeInto[api.Project](t, resp, raw, http.StatusCreated)
	a := newSession(t, s, u, fmt.Sprintf(`{"project_id":%q,"title":"Refactor the parser","model":"claude-sonnet-4-5"}`, proj.Id.String()))
	b := newSession(t, s, u, `{"title":"Unrelated"}`)
	addMessage(t, s, u, b.Id.String(), `{"role":"user","content":"why does the borrow checker complain"}`)
	addMessage(t, s, u, b.Id.String(), `{"role":"assistant","content":[{"type":"text","text":"lifetimes elided"}]}`)

	list := func(q string) []string {
		resp, raw := s.Do(t, http.MethodGet, "/v1/sessions"+q, nil, u.Bearer())
		p := decodeInto[api.SessionList](t, resp, raw, http.StatusOK)
		var out []string
		for _, x := range p.Data {
			out = append(out, x.Id.String())
		}
		return out
	}
	if got := list("?project_id=" + proj.Id.String()); len(got) != 1 || got[0] != a.Id.String() {
		t.Errorf("project filter → %v", got)
	}
	if got := list("?q=parser"); len(got) != 1 || got[0] != a.Id.String() {
		t.Errorf("title search → %v", got)
	}
	if got := list("?q=borrow%20checker"); len(got) != 1 || got[0] != b.Id.String() {
		t.Errorf("message search → %v", got)
	}
	if got := list("?q=lifetimes"); len(got) != 1 || got[0] != b.Id.String() {
		t.Errorf("content-part search → %v", got)
	}
	if got := list(""); len(got) != 2 || got[0] != b.Id.String() {
		t.Errorf("most recently active first → %v", got)
	}
	// Archive with If-Match from the ETag.
	resp, _ = s.Do(t, http.MethodGet, "/v1/sessions/"+a.Id.String(), nil, u.Bearer())
	resp, raw = s.Do(t, http.MethodPatch, "/v1/sessions/"+a.Id.String(), `{"status":"archived","title":null}`, with(u.Bearer(), "If-Match", resp.Header.Get("ETag")))
	if got := decodeInto[api.Session](t, resp, raw, http.StatusOK); got.Status != "archived" || got.Title != nil {
		t.Errorf("patched %+v", got)
	}
	if got := list("?status=archived"); len(got) != 1 || got[0] != a.Id.String() {
		t.Errorf("status filter → %v", got)
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/sessions?status=deleted", nil, u.Bearer())
	decodeProblem(t, resp, raw, http.StatusBadRequest)

	resp, raw = s.Do(t, http.MethodGet, "/v1/sessions/"+b.Id.String()+"/stats", nil, u.Bearer())
	st := decodeInto[map[string]any](t, resp, raw, http.StatusOK)
	if st["message_count"] != float64(2) || st["first_activity_at"] == nil || st["last_activity_at"] == nil {
		t.Errorf("stats %v", st)
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/sessions/stats", nil, u.Bearer())
	tot := decodeInto[map[string]float64](t, resp, raw, http.StatusOK)
	if tot["active_sessions"] != 1 || tot["total_sessions"] != 2 || tot["total_messages"] != 2 {
		t.Errorf("totals %v", tot)
	}
	if resp, _ := s.Do(t, http.MethodDelete, "/v1/sessions/"+b.Id.String(), nil, u.Bearer()); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/sessions/"+b.Id.String()+"/messages", nil, u.Bearer())
	decodeProblem(t, resp, raw, http.StatusNotFound)
}

func TestSessionTotalsUnderConcurrentInserts(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "concurrent@example.com")
	sess := newSession(t, s, u, `{}`)
	const writers, each = 8, 10
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				resp, raw := s.Do(t, http.MethodPost, "/v1/sessions/"+sess.Id.String()+"/messages", `{"role":"user","content":"x"}`, u.Bearer())
				if resp.StatusCode != http.StatusCreated {
					t.Errorf("append = %d %s", resp.StatusCode, raw)
				}
			}
		}()
	}
	wg.Wait()
	resp, raw := s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String()+"/stats", nil, u.Bearer())
	if st := decodeInto[map[string]any](t, resp, raw, http.StatusOK); st["message_count"] != float64(writers*each) {
		t.Errorf("message_count %v, want %d", st["message_count"], writers*each)
	}
	resp, raw = s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String()+"/messages?limit=200", nil, u.Bearer())
	p := decodeInto[api.MessageList](t, resp, raw, http.StatusOK)
	for i, m := range p.Data {
		if m.Seq != int64(i+1) {
			t.Fatalf("positions are not 1..%d without gaps: message %d has seq %d", writers*each, i, m.Seq)
		}
	}
}
