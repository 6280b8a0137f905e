package httpapi

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// The validator (kin-openapi) and the binder (encoding/json) read a JSON body differently: the
// validator matches member names exactly, the binder also accepts any case variant of a declared
// name, and both keep the last of duplicate members and ignore data after the first value. So a
// body can pass validation while the handler binds other values than the ones checked, e.g.
// `"MAX_TOKENS": -1` for a schema that allows unknown members. The body guard refuses every such
// body before the validator sees it, so what is validated is exactly what is bound. It also
// refuses NUL characters, which PostgreSQL cannot store, in bodies and parameters.

// routeBody is what the guard knows of one operation's request body.
type routeBody struct {
	json  bool   // the operation takes a JSON body
	shape *shape // its schema's member names, for spotting case variants; nil: none declared
	form  bool   // the operation takes a URL-encoded form
}

// bodiesByRoute maps "METHOD /echo/:path" to the operation's request body, built once from the spec.
func bodiesByRoute(spec *openapi3.T) map[string]routeBody {
	c := newShapeCompiler()
	out := map[string]routeBody{}
	for path, item := range spec.Paths.Map() {
		echoPath := specParam.ReplaceAllString(path, ":$1")
		for method, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil {
				continue
			}
			var rb routeBody
			for mediaType, mt := range op.RequestBody.Value.Content {
				switch {
				case isJSONMediaType(mediaType):
					rb.json = true
					if mt.Schema != nil && mt.Schema.Value != nil {
						rb.shape = c.compile([]*openapi3.Schema{mt.Schema.Value})
					}
				case mediaType == echo.MIMEApplicationForm:
					rb.form = true
				}
			}
			out[method+" "+echoPath] = rb
		}
	}
	return out
}

// isJSONMediaType reports whether the validator decodes mediaType as JSON.
func isJSONMediaType(mediaType string) bool {
	return mediaType == echo.MIMEApplicationJSON || strings.HasSuffix(mediaType, "+json")
}

// bodyGuard refuses, with 400 and a pointer at the culprit, requests whose JSON body holds a
// member name that only case-folds onto a declared one, a duplicate member or data after the
// value, and NUL characters in a body, a query or a path parameter. It runs after routing (it
// needs the operation) and before the validator, and leaves the body for the validator to read.
func bodyGuard(bodies map[string]routeBody) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if routeLabel(c) == "unmatched" {
				return next(c)
			}
			if err := checkParams(c); err != nil {
				return err
			}
			rb, ok := bodies[c.Request().Method+" "+c.Path()]
			if !ok {
				return next(c)
			}
			if err := checkBody(c, rb); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// checkBody reads the body, checks it if its media type is one the operation takes, and puts it
// back for the validator.
func checkBody(c echo.Context, rb routeBody) error {
	req := c.Request()
	if req.Body == nil || req.Body == http.NoBody {
		return nil
	}
	mediaType, _, err := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
	if err != nil {
		return nil // the validator refuses a content type it cannot read
	}
	isJSON, isForm := rb.json && isJSONMediaType(mediaType), rb.form && mediaType == echo.MIMEApplicationForm
	if !isJSON && !isForm {
		return nil
	}
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return err // the body limit's error, rendered as 413
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) == 0 {
		return nil
	}
	var fe *apperr.FieldError
	if isJSON {
		fe = scanJSON(body, rb.shape)
	} else {
		fe = scanForm(body)
	}
	if fe != nil {
		return invalidField(*fe)
	}
	return nil
}

// scanForm finds a NUL in a URL-encoded body (the password grant's credentials).
func scanForm(body []byte) *apperr.FieldError {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil // the validator refuses a form it cannot parse
	}
	if name, ok := nulIn(values); ok {
		return &apperr.FieldError{Location: apperr.InBody, Pointer: "/" + escapePointer(name), Detail: nulDetail}
	}
	return nil
}

// checkParams refuses a NUL in a query or path parameter. A NUL can only arrive percent-encoded
// (net/http refuses control characters in the request line), which the cheap tests look for.
func checkParams(c echo.Context) error {
	u := c.Request().URL
	if strings.Contains(u.RawQuery, "%00") {
		if name, ok := nulIn(c.QueryParams()); ok {
			return invalidField(apperr.FieldError{Location: apperr.InQuery, Pointer: name, Detail: nulDetail})
		}
	}
	if hasNUL(u.Path) {
		values := c.ParamValues()
		for i, name := range c.ParamNames() {
			if i >= len(values) {
				break
			}
			// Echo leaves values escaped when it routed on the raw path; the binder unescapes them.
			v, err := url.PathUnescape(values[i])
			if hasNUL(values[i]) || (err == nil && hasNUL(v)) {
				return invalidField(apperr.FieldError{Location: apperr.InPath, Pointer: name, Detail: nulDetail})
			}
		}
	}
	return nil
}

const nulDetail = "NUL characters (U+0000) are not allowed"

// nulIn returns the name of a parameter whose name or a value holds a NUL.
func nulIn(values url.Values) (string, bool) {
	for name, vs := range values {
		if hasNUL(name) {
			return name, true
		}
		for _, v := range vs {
			if hasNUL(v) {
				return name, true
			}
		}
	}
	return "", false
}

func hasNUL(s string) bool { return strings.IndexByte(s, 0) >= 0 }

func invalidField(fe apperr.FieldError) error {
	return apperr.New(apperr.Invalid, "validation_failed", fe.Detail).WithFields(fe)
}
