package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// syncEntities are the kinds of object the feed carries.
var syncEntities = []string{"project", "session", "message"}

// syncDevice is an offline client of GET /v1/sync: the objects it holds (decoded JSON, by
// entity and id), the cursor it stores, and every seq it has applied.
type syncDevice struct {
	auth    map[string]string
	objects map[string]map[string]any
	cursor  string
	seqs    []int64
	seen    map[string]bool // every id the feed has named, upserted or deleted
}

func newSyncDevice(auth map[string]string) *syncDevice {
	d := &syncDevice{auth: auth, objects: map[string]map[string]any{}, seen: map[string]bool{}}
	for _, e := range syncEntities {
		d.objects[e] = map[string]any{}
	}
	return d
}

// fork copies the device as it stands, so the rest of the feed can be replayed onto it later.
// Objects are replaced, never mutated, so sharing them is safe.
func (d *syncDevice) fork() *syncDevice {
	c := newSyncDevice(d.auth)
	c.cursor, c.seqs = d.cursor, append([]int64(nil), d.seqs...)
	for e, objs := range d.objects {
		for id, o := range objs {
			c.objects[e][id] = o
		}
	}
	for id := range d.seen {
		c.seen[id] = true
	}
	return c
}

// payload is a change's object as the device keeps it: the generated type, as JSON, decoded
// generically (so it compares with the list endpoints' answers). nil for no object.
func payload[T any](v *T) map[string]any {
	if v == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		panic(err)
	}
	return m
}

// apply upserts or deletes one change, checking the feed's invariants on the way.
func (d *syncDevice) apply(c api.SyncChange) error {
	if n := len(d.seqs); n > 0 && c.Seq <= d.seqs[n-1] {
		return fmt.Errorf("seq %d follows %d: not strictly increasing", c.Seq, d.seqs[n-1])
	}
	d.seqs = append(d.seqs, c.Seq)
	entity, id := string(c.Entity), c.Id.String()
	objs, ok := d.objects[entity]
	if !ok {
		return fmt.Errorf("seq %d: unknown entity %q", c.Seq, c.Entity)
	}
	payloads := map[string]map[string]any{"project": payload(c.Project), "session": payload(c.Session), "message": payload(c.Message)}
	for e, p := range payloads {
		if e != entity && p != nil {
			return fmt.Errorf("seq %d: a %s change carries a %s", c.Seq, c.Entity, e)
		}
	}
	d.seen[id] = true
	switch body := payloads[entity]; c.Op {
	case "upsert":
		if body == nil || body["id"] != id {
			return fmt.Errorf("seq %d: upsert of %s %s carries %v", c.Seq, c.Entity, id, body)
		}
		objs[id] = body
	case "delete":
		if body != nil {
			return fmt.Errorf("seq %d: tombstone of %s %s carries an object", c.Seq, c.Entity, id)
		}
		delete(objs, id)
	default:
		return fmt.Errorf("seq %d: op %q", c.Seq, c.Op)
	}
	return nil
}

// pull fetches and applies one page after the stored cursor, then stores next_cursor. It uses
// no *testing.T, so goroutines may call it (the transport still validates the contract).
func (d *syncDevice) pull(s *testutil.Server, limit int) (api.SyncPage, error) {
	var page api.SyncPage
	path := fmt.Sprintf("%s/v1/sync?limit=%d", s.URL, limit)
	if d.cursor != "" {
		path += "&cursor=" + url.QueryEscape(d.cursor)
	}
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return page, err
	}
	for k, v := range d.auth {
		req.Header.Set(k, v)
	}
	resp, err := s.Client.HTTP.Do(req)
	if err != nil {
		return page, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return page, err
	}
	if resp.StatusCode != http.StatusOK {
		return page, fmt.Errorf("sync = %d: %s", resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return page, fmt.Errorf("sync page %s: %w", raw, err)
	}
	switch {
	case page.NextCursor == "":
		return page, fmt.Errorf("sync page without next_cursor: %s", raw)
	case len(page.Data) > limit:
		return page, fmt.Errorf("sync page of %d changes, limit %d", len(page.Data), limit)
	case page.HasMore && len(page.Data) == 0:
		return page, errors.New("an empty sync page says it has more")
	}
	for _, c := range page.Data {
		if err := d.apply(c); err != nil {
			return page, err
		}
	}
	d.cursor = page.NextCursor
	return page, nil
}

// syncAll pulls pages until has_more is false and returns how many pages it took.
func (d *syncDevice) syncAll(s *testutil.Server, limit int) (int, error) {
	for pages := 1; pages < 10000; pages++ {
		page, err := d.pull(s, limit)
		if err != nil || !page.HasMore {
			return pages, err
		}
	}
	return 0, errors.New("sync never ran out of pages")
}

// syncListAll pages through a list endpoint three items at a time.
func syncListAll(t *testing.T, s *testutil.Server, auth map[string]string, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for range 10000 {
		p := path + "?limit=3"
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		resp, raw := s.Do(t, http.MethodGet, p, nil, auth)
		var page struct {
			Data       []map[string]any `json:"data"`
			HasMore    bool             `json:"has_more"`
			NextCursor *string          `json:"next_cursor"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &page) != nil {
			t.Fatalf("GET %s = %d %s", p, resp.StatusCode, raw)
		}
		out = append(out, page.Data...)
		if !page.HasMore {
			return out
		}
		if page.NextCursor == nil {
			t.Fatalf("GET %s: has_more without next_cursor", p)
		}
		cursor = *page.NextCursor
	}
	t.Fatalf("GET %s never ran out of pages", path)
	return nil
}

// syncServerState is the ground truth: the caller's objects as the list endpoints show them.
func syncServerState(t *testing.T, s *testutil.Server, auth map[string]string) map[string]map[string]any {
	t.Helper()
	state := map[string]map[string]any{"project": {}, "session": {}, "message": {}}
	put := func(entity string, items []map[string]any) {
		for _, it := range items {
			id := it["id"].(string)
			if _, dup := state[entity][id]; dup {
				t.Errorf("the %s list shows %s twice", entity, id)
			}
			state[entity][id] = it
		}
	}
	put("project", syncListAll(t, s, auth, "/v1/projects"))
	put("session", syncListAll(t, s, auth, "/v1/sessions"))
	for id := range state["session"] {
		put("message", syncListAll(t, s, auth, "/v1/sessions/"+id+"/messages"))
	}
	return state
}

// syncAssertConverged fails unless the device holds exactly the server's objects.
func syncAssertConverged(t *testing.T, name string, want map[string]map[string]any, d *syncDevice) {
	t.Helper()
	for _, e := range syncEntities {
		for id, w := range want[e] {
			g, ok := d.objects[e][id]
			if !ok {
				t.Errorf("%s: %s %s is on the server but not on the device", name, e, id)
			} else if !reflect.DeepEqual(w, g) {
				wj, _ := json.Marshal(w)
				gj, _ := json.Marshal(g)
				t.Errorf("%s: %s %s differs\nserver %s\ndevice %s", name, e, id, wj, gj)
			}
		}
		for id := range d.objects[e] {
			if _, ok := want[e][id]; !ok {
				t.Errorf("%s: %s %s is on the device but not on the server", name, e, id)
			}
		}
	}
}

// syncCall makes one request of a scenario, asserts its status and decodes the JSON object it
// answers (nil for 204). ifMatch, when not empty, is sent as If-Match.
func syncCall(t *testing.T, s *testutil.Server, auth map[string]string, method, path string, body any, want int, ifMatch string) (map[string]any, string) {
	t.Helper()
	h := map[string]string{}
	for k, v := range auth {
		h[k] = v
	}
	if ifMatch != "" {
		h["If-Match"] = ifMatch
	}
	var payload any
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		payload = b
	}
	resp, raw := s.Do(t, method, path, payload, h)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: %s: %v", method, path, raw, err)
		}
	}
	return out, resp.Header.Get("ETag")
}

// syncCreate POSTs body to path and returns the new object's id.
func syncCreate(t *testing.T, s *testutil.Server, auth map[string]string, path string, body any) string {
	t.Helper()
	obj, _ := syncCall(t, s, auth, http.MethodPost, path, body, http.StatusCreated, "")
	return obj["id"].(string)
}

func syncAddMessage(t *testing.T, s *testutil.Server, auth map[string]string, sessionID, role string, content any) string {
	t.Helper()
	return syncCreate(t, s, auth, "/v1/sessions/"+sessionID+"/messages",
		map[string]any{"role": role, "content": content, "metadata": map[string]any{"client": "sync-test ✓"}})
}

// TestSyncConvergesAcrossDevicesAndUsers: two devices of one user and a second user change
// things in turn; every device that applies the feed ends up with exactly the server's state,
// from wherever it started.
func TestSyncConvergesAcrossDevicesAndUsers(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	alice := s.Register(t, "sync-alice@example.com")
	laptop, phone := alice.Bearer(), s.Login(t, alice.Email, alice.Password).Bearer()
	bob := s.Register(t, "sync-bob@example.com").Bearer()

	devA := newSyncDevice(laptop)
	checkpoints := []*syncDevice{devA.fork()} // before the first sync: no cursor
	syncA := func() {
		t.Helper()
		if _, err := devA.syncAll(s, 3); err != nil {
			t.Fatalf("device A: %v", err)
		}
		checkpoints = append(checkpoints, devA.fork())
	}
	patch := http.MethodPatch

	p1 := syncCreate(t, s, laptop, "/v1/projects", map[string]any{"name": "Café ☕ '; DROP TABLE projects; --",
		"description": "línea\nnueva 🧪 \\ %_", "settings": map[string]any{"theme": "dark", "nested": map[string]any{"n": 1.5, "l": []any{"a", nil, true}}}})
	bobProject := syncCreate(t, s, bob, "/v1/projects", map[string]any{"name": "bob's"})
	p2 := syncCreate(t, s, phone, "/v1/projects", map[string]any{"name": "second", "path": `/home/a/%_\x`})
	bobSession := syncCreate(t, s, bob, "/v1/sessions", map[string]any{"project_id": bobProject, "title": "bob"})
	syncA()

	s1 := syncCreate(t, s, phone, "/v1/sessions", map[string]any{"project_id": p1, "title": "会话 🚀", "model": "m", "system_prompt": "be terse"})
	s2 := syncCreate(t, s, laptop, "/v1/sessions", map[string]any{"project_id": p2, "title": "archive, then delete"})
	s3 := syncCreate(t, s, laptop, "/v1/sessions", map[string]any{})
	s4 := syncCreate(t, s, phone, "/v1/sessions", map[string]any{"project_id": p1})
	syncAddMessage(t, s, laptop, s1, "user", `'; DELETE FROM messages WHERE '1'='1' -- \ %_ $$ 👩🏽‍💻 ${x}`)
	bobMessage := syncAddMessage(t, s, bob, bobSession, "user", "bob's secret")
	syncAddMessage(t, s, phone, s1, "assistant", []any{
		map[string]any{"type": "text", "text": "part one ✓"},
		map[string]any{"type": "image_url", "image_url": map[string]any{"url": "https://example.com/a.png?q='x'", "detail": "low"}},
		map[string]any{"type": "text", "text": "שלום \u200b\u2028"},
	})
	doomed := []string{syncAddMessage(t, s, laptop, s2, "user", "gone 1"), syncAddMessage(t, s, phone, s2, "tool", "gone 2")}
	syncA()

	_, tag := syncCall(t, s, phone, http.MethodGet, "/v1/projects/"+p1, nil, http.StatusOK, "")
	syncCall(t, s, phone, patch, "/v1/projects/"+p1, map[string]any{"name": "renamed 🎯", "description": nil}, http.StatusOK, tag)
	syncCall(t, s, laptop, patch, "/v1/projects/"+p1, map[string]any{"name": "stale"}, http.StatusPreconditionFailed, tag)
	syncCall(t, s, laptop, patch, "/v1/projects/"+p2, map[string]any{"settings": map[string]any{"k": "v"}, "path": nil}, http.StatusOK, "")
	syncCall(t, s, phone, http.MethodPut, "/v1/projects/"+p2, map[string]any{"name": "replaced", "description": "after PUT"}, http.StatusOK, "")
	syncCall(t, s, laptop, patch, "/v1/sessions/"+s2, map[string]any{"status": "archived"}, http.StatusOK, "")
	_, tag = syncCall(t, s, phone, http.MethodGet, "/v1/sessions/"+s3, nil, http.StatusOK, "")
	syncCall(t, s, phone, patch, "/v1/sessions/"+s3, map[string]any{"project_id": p2, "title": nil}, http.StatusOK, tag)
	syncAddMessage(t, s, laptop, s3, "user", "after the move")
	syncCall(t, s, bob, patch, "/v1/projects/"+bobProject, map[string]any{"name": "bob renamed"}, http.StatusOK, "")
	syncA()
	if got := devA.objects["session"][s2].(map[string]any)["status"]; got != "archived" {
		t.Errorf("device A: archived session has status %v", got)
	}

	syncCall(t, s, phone, http.MethodDelete, "/v1/projects/"+p1, nil, http.StatusNoContent, "")
	syncCall(t, s, laptop, http.MethodDelete, "/v1/sessions/"+s2, nil, http.StatusNoContent, "")
	syncCall(t, s, bob, http.MethodDelete, "/v1/sessions/"+bobSession, nil, http.StatusNoContent, "")
	syncA()
	// The deleted project's sessions arrived as upserts with project_id null; the deleted
	// session's messages as tombstones.
	for _, id := range []string{s1, s4} {
		if sess, ok := devA.objects["session"][id].(map[string]any); !ok || sess["project_id"] != nil {
			t.Errorf("device A: session %s of the deleted project = %v, want it with project_id null", id, sess)
		}
	}
	for _, id := range append([]string{p1, s2}, doomed...) {
		if !devA.seen[id] || devA.objects["project"][id] != nil || devA.objects["session"][id] != nil || devA.objects["message"][id] != nil {
			t.Errorf("device A: %s should have arrived and then been deleted", id)
		}
	}

	syncAddMessage(t, s, phone, s1, "user", "after detaching")
	shortLived := syncCreate(t, s, laptop, "/v1/projects", map[string]any{"name": "short-lived"})
	syncCall(t, s, laptop, http.MethodDelete, "/v1/projects/"+shortLived, nil, http.StatusNoContent, "")
	syncCreate(t, s, laptop, "/v1/projects", map[string]any{"name": "last"})
	syncA()

	devB := newSyncDevice(phone)
	if _, err := devB.syncAll(s, 3); err != nil {
		t.Fatalf("device B: %v", err)
	}
	bobDev := newSyncDevice(bob)
	if _, err := bobDev.syncAll(s, 3); err != nil {
		t.Fatalf("bob: %v", err)
	}
	state := syncServerState(t, s, laptop)
	if n := [3]int{len(state["project"]), len(state["session"]), len(state["message"])}; n != [3]int{2, 3, 4} {
		t.Fatalf("server holds %v projects/sessions/messages, want 2/3/4", n)
	}
	syncAssertConverged(t, "device A", state, devA)
	syncAssertConverged(t, "device B", state, devB)
	syncAssertConverged(t, "bob", syncServerState(t, s, bob), bobDev)
	for _, id := range []string{bobProject, bobSession, bobMessage} {
		if devA.seen[id] || devB.seen[id] {
			t.Errorf("bob's %s is in alice's feed", id)
		}
		if !bobDev.seen[id] {
			t.Errorf("bob's %s is missing from his own feed", id)
		}
	}
	for id := range devB.seen {
		if bobDev.seen[id] {
			t.Errorf("alice's %s is in bob's feed", id)
		}
	}

	// Whatever cursor a device stopped at, the rest of the feed brings it to the final state.
	for i, cp := range checkpoints {
		r := cp.fork()
		if _, err := r.syncAll(s, 3); err != nil {
			t.Fatalf("replay from checkpoint %d: %v", i, err)
		}
		syncAssertConverged(t, fmt.Sprintf("replay from checkpoint %d", i), state, r)
	}

	// Caught up: an empty page, no more, and a cursor that picks up the next change.
	page, err := devA.pull(s, 3)
	if err != nil || len(page.Data) != 0 || page.HasMore {
		t.Fatalf("caught-up sync = %+v, %v", page, err)
	}
	next := syncCreate(t, s, phone, "/v1/projects", map[string]any{"name": "after the empty page"})
	if page, err = devA.pull(s, 3); err != nil || len(page.Data) != 1 || page.Data[0].Id.String() != next || page.Data[0].Op != "upsert" || page.HasMore {
		t.Fatalf("sync after the empty page = %+v, %v", page, err)
	}
}

// TestSyncCursors: an empty feed still hands out a cursor; a cursor is bound to its user and
// to the feed, and any tampering is a 400.
func TestSyncCursors(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	alice := s.Register(t, "sync-cursor-alice@example.com").Bearer()
	bob := s.Register(t, "sync-cursor-bob@example.com").Bearer()

	dev := newSyncDevice(alice)
	page, err := dev.pull(s, 3)
	if err != nil || len(page.Data) != 0 || page.HasMore {
		t.Fatalf("first sync of a new user = %+v, %v", page, err)
	}
	first := dev.cursor
	p := syncCreate(t, s, alice, "/v1/projects", map[string]any{"name": "one"})
	syncCreate(t, s, alice, "/v1/projects", map[string]any{"name": "two"})
	if page, err = dev.pull(s, 1); err != nil || len(page.Data) != 1 || page.Data[0].Id.String() != p || !page.HasMore {
		t.Fatalf("sync from the empty feed's cursor = %+v, %v", page, err)
	}
	listed, _ := syncCall(t, s, alice, http.MethodGet, "/v1/projects?limit=1", nil, http.StatusOK, "")
	body, sig, _ := strings.Cut(dev.cursor, ".") // a cursor past the first project
	for _, tc := range []struct {
		name, cursor string
		auth         map[string]string
	}{
		{"another user's cursor", dev.cursor, bob},
		{"another user's empty-feed cursor", first, bob},
		{"payload swapped under the signature", base64.RawURLEncoding.EncodeToString([]byte(`{"s":0}`)) + "." + sig, alice},
		{"payload altered", base64.RawURLEncoding.EncodeToString([]byte(`{"s":1} `)) + "." + sig, alice},
		{"signature truncated", body + "." + sig[:len(sig)-4], alice},
		{"garbage", "not-a-cursor", alice},
		{"a project list's cursor", listed["next_cursor"].(string), alice},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, raw := s.Do(t, http.MethodGet, "/v1/sync?cursor="+url.QueryEscape(tc.cursor), nil, tc.auth)
			if p := decodeProblem(t, resp, raw, http.StatusBadRequest); p.Code != "invalid_cursor" {
				t.Errorf("code %q, want invalid_cursor", p.Code)
			}
		})
	}
}

// TestSyncCursorOlderThanRetentionIsGone: once a tombstone is purged, a cursor from before it
// answers 410, while later cursors and a sync from scratch still work.
func TestSyncCursorOlderThanRetentionIsGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := testutil.NewServer(t)
	aliceSession := s.Register(t, "sync-retention-alice@example.com")
	alice, bob := aliceSession.Bearer(), s.Register(t, "sync-retention-bob@example.com").Bearer()

	sess := syncCreate(t, s, alice, "/v1/sessions", map[string]any{"project_id": syncCreate(t, s, alice, "/v1/projects", map[string]any{"name": "kept"})})
	syncAddMessage(t, s, alice, sess, "user", "kept ✓")
	dev := newSyncDevice(alice)
	if _, err := dev.syncAll(s, 3); err != nil {
		t.Fatal(err)
	}
	before := dev.cursor
	gone := syncCreate(t, s, alice, "/v1/projects", map[string]any{"name": "short-lived"})
	syncCall(t, s, alice, http.MethodDelete, "/v1/projects/"+gone, nil, http.StatusNoContent, "")
	syncAddMessage(t, s, alice, sess, "user", "after the deletion")
	if _, err := dev.syncAll(s, 3); err != nil {
		t.Fatal(err)
	}
	bobDev := newSyncDevice(bob)
	bobGone := syncCreate(t, s, bob, "/v1/projects", map[string]any{"name": "bob's short-lived"})
	if _, err := bobDev.syncAll(s, 3); err != nil {
		t.Fatal(err)
	}
	syncCall(t, s, bob, http.MethodDelete, "/v1/projects/"+bobGone, nil, http.StatusNoContent, "")

	// Age alice's tombstone past the retention (bob's stays recent) and purge.
	if _, err := s.App.Store.Pool.Exec(ctx, `UPDATE sync_changes SET changed_at = now() - interval '31 days' WHERE deleted AND user_id = $1`, aliceSession.UserID); err != nil {
		t.Fatal(err)
	}
	if err := s.App.Workspace.PurgeTombstones(ctx); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := s.App.Store.Pool.QueryRow(ctx, `SELECT count(*) FROM sync_changes WHERE deleted`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("tombstones left after the purge = %d, %v; want bob's only", left, err)
	}

	resp, raw := s.Do(t, http.MethodGet, "/v1/sync?cursor="+url.QueryEscape(before), nil, alice)
	if p := decodeProblem(t, resp, raw, http.StatusGone); p.Code != "cursor_expired" {
		t.Errorf("code %q, want cursor_expired", p.Code)
	}
	// A cursor from after the purged tombstone lost nothing.
	syncAddMessage(t, s, alice, sess, "assistant", "after the purge")
	if _, err := dev.syncAll(s, 3); err != nil {
		t.Errorf("cursor from after the purged tombstone: %v", err)
	}
	// Bob's history is his own: his old cursor still shows his deletion.
	if _, err := bobDev.syncAll(s, 3); err != nil || !bobDev.seen[bobGone] || bobDev.objects["project"][bobGone] != nil {
		t.Errorf("bob after alice's purge: %v, project %v", err, bobDev.objects["project"][bobGone])
	}
	// Starting over converges; the purged project simply is not there.
	state := syncServerState(t, s, alice)
	syncAssertConverged(t, "device that kept its cursor", state, dev)
	fresh := newSyncDevice(alice)
	if _, err := fresh.syncAll(s, 3); err != nil {
		t.Fatalf("sync from scratch after a purge: %v", err)
	}
	syncAssertConverged(t, "sync from scratch", state, fresh)
	if fresh.seen[gone] {
		t.Errorf("the purged project %s is still in the feed", gone)
	}
}

// TestSyncUnderConcurrentAppends: writers append to two sessions at once while a device syncs
// in a loop; the feed skips nothing and repeats no seq, and the totals stay exact.
func TestSyncUnderConcurrentAppends(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	alice := s.Register(t, "sync-concurrent@example.com").Bearer()
	project := syncCreate(t, s, alice, "/v1/projects", map[string]any{"name": "busy"})
	sessions := []string{
		syncCreate(t, s, alice, "/v1/sessions", map[string]any{"project_id": project}),
		syncCreate(t, s, alice, "/v1/sessions", map[string]any{"title": "no project"}),
	}

	watcher := newSyncDevice(alice)
	stop, watched := make(chan struct{}), make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				watched <- nil
				return
			default:
			}
			if _, err := watcher.syncAll(s, 3); err != nil {
				watched <- err
				return
			}
		}
	}()

	const writers, perWriter = 8, 6
	errs := make(chan error, writers*perWriter)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				body, _ := json.Marshal(map[string]any{"role": "user", "content": fmt.Sprintf("writer %d, message %d ✍️ 'x' %%", w, i)})
				req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/sessions/"+sessions[(w+i)%2]+"/messages", bytes.NewReader(body))
				if err != nil {
					errs <- err
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", alice["Authorization"])
				resp, err := s.Client.HTTP.Do(req)
				if err != nil {
					errs <- err
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errs <- fmt.Errorf("append = %d: %s", resp.StatusCode, raw)
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := <-watched; err != nil {
		t.Fatalf("device syncing during the writes: %v", err)
	}
	if _, err := watcher.syncAll(s, 3); err != nil {
		t.Fatal(err)
	}
	fresh := newSyncDevice(alice)
	if _, err := fresh.syncAll(s, 3); err != nil {
		t.Fatal(err)
	}

	state := syncServerState(t, s, alice)
	if got := len(state["message"]); got != writers*perWriter {
		t.Errorf("server holds %d messages, want %d", got, writers*perWriter)
	}
	for _, id := range sessions {
		var positions []int64
		for _, m := range state["message"] {
			if m.(map[string]any)["session_id"] == id {
				positions = append(positions, int64(m.(map[string]any)["seq"].(float64)))
			}
		}
		count := state["session"][id].(map[string]any)["message_count"].(float64)
		if int(count) != len(positions) || len(positions) != writers*perWriter/2 {
			t.Errorf("session %s: message_count %v, %d messages, want %d", id, count, len(positions), writers*perWriter/2)
		}
	}
	syncAssertConverged(t, "device syncing during the writes", state, watcher)
	syncAssertConverged(t, "device syncing afterwards", state, fresh)
	for name, d := range map[string]*syncDevice{"watcher": watcher, "fresh": fresh} {
		dup := map[int64]bool{}
		for _, seq := range d.seqs {
			if dup[seq] {
				t.Errorf("%s: seq %d delivered twice", name, seq)
			}
			dup[seq] = true
		}
	}
}
