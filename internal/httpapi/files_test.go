package httpapi_test

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
)

// TestFilesOnBothStores runs the files suite on the local directory store and on a real S3
// server (versitygw): one server per store, the cases one after another (they count blobs).
func TestFilesOnBothStores(t *testing.T) {
	t.Parallel()
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e := newFileEnv(t, kind, nil)
			t.Run("upload", e.testUpload)
			t.Run("list by prefix", e.testListByPrefix)
			t.Run("ranges and 304", e.testRanges)
			t.Run("rename with If-Match", e.testRename)
			t.Run("delete removes the blob", e.testDelete)
			t.Run("path attacks", e.testPathAttacks)
			t.Run("served inert", e.testInert)
			t.Run("another user's id is 404", e.testForeign)
			t.Run("signed URL", e.testSignedURL)
			t.Run("project deletion", e.testProjectDeletion)
			t.Run("sync feed", e.testSyncFeed)
		})
	}
}

func hexSHA(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

func (e *fileEnv) testUpload(t *testing.T) {
	s := e.s
	u := s.Register(t, "up-"+e.name+"@example.com")
	pr := newProject(t, s, u, `{"name":"P"}`)
	before := e.blobs(t)
	content := []byte("package main\n\nfunc main() {}\n")
	resp, body := e.upload(t, u, "", map[string]string{"project_id": pr.Id.String(), "path": "src/main.go"}, "ignored.go", content)
	f := decodeInto[api.File](t, resp, body, http.StatusCreated)
	if f.Name != "main.go" || f.Path == nil || *f.Path != "src/main.go" || f.ProjectId == nil || *f.ProjectId != pr.Id ||
		f.Size != int64(len(content)) || f.Sha256 != hexSHA(content) || !strings.HasPrefix(f.ContentType, "text/plain") {
		t.Fatalf("multipart upload = %+v", f)
	}
	if resp.Header.Get("ETag") != `"1"` {
		t.Errorf("ETag %q", resp.Header.Get("ETag"))
	}
	// The raw form: the declared type (image/png) is ignored, the bytes decide.
	resp, body = e.uploadRaw(t, u, "?filename=notes.txt", "image/png", []byte("just text"))
	raw := decodeInto[api.File](t, resp, body, http.StatusCreated)
	if raw.Name != "notes.txt" || raw.Path != nil || !strings.HasPrefix(raw.ContentType, "text/plain") {
		t.Fatalf("raw upload = %+v", raw)
	}
	// A PNG declared as text is stored as a PNG.
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	resp, body = e.uploadRaw(t, u, "?filename=pic", "text/plain", png)
	if f := decodeInto[api.File](t, resp, body, http.StatusCreated); f.ContentType != "image/png" {
		t.Errorf("sniffed %q, want image/png", f.ContentType)
	}
	if got := e.blobs(t) - before; got != 3 {
		t.Errorf("%d new blobs, want 3", got)
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/files/"+f.Id.String(), nil, u.Bearer())
	if g := decodeInto[api.File](t, resp, body, http.StatusOK); g.Sha256 != f.Sha256 {
		t.Errorf("get = %+v", g)
	}
	resp, body = s.Do(t, http.MethodGet, "/v1/files/usage", nil, u.Bearer())
	usage := decodeInto[api.FileUsage](t, resp, body, http.StatusOK)
	if usage.FileCount != 3 || usage.UsedBytes != int64(len(content)+len("just text")+len(png)) || usage.QuotaBytes != 1<<30 {
		t.Errorf("usage = %+v", usage)
	}
	// Idempotency-Key: a retry replays the first answer and stores nothing more.
	h := with(u.Bearer(), "Idempotency-Key", "upload-1")
	req := s.Request(t, http.MethodPost, "/v1/files?filename=once.txt", "once", h)
	req.Header.Set("Content-Type", "text/plain")
	r1, b1 := s.Client.Do(t, req)
	first := decodeInto[api.File](t, r1, b1, http.StatusCreated)
	req = s.Request(t, http.MethodPost, "/v1/files?filename=once.txt", "once", h)
	req.Header.Set("Content-Type", "text/plain")
	r2, b2 := s.Client.Do(t, req)
	again := decodeInto[api.File](t, r2, b2, http.StatusCreated)
	if again.Id != first.Id || r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry made %s (replayed %q), first %s", again.Id, r2.Header.Get("Idempotent-Replayed"), first.Id)
	}
}

func entryPaths(es []api.FileEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, string(e.Kind)+":"+e.Path)
	}
	return out
}

func (e *fileEnv) testListByPrefix(t *testing.T) {
	u := e.s.Register(t, "list-"+e.name+"@example.com")
	pr := newProject(t, e.s, u, `{"name":"Tree"}`)
	for _, p := range []string{"src/a.go", "src/b/c.go", "src/b/d.go", "src/e/f/g.txt", "src/b", "top.txt", "srcx/y"} {
		e.put(t, u, p, []byte(p), pr.Id.String())
	}
	e.put(t, u, "src/other-tree.go", []byte("x"), "") // outside the project: another tree
	q := "&project_id=" + pr.Id.String()
	// Page size 1: the cursor walks files and directories alike.
	got := entryPaths(e.list(t, u, q+"&prefix=src/", 1))
	want := []string{"file:src/a.go", "file:src/b", "directory:src/b/", "directory:src/e/"}
	if !slices.Equal(got, want) {
		t.Fatalf("src/ = %v, want %v", got, want)
	}
	dirs := e.list(t, u, q+"&prefix=src", 50)
	if d := dirs[2]; d.Name != "b" || d.FileCount == nil || *d.FileCount != 2 || d.Id != nil {
		t.Errorf("directory entry = %+v", d)
	}
	if f := dirs[0]; f.Id == nil || f.Size == nil || f.Name != "a.go" {
		t.Errorf("file entry = %+v", f)
	}
	if got := entryPaths(e.list(t, u, q+"&prefix=/", 2)); !slices.Equal(got, []string{"directory:src/", "directory:srcx/", "file:top.txt"}) {
		t.Errorf("root = %v", got)
	}
	if got := entryPaths(e.list(t, u, "&prefix=/", 50)); !slices.Equal(got, []string{"directory:src/"}) {
		t.Errorf("root outside projects = %v", got)
	}
	if got := e.list(t, u, q, 3); len(got) != 7 {
		t.Errorf("flat list of the project: %d entries, want 7", len(got))
	}
	// A cursor of one listing does not continue another.
	resp, body := e.s.Do(t, http.MethodGet, "/v1/files?limit=1&prefix=src/"+q, nil, u.Bearer())
	p := decodeInto[api.FileEntryList](t, resp, body, http.StatusOK)
	resp, body = e.s.Do(t, http.MethodGet, "/v1/files?prefix=/&cursor="+*p.NextCursor+q, nil, u.Bearer())
	decodeProblem(t, resp, body, http.StatusBadRequest)
}

func (e *fileEnv) testRanges(t *testing.T) {
	u := e.s.Register(t, "range-"+e.name+"@example.com")
	content := []byte("0123456789abcdefghij")
	f := e.put(t, u, "r.bin", content, "")
	id := f.Id.String()
	resp, body := e.get(t, u, id, nil)
	if resp.StatusCode != http.StatusOK || string(body) != string(content) || resp.Header.Get("ETag") != `"`+hexSHA(content)+`"` ||
		resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("whole: %d %q ETag %q", resp.StatusCode, body, resp.Header.Get("ETag"))
	}
	for _, c := range []struct{ rng, want, cr string }{
		{"bytes=0-3", "0123", "bytes 0-3/20"},
		{"bytes=5-9", "56789", "bytes 5-9/20"},
		{"bytes=19-", "j", "bytes 19-19/20"},
		{"bytes=15-99", "fghij", "bytes 15-19/20"},
		{"bytes=-4", "ghij", "bytes 16-19/20"},
		{"bytes=-100", string(content), "bytes 0-19/20"},
	} {
		resp, body := e.get(t, u, id, map[string]string{"Range": c.rng})
		if resp.StatusCode != http.StatusPartialContent || string(body) != c.want || resp.Header.Get("Content-Range") != c.cr {
			t.Errorf("%s: %d %q %q, want 206 %q %q", c.rng, resp.StatusCode, body, resp.Header.Get("Content-Range"), c.want, c.cr)
		}
	}
	for _, rng := range []string{"bytes=20-", "bytes=25-30", "bytes=-0"} {
		resp, body := e.get(t, u, id, map[string]string{"Range": rng})
		if p := decodeProblem(t, resp, body, http.StatusRequestedRangeNotSatisfiable); p.Code != "range_not_satisfiable" || resp.Header.Get("Content-Range") != "bytes */20" {
			t.Errorf("%s: code %s Content-Range %q", rng, p.Code, resp.Header.Get("Content-Range"))
		}
	}
	// Several ranges are served whole.
	if resp, body := e.get(t, u, id, map[string]string{"Range": "bytes=0-1,3-4"}); resp.StatusCode != http.StatusOK || len(body) != 20 {
		t.Errorf("multi-range: %d %d bytes", resp.StatusCode, len(body))
	}
	tag := `"` + hexSHA(content) + `"`
	for _, inm := range []string{tag, `W/` + tag, `"other", ` + tag, "*"} {
		resp, body := e.get(t, u, id, map[string]string{"If-None-Match": inm, "Range": "bytes=0-1"})
		if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("ETag") != tag {
			t.Errorf("If-None-Match %s: %d", inm, resp.StatusCode)
		}
	}
	if resp, _ := e.get(t, u, id, map[string]string{"If-None-Match": `"stale"`}); resp.StatusCode != http.StatusOK {
		t.Errorf("stale If-None-Match: %d", resp.StatusCode)
	}
}

func (e *fileEnv) testRename(t *testing.T) {
	u := e.s.Register(t, "mv-"+e.name+"@example.com")
	f := e.put(t, u, "docs/a.md", []byte("# a"), "")
	e.put(t, u, "docs/taken.md", []byte("# t"), "")
	path := "/v1/files/" + f.Id.String()
	resp, body := e.s.Do(t, http.MethodPatch, path, `{"path":"notes/b.md"}`, with(u.Bearer(), "If-Match", `"7"`))
	decodeProblem(t, resp, body, http.StatusPreconditionFailed)
	resp, body = e.s.Do(t, http.MethodPatch, path, `{"path":"docs/taken.md"}`, with(u.Bearer(), "If-Match", `"1"`))
	if p := decodeProblem(t, resp, body, http.StatusConflict); p.Code != "path_taken" {
		t.Errorf("clash code %s", p.Code)
	}
	resp, body = e.s.Do(t, http.MethodPatch, path, `{"path":"notes/b.md"}`, with(u.Bearer(), "If-Match", `"1"`))
	moved := decodeInto[api.File](t, resp, body, http.StatusOK)
	if moved.Name != "b.md" || *moved.Path != "notes/b.md" || moved.Version != 2 || resp.Header.Get("ETag") != `"2"` || moved.Sha256 != f.Sha256 {
		t.Fatalf("moved = %+v", moved)
	}
	if got := entryPaths(e.list(t, u, "&prefix=/", 50)); !slices.Equal(got, []string{"directory:docs/", "directory:notes/"}) {
		t.Errorf("after move: %v", got)
	}
}

func (e *fileEnv) testDelete(t *testing.T) {
	u := e.s.Register(t, "del-"+e.name+"@example.com")
	before := e.blobs(t)
	f := e.put(t, u, "gone.txt", []byte("bye"), "")
	if e.blobs(t) != before+1 {
		t.Fatal("no blob after upload")
	}
	path := "/v1/files/" + f.Id.String()
	resp, body := e.s.Do(t, http.MethodDelete, path, nil, with(u.Bearer(), "If-Match", `"9"`))
	decodeProblem(t, resp, body, http.StatusPreconditionFailed)
	resp, body = e.s.Do(t, http.MethodDelete, path, nil, with(u.Bearer(), "If-Match", `"1"`))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	if n := e.blobs(t); n != before {
		t.Errorf("%d blobs after delete, want %d", n, before)
	}
	resp, body = e.get(t, u, f.Id.String(), nil)
	decodeProblem(t, resp, body, http.StatusNotFound)
	resp, body = e.s.Do(t, http.MethodGet, "/v1/files/usage", nil, u.Bearer())
	if us := decodeInto[api.FileUsage](t, resp, body, http.StatusOK); us.FileCount != 0 || us.UsedBytes != 0 {
		t.Errorf("usage after delete = %+v", us)
	}
}
