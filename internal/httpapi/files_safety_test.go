package httpapi_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/gen/api"
)

func (e *fileEnv) testPathAttacks(t *testing.T) {
	u := e.s.Register(t, "paths-"+e.name+"@example.com")
	before := e.blobs(t)
	for _, p := range []string{
		"../etc/passwd", "a/../../b", "a/./b", "/abs/path", "a//b", "trailing/", "a\\..\\b",
		"%2e%2e/x", "a/%2E%2e", "\uFF0E\uFF0E/x", "\u2025/x", "a\u2215..", "x\uFF0Fy",
		"evil\u202Etxt.exe", "a\u2066b", "bell\a", "nul\x00byte", "zero\u200Bwidth",
		strings.Repeat("d/", 700) + "f", strings.Repeat("s", 256),
	} {
		// As a multipart field: the bytes arrive exactly as written.
		resp, body := e.upload(t, u, "", map[string]string{"path": p}, "f", []byte("x"))
		if pr := decodeProblem(t, resp, body, http.StatusBadRequest); firstPointer(pr) != "/path" {
			t.Errorf("path %q: pointer %q (%s)", p, firstPointer(pr), detail(pr))
		}
	}
	// In the query, "%2e%2e" decodes to ".." and a NUL is refused before the handler.
	for _, q := range []string{"?path=%2e%2e/x", "?path=a%00b", "?path=..%2Fx"} {
		resp, body := e.uploadRaw(t, u, q, "text/plain", []byte("x"))
		decodeProblem(t, resp, body, http.StatusBadRequest)
	}
	// A file name from the multipart part is checked like a segment.
	resp, body := e.upload(t, u, "", nil, "evil\u202Egpj.exe", []byte("x"))
	decodeProblem(t, resp, body, http.StatusBadRequest)
	if n := e.blobs(t); n != before {
		t.Errorf("refused uploads left %d blobs", n-before)
	}
	// NFC: a decomposed "é" is the same path as the composed one.
	e.put(t, u, "caf\u00e9.txt", []byte("1"), "")
	resp, body = e.uploadRaw(t, u, "?path="+url.QueryEscape("cafe\u0301.txt"), "text/plain", []byte("2"))
	if p := decodeProblem(t, resp, body, http.StatusConflict); p.Code != "path_taken" {
		t.Errorf("NFC clash code %s", p.Code)
	}
	if n := e.blobs(t); n != before+1 {
		t.Errorf("the clashing upload left its blob: %d blobs, want %d", n, before+1)
	}
}

func (e *fileEnv) testInert(t *testing.T) {
	u := e.s.Register(t, "inert-"+e.name+"@example.com")
	for _, c := range []struct{ name, body, wantType string }{
		{`page"x.html`, "<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>", "text/html"},
		{"logo.svg", `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`, "image/svg+xml"},
	} {
		resp, body := e.uploadRaw(t, u, "?filename="+url.QueryEscape(c.name), "text/plain", []byte(c.body))
		f := decodeInto[api.File](t, resp, body, http.StatusCreated)
		resp, _ = e.get(t, u, f.Id.String(), nil)
		h := resp.Header
		if !strings.HasPrefix(h.Get("Content-Type"), c.wantType) || h.Get("Content-Security-Policy") != "sandbox" ||
			h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment; ") {
			t.Errorf("%s served with %v", c.name, h)
		}
		if c.name == `page"x.html` && h.Get("Content-Disposition") != `attachment; filename="page_x.html"; filename*=UTF-8''page%22x.html` {
			t.Errorf("disposition %q", h.Get("Content-Disposition"))
		}
	}
}

func (e *fileEnv) testForeign(t *testing.T) {
	owner := e.s.Register(t, "owner-"+e.name+"@example.com")
	other := e.s.Register(t, "other-"+e.name+"@example.com")
	pr := newProject(t, e.s, owner, `{"name":"Mine"}`)
	f := e.put(t, owner, "secret.txt", []byte("s3cret"), pr.Id.String())
	id := f.Id.String()
	for _, c := range []struct{ method, path, body string }{
		{http.MethodGet, "/v1/files/" + id, ""},
		{http.MethodPatch, "/v1/files/" + id, `{"path":"stolen.txt"}`},
		{http.MethodGet, "/v1/files/" + id + "/content", ""},
		{http.MethodPost, "/v1/files/" + id + "/url", `{}`},
		{http.MethodDelete, "/v1/files/" + id, ""},
	} {
		var b any
		if c.body != "" {
			b = c.body
		}
		resp, body := e.s.Do(t, c.method, c.path, b, other.Bearer())
		decodeProblem(t, resp, body, http.StatusNotFound)
	}
	resp, body := e.uploadRaw(t, other, "?filename=x&project_id="+pr.Id.String(), "text/plain", []byte("x"))
	decodeProblem(t, resp, body, http.StatusNotFound)
	if got := e.list(t, other, "&project_id="+pr.Id.String()+"&prefix=/", 50); len(got) != 0 {
		t.Errorf("other sees %v", entryPaths(got))
	}
	if resp, body := e.get(t, owner, id, nil); resp.StatusCode != http.StatusOK || string(body) != "s3cret" {
		t.Errorf("the owner's file changed: %d %q", resp.StatusCode, body)
	}
}

func (e *fileEnv) testSignedURL(t *testing.T) {
	u := e.s.Register(t, "url-"+e.name+"@example.com")
	f := e.put(t, u, "share/report.txt", []byte("quarterly"), "")
	resp, body := e.s.Do(t, http.MethodPost, "/v1/files/"+f.Id.String()+"/url", `{"expires_in":60}`, u.Bearer())
	link := decodeInto[api.FileURL](t, resp, body, http.StatusOK)
	if e.s3 == nil {
		// This server's URL, fetched without credentials, through the validating client.
		resp, body = e.s.Do(t, http.MethodGet, link.Url, nil, nil)
		if resp.StatusCode != http.StatusOK || string(body) != "quarterly" || resp.Header.Get("Content-Security-Policy") != "sandbox" {
			t.Fatalf("signed download: %d %q", resp.StatusCode, body)
		}
		resp, body = e.s.Do(t, http.MethodGet, link.Url, nil, map[string]string{"Range": "bytes=-5"})
		if resp.StatusCode != http.StatusPartialContent || string(body) != "terly" {
			t.Errorf("signed range: %d %q", resp.StatusCode, body)
		}
		tampered := strings.Replace(link.Url, "signature=", "signature=A", 1)
		resp, body = e.s.Do(t, http.MethodGet, tampered, nil, nil)
		decodeProblem(t, resp, body, http.StatusNotFound)
		later := strings.Replace(link.Url, "expires=", "expires=9", 1) // a longer life is a forgery
		resp, body = e.s.Do(t, http.MethodGet, later, nil, nil)
		decodeProblem(t, resp, body, http.StatusNotFound)
		// Correctly signed but expired.
		owner := uuid.MustParse(u.UserID)
		expired, err := e.s.App.Files.CreateFileUrl(context.Background(), owner, f.Id, -time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		resp, body = e.s.Do(t, http.MethodGet, expired.URL, nil, nil)
		decodeProblem(t, resp, body, http.StatusNotFound)
		return
	}
	// S3: the store's presigned URL, straight to versitygw.
	got, err := http.Get(link.Url)
	if err != nil {
		t.Fatal(err)
	}
	b := readAll(t, got.Body)
	_ = got.Body.Close()
	if got.StatusCode != http.StatusOK || string(b) != "quarterly" || !strings.HasPrefix(got.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("presigned GET: %d %q %v", got.StatusCode, b, got.Header)
	}
	bad, err := http.Get(strings.Replace(link.Url, "X-Amz-Signature=", "X-Amz-Signature=0", 1))
	if err != nil {
		t.Fatal(err)
	}
	_ = bad.Body.Close()
	if bad.StatusCode != http.StatusForbidden {
		t.Errorf("tampered presigned URL: %d", bad.StatusCode)
	}
}

func (e *fileEnv) testProjectDeletion(t *testing.T) {
	u := e.s.Register(t, "pdel-"+e.name+"@example.com")
	pr := newProject(t, e.s, u, `{"name":"Doomed"}`)
	before := e.blobs(t)
	e.put(t, u, "a.txt", []byte("a"), pr.Id.String())
	e.put(t, u, "b/c.txt", []byte("c"), pr.Id.String())
	keep := e.put(t, u, "kept.txt", []byte("k"), "")
	resp, body := e.s.Do(t, http.MethodDelete, "/v1/projects/"+pr.Id.String(), nil, u.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete project: %d %s", resp.StatusCode, body)
	}
	if got := e.list(t, u, "", 50); len(got) != 1 || *got[0].Id != keep.Id {
		t.Fatalf("after project deletion: %v", entryPaths(got))
	}
	// The rows went with the project; the blobs go with the sweep.
	if err := e.s.App.Files.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.blobs(t); n != before+1 {
		t.Errorf("%d blobs after the sweep, want %d", n, before+1)
	}
	// Deleting the account deletes the rest.
	resp, body = e.s.Do(t, http.MethodDelete, "/v1/auth/profile", `{"password":"`+u.Password+`"}`, u.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete account: %d %s", resp.StatusCode, body)
	}
	if err := e.s.App.Files.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.blobs(t); n != before {
		t.Errorf("%d blobs after the account went, want %d", n, before)
	}
}

func (e *fileEnv) testSyncFeed(t *testing.T) {
	u := e.s.Register(t, "sync-"+e.name+"@example.com")
	f := e.put(t, u, "synced.txt", []byte("v1"), "")
	find := func() *api.SyncChange {
		resp, body := e.s.Do(t, http.MethodGet, "/v1/sync?limit=200", nil, u.Bearer())
		page := decodeInto[api.SyncPage](t, resp, body, http.StatusOK)
		for _, c := range page.Data {
			if c.Entity == api.SyncChangeEntityFile && c.Id == f.Id {
				return &c
			}
		}
		return nil
	}
	c := find()
	if c == nil || c.Op != api.SyncChangeOpUpsert || c.File == nil || c.File.Sha256 != f.Sha256 {
		t.Fatalf("upsert in the feed: %+v", c)
	}
	e.s.Do(t, http.MethodPatch, "/v1/files/"+f.Id.String(), `{"path":"moved.txt"}`, u.Bearer())
	if c := find(); c == nil || c.File == nil || *c.File.Path != "moved.txt" {
		t.Fatalf("move in the feed: %+v", c)
	}
	e.s.Do(t, http.MethodDelete, "/v1/files/"+f.Id.String(), nil, u.Bearer())
	if c := find(); c == nil || c.Op != api.SyncChangeOpDelete {
		t.Fatalf("tombstone in the feed: %+v", c)
	}
}
