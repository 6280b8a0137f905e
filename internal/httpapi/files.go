package httpapi

import (
	"context"
	"errors"
	"io"
	"mime/multipart"
	"strings"
	"time"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/files"
	"github.com/ccbackend/ccbackend/internal/page"
)

// FileHandlers serve the `files` tag.
type FileHandlers struct {
	files *files.Service
}

// NewFileHandlers returns the files handlers.
func NewFileHandlers(f *files.Service) *FileHandlers { return &FileHandlers{files: f} }

// UploadFile streams a multipart or raw upload into the store.
func (h *FileHandlers) UploadFile(ctx context.Context, req api.UploadFileRequestObject) (api.UploadFileResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	fields := files.UploadFields{Name: orEmpty(req.Params.Filename), Path: orEmpty(req.Params.Path), ProjectID: req.Params.ProjectId}
	var parts files.Parts
	switch {
	case req.MultipartBody != nil:
		parts = &multipartParts{ctx: ctx, r: req.MultipartBody}
	case req.Body != nil:
		parts = &rawParts{body: extendingReader{ctx: ctx, r: req.Body}}
	default:
		return nil, apperr.New(apperr.Invalid, "validation_failed", "the body is missing")
	}
	f, err := h.files.UploadFile(ctx, p.UserID, fields, parts)
	if err != nil {
		return nil, err
	}
	noteCreated(ctx, f.ID)
	return api.UploadFile201JSONResponse{Body: fileBody(f), Headers: api.UploadFile201ResponseHeaders{ETag: etag(f.Version)}}, nil
}

// ListFiles pages through the caller's files or one directory of a tree.
func (h *FileHandlers) ListFiles(ctx context.Context, req api.ListFilesRequestObject) (api.ListFilesResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	body, err := listOf(infallible(entryBody))(h.files.ListFiles(ctx, p.UserID, req.Params.ProjectId, req.Params.Prefix, page.Params(req.Params.Limit, req.Params.Cursor)))
	return api.ListFiles200JSONResponse(body), err
}

// GetFileUsage reports the caller's storage use.
func (h *FileHandlers) GetFileUsage(ctx context.Context, _ api.GetFileUsageRequestObject) (api.GetFileUsageResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	u, err := h.files.GetFileUsage(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return api.GetFileUsage200JSONResponse{UsedBytes: u.UsedBytes, QuotaBytes: u.QuotaBytes, FileCount: u.FileCount}, nil
}

// GetFile returns a file's metadata.
func (h *FileHandlers) GetFile(ctx context.Context, req api.GetFileRequestObject) (api.GetFileResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	f, err := h.files.GetFile(ctx, p.UserID, req.Id)
	if err != nil {
		return nil, err
	}
	return api.GetFile200JSONResponse{Body: fileBody(f), Headers: api.GetFile200ResponseHeaders{ETag: etag(f.Version)}}, nil
}

// UpdateFile renames or moves a file.
func (h *FileHandlers) UpdateFile(ctx context.Context, req api.UpdateFileRequestObject) (api.UpdateFileResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	f, err := h.files.UpdateFile(ctx, p.UserID, req.Id, req.Body.Path, parseIfMatch(req.Params.IfMatch))
	if err != nil {
		return nil, err
	}
	return api.UpdateFile200JSONResponse{Body: fileBody(f), Headers: api.UpdateFile200ResponseHeaders{ETag: etag(f.Version)}}, nil
}

// DeleteFile deletes a file.
func (h *FileHandlers) DeleteFile(ctx context.Context, req api.DeleteFileRequestObject) (api.DeleteFileResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.files.DeleteFile(ctx, p.UserID, req.Id, parseIfMatch(req.Params.IfMatch)); err != nil {
		return nil, err
	}
	return api.DeleteFile204Response{}, nil
}

// CreateFileUrl returns a short-lived download URL.
func (h *FileHandlers) CreateFileUrl(ctx context.Context, req api.CreateFileUrlRequestObject) (api.CreateFileUrlResponseObject, error) { //nolint:revive // the operationId
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	ttl := 300 * time.Second
	if req.Body != nil && req.Body.ExpiresIn != nil {
		ttl = time.Duration(*req.Body.ExpiresIn) * time.Second
	}
	u, err := h.files.CreateFileUrl(ctx, p.UserID, req.Id, ttl)
	if err != nil {
		return nil, err
	}
	return api.CreateFileUrl200JSONResponse{Url: u.URL, ExpiresAt: apitime.New(u.Expires)}, nil
}

func fileBody(f files.File) api.File {
	b := api.File{Id: f.ID, Name: f.Name, ProjectId: f.ProjectID, Size: f.Size, ContentType: f.ContentType, Sha256: f.SHA256,
		Version: f.Version, CreatedAt: apitime.New(f.CreatedAt), UpdatedAt: apitime.New(f.UpdatedAt)}
	if f.Path != "" {
		b.Path = &f.Path
	}
	return b
}

func entryBody(e files.Entry) api.FileEntry {
	if e.Dir {
		n := e.FileCount
		return api.FileEntry{Kind: api.FileEntryKindDirectory, Name: e.Name, Path: e.Path, FileCount: &n}
	}
	f := fileBody(e.File)
	return api.FileEntry{Kind: api.FileEntryKindFile, Name: f.Name, Path: e.Path, Id: &f.Id, ProjectId: f.ProjectId, Size: &f.Size,
		ContentType: &f.ContentType, Sha256: &f.Sha256, Version: &f.Version, CreatedAt: &f.CreatedAt, UpdatedAt: &f.UpdatedAt}
}

// maxFieldBytes bounds a multipart field other than the file (a path is at most 4 KiB).
const maxFieldBytes = 8 << 10

// multipartParts walks a multipart body part by part without buffering the file part.
type multipartParts struct {
	ctx context.Context
	r   *multipart.Reader
}

func (m *multipartParts) Next() (files.Part, error) {
	part, err := m.r.NextPart()
	if errors.Is(err, io.EOF) {
		return files.Part{}, io.EOF
	}
	if err != nil {
		return files.Part{}, apperr.Wrap(err, apperr.Invalid, "validation_failed", "the multipart body is malformed")
	}
	if part.FormName() == "file" {
		return files.Part{File: extendingReader{ctx: m.ctx, r: part}, FileName: part.FileName()}, nil
	}
	v, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
	if err != nil {
		return files.Part{}, apperr.Wrap(err, apperr.Invalid, "validation_failed", "the multipart body is malformed")
	}
	if len(v) > maxFieldBytes {
		return files.Part{}, apperr.New(apperr.Invalid, "validation_failed", "a form field is too long").
			WithFields(apperr.FieldError{Location: apperr.InBody, Pointer: "/" + escapePointer(part.FormName()), Detail: "is longer than 8 KiB"})
	}
	return files.Part{Field: part.FormName(), Value: strings.TrimRight(string(v), "\r\n")}, nil
}

// rawParts is the raw-body form: one file part.
type rawParts struct {
	body io.Reader
	done bool
}

func (r *rawParts) Next() (files.Part, error) {
	if r.done {
		return files.Part{}, io.EOF
	}
	r.done = true
	return files.Part{File: r.body}, nil
}

// extendingReader gives a streamed body another body timeout with every read, so a large
// upload is bounded by idleness, not by its total duration.
type extendingReader struct {
	ctx context.Context
	r   io.Reader
}

func (e extendingReader) Read(p []byte) (int, error) {
	ExtendRead(e.ctx)
	return e.r.Read(p)
}
