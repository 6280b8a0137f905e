package chat

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/files"
	"github.com/ccbackend/ccbackend/internal/llm"
)

// FileSource reads the caller's stored files; files.Service implements it (wired in internal/app).
type FileSource interface {
	// Open returns user's file id and a reader of its bytes, which the caller closes. Another
	// user's file and a missing one are the same apperr.NotFound. The file's ContentType was
	// sniffed from its bytes at upload, never taken from the client.
	Open(ctx context.Context, user, id uuid.UUID) (files.File, io.ReadCloser, error)
}

// FileURLScheme prefixes an image part's URL that names a stored file: ccb-file://{id}.
const FileURLScheme = "ccb-file://"

// The upstream's limits (Anthropic's Messages API), checked before anything is sent so that an
// oversized attachment is a clear 400 at its part rather than an upstream refusal.
const (
	// MaxImageBase64 bounds one image's base64 data (5 MiB: Anthropic measures the encoded
	// string), so an image file may hold at most 3,932,160 bytes.
	MaxImageBase64 = 5 << 20
	// MaxPDFPages bounds one PDF's pages.
	MaxPDFPages = 100
	// MaxRequestBytes bounds the upstream request (32 MB): the messages' JSON plus every
	// attachment as sent (base64 for images and PDFs, the text for text files). A PDF, which
	// Anthropic also caps at 32 MB, is bound by this total.
	MaxRequestBytes = 32_000_000
)

// attacher resolves file parts into content blocks for one request, counting what the
// attachments add to the upstream request.
type attacher struct {
	ctx    context.Context
	src    FileSource
	user   uuid.UUID
	budget int64 // bytes the attachments may still add
}

// attachKind is what a stored file becomes.
type attachKind int

const (
	unsupported attachKind = iota
	asImage
	asPDF
	asText
)

// attach reads the caller's file id, named by the part at pointer (ref points at the id
// itself), and returns its content block. imageOnly is set for image parts, which must name
// an image.
func (a *attacher) attach(pointer, ref string, id uuid.UUID, imageOnly bool) (llm.Part, error) {
	if a == nil || a.src == nil {
		return llm.Part{}, invalid(pointer, "file attachments are not available on this server")
	}
	f, r, err := a.src.Open(a.ctx, a.user, id)
	if apperr.KindOf(err) == apperr.NotFound {
		return llm.Part{}, apperr.Wrap(err, apperr.NotFound, "file_not_found", "no such file: "+id.String()).
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: ref, Detail: "no such file"})
	}
	if err != nil {
		return llm.Part{}, fmt.Errorf("chat: opening file %s: %w", id, err)
	}
	defer func() { _ = r.Close() }()
	mediaType, kind := classify(f.ContentType)
	switch {
	case kind == unsupported:
		return llm.Part{}, invalid(pointer, fmt.Sprintf("files of type %s cannot be attached (images: png, jpeg, gif, webp; PDF; text)", mediaType))
	case imageOnly && kind != asImage:
		return llm.Part{}, invalid(pointer, fmt.Sprintf("an image part must name an image; this file is %s (use a file part)", mediaType))
	}
	sent := f.Size // what the attachment adds to the upstream request
	if kind != asText {
		sent = int64(base64.StdEncoding.EncodedLen(int(min(f.Size, MaxRequestBytes+1))))
	}
	if err := a.fits(pointer, kind, sent); err != nil {
		return llm.Part{}, err
	}
	data, err := io.ReadAll(io.LimitReader(r, f.Size+1))
	switch {
	case err != nil:
		return llm.Part{}, fmt.Errorf("chat: reading file %s: %w", id, err)
	case int64(len(data)) != f.Size:
		return llm.Part{}, fmt.Errorf("chat: file %s holds %d bytes, its metadata says %d", id, len(data), f.Size)
	}
	a.budget -= sent
	return blockOf(pointer, kind, mediaType, f.Name, data)
}

// fits checks one attachment of sent bytes against the upstream's limits.
func (a *attacher) fits(pointer string, kind attachKind, sent int64) error {
	if kind == asImage && sent > MaxImageBase64 {
		return invalid(pointer, fmt.Sprintf("the image is too large: the upstream takes images of at most %d bytes of base64 (%d bytes of file)",
			MaxImageBase64, MaxImageBase64/4*3))
	}
	if sent > a.budget {
		return invalid(pointer, fmt.Sprintf("the attachments make the request too large: the upstream takes at most %d bytes per request (attachments count as sent, images and PDFs in base64)",
			MaxRequestBytes))
	}
	return nil
}

// blockOf builds the content block of an attachment's bytes.
func blockOf(pointer string, kind attachKind, mediaType, name string, data []byte) (llm.Part, error) {
	switch kind {
	case asImage:
		return llm.Part{Kind: llm.Image, MediaType: mediaType, Data: base64.StdEncoding.EncodeToString(data)}, nil
	case asPDF:
		if n := pdfPages(data); n > MaxPDFPages {
			return llm.Part{}, invalid(pointer, fmt.Sprintf("the PDF has %d pages; the upstream takes at most %d", n, MaxPDFPages))
		}
		return llm.Part{Kind: llm.Document, MediaType: "application/pdf", Data: base64.StdEncoding.EncodeToString(data), Title: name}, nil
	default:
		text, err := utf8Text(data)
		if err != nil {
			return llm.Part{}, invalid(pointer, err.Error())
		}
		return llm.Part{Kind: llm.Document, MediaType: "text/plain", Data: text, Title: name}, nil
	}
}

// parseFileURL reads the id of a ccb-file:// URL.
func parseFileURL(url string) (uuid.UUID, bool, error) {
	rest, ok := strings.CutPrefix(url, FileURLScheme)
	if !ok {
		return uuid.UUID{}, false, nil
	}
	id, err := uuid.Parse(rest)
	if err != nil || len(rest) != 36 {
		return uuid.UUID{}, true, errors.New("a ccb-file URL is ccb-file://{file id}, the id a UUID")
	}
	return id, true, nil
}
