package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/chat"
	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// uploadRaw stores data as the caller's file name (the raw-body form) and returns it.
func uploadRaw(t *testing.T, s *testutil.Server, u testutil.Session, name string, data []byte) api.File {
	t.Helper()
	resp, raw := s.Do(t, http.MethodPost, "/v1/files?filename="+url.QueryEscape(name), data,
		with(u.Bearer(), "Content-Type", "application/octet-stream"))
	return decodeInto[api.File](t, resp, raw, http.StatusCreated)
}

func chatTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../chat/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chatWith sends one user turn of "Look." and the given parts.
func chatWith(t *testing.T, env chatEnv, parts string) (*http.Response, []byte) {
	t.Helper()
	body := `{"model":"` + chatModel + `","messages":[{"role":"user","content":[{"type":"text","text":"Look."},` + parts + `]}]}`
	return env.s.Do(t, http.MethodPost, "/v1/chat/completions", body, env.user.Bearer())
}

func fileRef(f api.File) string { return `{"type":"file","file":{"file_id":"` + f.Id.String() + `"}}` }

func imageRef(f api.File) string {
	return `{"type":"image_url","image_url":{"url":"` + chat.FileURLScheme + f.Id.String() + `"}}`
}

// TestChatAttachesStoredFiles uploads an image, a PDF and a text file through POST /v1/files and
// attaches them to a chat turn: the upstream receives an image block and two document blocks
// carrying the files' bytes, with the sniffed media types.
func TestChatAttachesStoredFiles(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	png, pdf, md := chatTestdata(t, "pixel.png"), chatTestdata(t, "hello.pdf"), chatTestdata(t, "notes.md")
	pngFile, pdfFile, mdFile := uploadRaw(t, env.s, env.user, "pixel.png", png),
		uploadRaw(t, env.s, env.user, "hello.pdf", pdf), uploadRaw(t, env.s, env.user, "notes.md", md)
	env.fake.Enqueue(llmtest.TextStream("msg_att", chatModel, "A pixel, a greeting and notes."))
	resp, raw := chatWith(t, env, imageRef(pngFile)+","+fileRef(pdfFile)+","+fileRef(mdFile))
	decodeInto[api.ChatCompletion](t, resp, raw, http.StatusOK)

	type source struct {
		Type      string `json:"type"`
		MediaType string `json:"media_type"`
		Data      string `json:"data"`
	}
	var up struct {
		Messages []struct {
			Content []struct {
				Type   string `json:"type"`
				Title  string `json:"title"`
				Source source `json:"source"`
			} `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(env.fake.LastRequest().Raw, &up); err != nil || len(up.Messages) != 1 || len(up.Messages[0].Content) != 4 {
		t.Fatalf("upstream body %.2000s (%v)", env.fake.LastRequest().Raw, err)
	}
	b64 := base64.StdEncoding.EncodeToString
	blocks := up.Messages[0].Content
	want := []struct {
		typ, title string
		src        source
	}{
		{"image", "", source{"base64", "image/png", b64(png)}},
		{"document", "hello.pdf", source{"base64", "application/pdf", b64(pdf)}},
		{"document", "notes.md", source{"text", "text/plain", string(md)}},
	}
	for i, w := range want {
		if b := blocks[i+1]; b.Type != w.typ || b.Title != w.title || b.Source != w.src {
			t.Errorf("block %d = %s %q %+v, want %s %q %+v", i+1, b.Type, b.Title, b.Source, w.typ, w.title, w.src)
		}
	}
}

// TestChatAttachmentRefusals: a type the model cannot read, another user's file and an image
// over the upstream's limit are refused at the part before anything goes upstream.
func TestChatAttachmentRefusals(t *testing.T) {
	t.Parallel()
	env := newChatEnv(t)
	zip := uploadRaw(t, env.s, env.user, "a.zip", append([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), make([]byte, 64)...))
	other := env.s.Register(t, "chat-files-other@example.com")
	theirs := uploadRaw(t, env.s, other, "pixel.png", chatTestdata(t, "pixel.png"))
	// A PNG whose base64 passes the 5 MiB an image may have upstream.
	big := append(bytes.Clone(chatTestdata(t, "pixel.png")), make([]byte, chat.MaxImageBase64/4*3)...)
	bigFile := uploadRaw(t, env.s, env.user, "big.png", big)
	if bigFile.ContentType != "image/png" || zip.ContentType != "application/zip" {
		t.Fatalf("sniffed %q and %q, want image/png and application/zip", bigFile.ContentType, zip.ContentType)
	}
	const part = "/messages/0/content/1"
	cases := []struct {
		name, parts string
		status      int
		code        string
		pointer     string
	}{
		{"an unsupported type", fileRef(zip), http.StatusBadRequest, "validation_failed", part},
		{"another user's file", fileRef(theirs), http.StatusNotFound, "file_not_found", part + "/file/file_id"},
		{"another user's file as an image URL", imageRef(theirs), http.StatusNotFound, "file_not_found", part + "/image_url/url"},
		{"an image over the upstream's limit", imageRef(bigFile), http.StatusBadRequest, "validation_failed", part},
	}
	for _, tc := range cases {
		resp, raw := chatWith(t, env, tc.parts)
		p := decodeProblem(t, resp, raw, tc.status)
		if p.Code != tc.code || firstPointer(p) != tc.pointer || firstLocation(p) != "body" {
			t.Errorf("%s: problem %s, want %s at %s", tc.name, raw, tc.code, tc.pointer)
		}
	}
	if n := len(env.fake.Requests()); n != 0 {
		t.Errorf("the upstream was called %d times", n)
	}
}
