package httpapi

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/files"
)

// GetFileContent serves a file's bytes.
func (h *FileHandlers) GetFileContent(ctx context.Context, req api.GetFileContentRequestObject) (api.GetFileContentResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	c, err := h.files.GetFileContent(ctx, p.UserID, req.Id)
	if err != nil {
		return nil, err
	}
	s, err := serve(ctx, c, req.Params.Range, req.Params.IfNoneMatch)
	switch {
	case err != nil:
		return nil, err
	case s.notModified:
		return api.GetFileContent304Response{Headers: api.FileNotModifiedResponseHeaders{ETag: s.headers.ETag}}, nil
	case s.partial:
		return api.GetFileContent206AsteriskResponse{FilePartialAsteriskResponse: s.partialBody()}, nil
	}
	return api.GetFileContent200AsteriskResponse{FileBytesAsteriskResponse: s.wholeBody()}, nil
}

// DownloadFile serves a file's bytes through a signed URL (no credentials).
func (h *FileHandlers) DownloadFile(ctx context.Context, req api.DownloadFileRequestObject) (api.DownloadFileResponseObject, error) {
	c, err := h.files.DownloadFile(ctx, req.Id, req.Params.Expires, req.Params.Signature)
	if err != nil {
		return nil, err
	}
	s, err := serve(ctx, c, req.Params.Range, req.Params.IfNoneMatch)
	switch {
	case err != nil:
		return nil, err
	case s.notModified:
		return api.DownloadFile304Response{Headers: api.FileNotModifiedResponseHeaders{ETag: s.headers.ETag}}, nil
	case s.partial:
		return api.DownloadFile206AsteriskResponse{FilePartialAsteriskResponse: s.partialBody()}, nil
	}
	return api.DownloadFile200AsteriskResponse{FileBytesAsteriskResponse: s.wholeBody()}, nil
}

// served is what serve decided: 304, or the bytes of a range (partial) or of the whole file.
type served struct {
	notModified, partial bool
	headers              api.FileBytesResponseHeaders
	contentRange         string
	contentType          string
	length               int64
	body                 io.Reader
}

func (s served) wholeBody() api.FileBytesAsteriskResponse {
	return api.FileBytesAsteriskResponse{Body: s.body, Headers: s.headers, ContentType: s.contentType, ContentLength: s.length}
}

func (s served) partialBody() api.FilePartialAsteriskResponse {
	h := s.headers
	return api.FilePartialAsteriskResponse{Body: s.body, ContentType: s.contentType, ContentLength: s.length,
		Headers: api.FilePartialResponseHeaders{ETag: h.ETag, ContentDisposition: h.ContentDisposition,
			ContentSecurityPolicy: h.ContentSecurityPolicy, AcceptRanges: h.AcceptRanges, ContentRange: s.contentRange}}
}

// serve applies If-None-Match (it wins over Range, RFC 9110 §13.2.2), then Range, and opens
// the bytes to send. The headers keep a stored file inert on this origin whatever it holds.
func serve(ctx context.Context, c files.Content, rangeHeader, ifNoneMatch *string) (served, error) {
	tag := `"` + c.SHA256 + `"`
	bytesUnit := "bytes"
	s := served{contentType: c.ContentType, headers: api.FileBytesResponseHeaders{
		ETag: tag, ContentDisposition: contentDisposition(c.Name), ContentSecurityPolicy: "sandbox", AcceptRanges: &bytesUnit}}
	if ifNoneMatch != nil && etagListMatches(*ifNoneMatch, tag) {
		s.notModified = true
		return s, nil
	}
	offset, length := int64(0), c.Size
	if rangeHeader != nil {
		first, n, ok, err := parseRange(*rangeHeader, c.Size)
		if err != nil {
			if h := responseHeader(ctx); h != nil {
				h.Set("Content-Range", fmt.Sprintf("bytes */%d", c.Size))
			}
			return served{}, err
		}
		if ok {
			offset, length, s.partial = first, n, true
			s.contentRange = fmt.Sprintf("bytes %d-%d/%d", first, first+n-1, c.Size)
		}
	}
	r, err := c.Read(ctx, offset, length)
	if err != nil {
		return served{}, err
	}
	s.body, s.length = extendingWriteReader{ctx: ctx, r: r}, length
	return s, nil
}

// extendingWriteReader gives the response another write timeout before each chunk, so a large
// download is bounded by a stalled client, not by its total duration. Close reaches the blob.
type extendingWriteReader struct {
	ctx context.Context
	r   io.ReadCloser
}

func (e extendingWriteReader) Read(p []byte) (int, error) {
	ExtendWrite(e.ctx)
	return e.r.Read(p)
}

func (e extendingWriteReader) Close() error { return e.r.Close() }

var errRange = apperr.New(apperr.RangeNotSatisfiable, "range_not_satisfiable", "the requested range starts past the end of the file")

// parseRange reads one byte range of a file of size bytes: ok false means "serve it whole"
// (no, several, or a malformed range: RFC 9110 §14.2 lets a server ignore those); an error is
// a range that cannot be satisfied (416).
func parseRange(h string, size int64) (first, length int64, ok bool, err error) {
	spec, found := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, nil
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, nil
	}
	if a == "" { // suffix: the last b bytes
		n, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || n < 0 {
			return 0, 0, false, nil
		}
		if n == 0 || size == 0 {
			return 0, 0, false, errRange
		}
		n = min(n, size)
		return size - n, n, true, nil
	}
	start, perr := strconv.ParseInt(a, 10, 64)
	if perr != nil || start < 0 {
		return 0, 0, false, nil
	}
	end := size - 1
	if b != "" {
		e, perr := strconv.ParseInt(b, 10, 64)
		if perr != nil || e < start {
			return 0, 0, false, nil
		}
		end = min(e, size-1)
	}
	if start >= size {
		return 0, 0, false, errRange
	}
	return start, end - start + 1, true, nil
}

// etagListMatches is If-None-Match's weak comparison against one strong tag.
func etagListMatches(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

// contentDisposition makes `attachment` with an ASCII fallback filename (quotes, backslashes,
// controls, bidirectional and other non-ASCII characters replaced by "_") and the exact name
// percent-encoded per RFC 8187 in filename*, minus the characters that could reorder or break
// what a browser displays (controls and bidirectional formatting, replaced by "_" there too).
func contentDisposition(name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			r = '_'
		}
		if r >= 0x20 && r < 0x7F && r != '"' && r != '\\' && r != '%' {
			ascii.WriteRune(r)
		} else {
			ascii.WriteByte('_')
		}
		for _, b := range []byte(string(r)) {
			if isAttrChar(b) {
				ext.WriteByte(b)
			} else {
				fmt.Fprintf(&ext, "%%%02X", b)
			}
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar is RFC 8187's attr-char: what filename* carries unencoded.
func isAttrChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", b) >= 0
}
