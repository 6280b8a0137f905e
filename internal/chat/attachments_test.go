package chat

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/files"
	"github.com/ccbackend/ccbackend/internal/llm"
)

// memFiles is a FileSource over files held in memory, owned by one user each; the files
// service's own tests prove the real one against its stores.
type memFiles struct {
	owner map[uuid.UUID]uuid.UUID
	meta  map[uuid.UUID]files.File
	data  map[uuid.UUID][]byte
}

func (m *memFiles) add(owner uuid.UUID, name, contentType string, data []byte) uuid.UUID {
	id := uuid.New()
	m.owner[id], m.data[id] = owner, data
	m.meta[id] = files.File{ID: id, Name: name, Size: int64(len(data)), ContentType: contentType}
	return id
}

func (m *memFiles) Open(_ context.Context, user, id uuid.UUID) (files.File, io.ReadCloser, error) {
	if m.owner[id] != user {
		return files.File{}, nil, apperr.New(apperr.NotFound, "file_not_found", "no such file")
	}
	return m.meta[id], io.NopCloser(bytes.NewReader(m.data[id])), nil
}

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attachEnv holds one user's stored files of every kind and another user's file.
type attachEnv struct {
	src                               *memFiles
	user                              uuid.UUID
	png, pdf, text, zip, foreign, big uuid.UUID
	pngBytes, pdfBytes, textBytes     []byte
}

func newAttachEnv(t *testing.T) *attachEnv {
	e := &attachEnv{src: &memFiles{owner: map[uuid.UUID]uuid.UUID{}, meta: map[uuid.UUID]files.File{}, data: map[uuid.UUID][]byte{}},
		user: uuid.New(), pngBytes: testdata(t, "pixel.png"), pdfBytes: testdata(t, "hello.pdf"), textBytes: testdata(t, "notes.md")}
	e.png = e.src.add(e.user, "pixel.png", "image/png", e.pngBytes)
	e.pdf = e.src.add(e.user, "hello.pdf", "application/pdf", e.pdfBytes)
	e.text = e.src.add(e.user, "notes.md", "text/plain; charset=utf-8", e.textBytes)
	e.zip = e.src.add(e.user, "a.zip", "application/zip", []byte("PK\x03\x04"))
	e.foreign = e.src.add(uuid.New(), "theirs.png", "image/png", e.pngBytes)
	// One byte over what an image's 5 MiB of base64 can carry.
	e.big = e.src.add(e.user, "big.png", "image/png", make([]byte, MaxImageBase64/4*3+1))
	return e
}

func (e *attachEnv) toLLM(t *testing.T, parts string) (llm.Request, error) {
	t.Helper()
	req := decodeRequest(t, `{"messages":[`+userHi+`,{"role":"user","content":[{"type":"text","text":"look"},`+parts+`]}]}`)
	raw, _ := req.Messages[1].Content.MarshalJSON()
	return toLLM(req, &attacher{ctx: context.Background(), src: e.src, user: e.user, budget: MaxRequestBytes - int64(len(raw))})
}

func filePartJSON(id uuid.UUID) string {
	return `{"type":"file","file":{"file_id":"` + id.String() + `"}}`
}

func imageFileJSON(id uuid.UUID) string {
	return `{"type":"image_url","image_url":{"url":"ccb-file://` + id.String() + `"}}`
}

func TestAttachmentsBecomeBlocks(t *testing.T) {
	t.Parallel()
	e := newAttachEnv(t)
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		name, part string
		want       llm.Part
	}{
		{"a file part naming a PNG is an image", filePartJSON(e.png), llm.Part{Kind: llm.Image, MediaType: "image/png", Data: b64(e.pngBytes)}},
		{"a ccb-file image URL is an image", imageFileJSON(e.png), llm.Part{Kind: llm.Image, MediaType: "image/png", Data: b64(e.pngBytes)}},
		{"a PDF is a base64 document titled with its name", filePartJSON(e.pdf),
			llm.Part{Kind: llm.Document, MediaType: "application/pdf", Data: b64(e.pdfBytes), Title: "hello.pdf"}},
		{"a text file is a plain-text document", filePartJSON(e.text),
			llm.Part{Kind: llm.Document, MediaType: "text/plain", Data: string(e.textBytes), Title: "notes.md"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := e.toLLM(t, tc.part)
			if err != nil {
				t.Fatalf("toLLM: %v", err)
			}
			parts := got.Messages[0].Parts
			if len(parts) != 3 || parts[1].Text != "look" || parts[2].Kind != tc.want.Kind || parts[2].MediaType != tc.want.MediaType ||
				parts[2].Data != tc.want.Data || parts[2].Title != tc.want.Title {
				t.Errorf("parts = %+v, want hi, look, %+v", parts, tc.want)
			}
		})
	}
}

func TestAttachmentsRefused(t *testing.T) {
	t.Parallel()
	e := newAttachEnv(t)
	latin1 := e.src.add(e.user, "l.txt", "text/plain; charset=iso-8859-1", []byte("caf\xe9"))
	badUTF8 := e.src.add(e.user, "b.txt", "text/plain", []byte("caf\xe9"))
	pages := e.src.add(e.user, "long.pdf", "application/pdf", []byte("%PDF-1.4\n"+strings.Repeat("<< /Type /Page /Parent 2 0 R >>\n", MaxPDFPages+1)))
	// Two PDFs that fit one by one but not together: the second overflows the request.
	half := make([]byte, MaxRequestBytes/2/4*3)
	copy(half, "%PDF-1.4\n")
	pdfA, pdfB := e.src.add(e.user, "a.pdf", "application/pdf", half), e.src.add(e.user, "b.pdf", "application/pdf", half)
	const at = "/messages/1/content/1"
	cases := []struct {
		name, parts, pointer string
		kind                 apperr.Kind
		detail               string
	}{
		{"an unsupported type", filePartJSON(e.zip), at, apperr.Invalid, "application/zip cannot be attached"},
		{"an image part naming a PDF", imageFileJSON(e.pdf), at, apperr.Invalid, "must name an image"},
		{"another user's file", filePartJSON(e.foreign), at + "/file/file_id", apperr.NotFound, "no such file"},
		{"another user's file as an image URL", imageFileJSON(e.foreign), at + "/image_url/url", apperr.NotFound, "no such file"},
		{"a missing file", filePartJSON(uuid.New()), at + "/file/file_id", apperr.NotFound, "no such file"},
		{"a file part without file_id", `{"type":"file","file":{}}`, at + "/file/file_id", apperr.Invalid, "needs file.file_id"},
		{"a file id that is no UUID", `{"type":"file","file":{"file_id":"x"}}`, at + "/file/file_id", apperr.Invalid, "not a UUID"},
		{"a ccb-file URL without a UUID", `{"type":"image_url","image_url":{"url":"ccb-file://x"}}`, at + "/image_url/url", apperr.Invalid, "ccb-file://{file id}"},
		{"an image over 5 MiB of base64", filePartJSON(e.big), at, apperr.Invalid, "image is too large"},
		{"a PDF of too many pages", filePartJSON(pages), at, apperr.Invalid, fmt.Sprintf("has %d pages", MaxPDFPages+1)},
		{"attachments over the request limit", filePartJSON(pdfA) + "," + filePartJSON(pdfB), "/messages/1/content/2", apperr.Invalid, "request too large"},
		{"text that is not UTF-8 by its charset", filePartJSON(latin1), at, apperr.Invalid, "charset=iso-8859-1 cannot be attached"},
		{"text that is not UTF-8 by its bytes", filePartJSON(badUTF8), at, apperr.Invalid, "not valid UTF-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := e.toLLM(t, tc.parts)
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != tc.kind || len(ae.Fields) != 1 || ae.Fields[0].Pointer != tc.pointer ||
				!strings.Contains(ae.Detail, tc.detail) {
				t.Fatalf("error = %v (%+v), want kind %v at %s saying %q", err, ae, tc.kind, tc.pointer, tc.detail)
			}
		})
	}
}

func TestAttachmentsNeedAFileSource(t *testing.T) {
	t.Parallel()
	e := newAttachEnv(t)
	req := decodeRequest(t, `{"messages":[{"role":"user","content":[`+filePartJSON(e.png)+`]}]}`)
	_, err := toLLM(req, nil)
	if ae, ok := apperr.As(err); !ok || ae.Kind != apperr.Invalid || ae.Fields[0].Pointer != "/messages/0/content/0" {
		t.Fatalf("error = %v, want 400 at the part", err)
	}
}
