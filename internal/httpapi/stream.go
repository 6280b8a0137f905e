package httpapi

import (
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// Operations marked `x-stream: true` in the spec move bodies too large to hold: file uploads
// and downloads. Along their way nothing may buffer the body whole or cut it short:
//   - BodyLimit (CCB_MAX_BODY_BYTES) skips them: the operation enforces its own limit
//     (CCB_MAX_FILE_BYTES) while streaming;
//   - Gzip skips them: a compressor would break byte ranges and gains nothing on stored files;
//   - the request validator checks their parameters and security but not the body (kin-openapi
//     reads a body whole to validate it);
//   - the idempotency fingerprint covers their media type and length instead of the bytes;
//   - the body guard leaves them alone already (it reads JSON and form bodies only).

// streamedRoutes are the "METHOD /echo/:path" routes of the x-stream operations.
func streamedRoutes(spec *openapi3.T) map[string]bool {
	return routesWhere(spec, func(_ *openapi3.PathItem, op *openapi3.Operation) bool {
		v, _ := op.Extensions["x-stream"].(bool)
		return v
	})
}

// streamMatcher recognises x-stream requests before routing (BodyLimit and Gzip run in Pre).
type streamMatcher []struct {
	method string
	path   *regexp.Regexp
}

func newStreamMatcher(spec *openapi3.T) streamMatcher {
	var m streamMatcher
	for path, item := range spec.Paths.Map() {
		for method, op := range item.Operations() {
			if v, _ := op.Extensions["x-stream"].(bool); v {
				re := strings.ReplaceAll(regexp.QuoteMeta(specParam.ReplaceAllString(path, "\x00")), "\x00", "[^/]+")
				m = append(m, struct {
					method string
					path   *regexp.Regexp
				}{method, regexp.MustCompile("^" + re + "$")})
			}
		}
	}
	return m
}

func (m streamMatcher) matches(c echo.Context) bool {
	r := c.Request()
	for _, s := range m {
		if s.method == r.Method && s.path.MatchString(r.URL.Path) {
			return true
		}
	}
	return false
}

// rawUploads lets a streamed upload declare any content type: a body that is not multipart is
// the raw form, handed to the operation as application/octet-stream (the stored type is
// sniffed from the bytes, so the declared one never mattered). A multipart body without a
// boundary is refused here, before the handler would fail to read it.
func rawUploads(streamed map[string]bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Method != http.MethodPost || !streamed[r.Method+" "+c.Path()] {
				return next(c)
			}
			mt, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
			switch {
			case err == nil && mt == echo.MIMEMultipartForm && params["boundary"] == "":
				return apperr.New(apperr.Invalid, "validation_failed", "a multipart body needs a boundary parameter").
					WithFields(apperr.FieldError{Location: apperr.InHeader, Pointer: echo.HeaderContentType, Detail: "no boundary parameter"})
			case err == nil && mt == echo.MIMEMultipartForm:
			default:
				r.Header.Set(echo.HeaderContentType, echo.MIMEOctetStream)
			}
			return next(c)
		}
	}
}
