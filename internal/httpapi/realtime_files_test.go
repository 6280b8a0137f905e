package httpapi_test

import (
	"net/http"
	"testing"
)

// TestRealtimeFileEvents: an upload raises file.created and a deletion file.deleted on the
// owner's feed, and another user's feed sees neither.
func TestRealtimeFileEvents(t *testing.T) {
	t.Parallel()
	e := newFileEnv(t, "local", nil)
	s := e.s
	u := s.Register(t, "rt-files@example.com")
	other := s.Register(t, "rt-files-other@example.com")
	ws := mustDialWS(t, s, "?types=file.*", u)
	sse := openSSE(t, s, "", u.Bearer())
	otherWS := mustDialWS(t, s, "", other)

	f := e.put(t, u, "docs/a.txt", []byte("hello"), "")
	ev := nextWS(t, ws)
	if ev.Type != "file.created" || ev.Data["file_id"] != f.Id.String() || ev.Data["path"] != "docs/a.txt" ||
		ev.Data["name"] != "a.txt" || ev.Data["size"] != float64(5) {
		t.Fatalf("after an upload the WebSocket got %s %v; want file.created of %s", ev.Type, ev.Data, f.Id)
	}
	if _, typ, data := sse.next(t); typ != "file.created" || decodeEvent(t, data).Data["file_id"] != f.Id.String() {
		t.Fatalf("after an upload SSE got %s %s", typ, data)
	}
	resp, body := s.Do(t, http.MethodDelete, "/v1/files/"+f.Id.String(), nil, u.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	if ev := nextWS(t, ws); ev.Type != "file.deleted" || ev.Data["file_id"] != f.Id.String() || ev.Data["path"] != "docs/a.txt" {
		t.Fatalf("after a delete the WebSocket got %s %v; want file.deleted of %s", ev.Type, ev.Data, f.Id)
	}
	if _, typ, data := sse.next(t); typ != "file.deleted" || decodeEvent(t, data).Data["file_id"] != f.Id.String() {
		t.Fatalf("after a delete SSE got %s %s", typ, data)
	}
	// A refused delete (another user's file is 404) raises nothing for anyone.
	g := e.put(t, u, "b.txt", []byte("x"), "")
	if ev := nextWS(t, ws); ev.Type != "file.created" || ev.Data["file_id"] != g.Id.String() {
		t.Fatalf("second upload: %s %v", ev.Type, ev.Data)
	}
	if resp, _ := s.Do(t, http.MethodDelete, "/v1/files/"+g.Id.String(), nil, other.Bearer()); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("foreign delete: %d", resp.StatusCode)
	}
	// The other user's first event is their own project, never the first user's files.
	p := newProject(t, s, other, `{"name":"mine"}`)
	if ev := nextWS(t, otherWS); ev.Type != "project.created" || ev.Data["project_id"] != p.Id.String() {
		t.Fatalf("other user got %s %v; want only their own project.created", ev.Type, ev.Data)
	}
	h := e.put(t, u, "c.txt", []byte("y"), "")
	if ev := nextWS(t, ws); ev.Type != "file.created" || ev.Data["file_id"] != h.Id.String() {
		t.Fatalf("after a refused foreign delete the owner got %s %v; want the next upload", ev.Type, ev.Data)
	}
}
