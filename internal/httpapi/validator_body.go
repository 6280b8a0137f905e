package httpapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/labstack/echo/v4"
)

// kin-openapi validates a request body "as a request": for every object it sorts the schema's
// property names to look for readOnly members and defaults to fill in, and for every oneOf it
// deep-copies the value per branch and visits the matching branch twice, so that a default
// injected by a failing branch does not stick. A body schema that declares no readOnly member
// and no default anywhere gets nothing from that work, and a valid body nothing from the error
// texts built for failing oneOf branches: together about a third of validating a typical chat
// request (BenchmarkValidateChat).
// For such schemas a JSON body is decoded by kin-openapi's own decoder and checked by its own
// schema visitor without both; whatever that check does not accept (or any request it was not
// built for) goes through kin-openapi's ValidateRequestBody as before, so every refusal is kin's
// own error, word for word.

// plainJSONBodies returns the request bodies whose application/json schema the shortcut covers:
// the only media type of an OpenAPI 3.0 operation, an object schema without encodings, and no
// readOnly member or default in any schema it reaches.
func plainJSONBodies(spec *openapi3.T) map[*openapi3.Operation]*openapi3.MediaType {
	out := map[*openapi3.Operation]*openapi3.MediaType{}
	if spec.IsOpenAPI31OrLater() {
		return out // validated with the JSON Schema 2020-12 validator instead
	}
	for _, item := range spec.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody == nil || op.RequestBody.Value == nil || len(op.RequestBody.Value.Content) != 1 {
				continue
			}
			mt := op.RequestBody.Value.Content[echo.MIMEApplicationJSON]
			if mt == nil || mt.Schema == nil || mt.Schema.Value == nil || len(mt.Encoding) != 0 ||
				!mt.Schema.Value.Type.Is(openapi3.TypeObject) || asRequestMatters(mt.Schema.Value, map[*openapi3.Schema]bool{}) {
				continue
			}
			out[op] = mt
		}
	}
	return out
}

// asRequestMatters reports whether s or a schema below it declares a readOnly member or a
// default: the only things visiting a value as a request reads.
func asRequestMatters(s *openapi3.Schema, seen map[*openapi3.Schema]bool) bool {
	if s == nil || seen[s] {
		return false
	}
	seen[s] = true
	if s.ReadOnly || s.Default != nil {
		return true
	}
	refs := []*openapi3.SchemaRef{s.Items, s.AdditionalProperties.Schema, s.Not}
	for _, group := range []openapi3.SchemaRefs{s.AllOf, s.OneOf, s.AnyOf} {
		refs = append(refs, group...)
	}
	for _, p := range s.Properties {
		refs = append(refs, p)
	}
	for _, r := range refs {
		if r != nil && asRequestMatters(r.Value, seen) {
			return true
		}
	}
	return false
}

// shortcutApplies reports whether options leave the body validation the shortcut repeats
// unchanged: error formatting aside, these are the options ValidateRequestBody reads.
func shortcutApplies(options *openapi3filter.Options) bool {
	return !options.ExcludeRequestBody && !options.MultiError && !options.KeepValidatedValue &&
		options.RegexCompiler == nil && len(options.SchemaValidationOptions) == 0
}

// validBody reports whether req's body is a JSON value that mt's schema accepts, checked as
// ValidateRequestBody would check it. false means "not shown valid here", never "invalid": the
// caller then asks ValidateRequestBody, which reads the body put back here. Only a body that
// cannot be read is an error, the one ValidateRequestBody gives (the body limit's, as a 413).
func validBody(input *openapi3filter.RequestValidationInput, mt *openapi3.MediaType) (bool, error) {
	data, checkable, err := takeBody(input, mt)
	if !checkable || err != nil {
		return false, err
	}
	return shownValid(data, mt), nil
}

// takeBody reads req's body for the shortcut and puts it back as ValidateRequestBody leaves it,
// for the handler (or for ValidateRequestBody). checkable is false when the shortcut does not
// apply (another media type, no body); the body is then left unread.
func takeBody(input *openapi3filter.RequestValidationInput, mt *openapi3.MediaType) (data []byte, checkable bool, err error) {
	req, rb := input.Request, input.Route.Operation.RequestBody.Value
	ct := req.Header.Get(echo.HeaderContentType)
	mediaType, _, _ := strings.Cut(ct, ";")
	if rb.Content.Get(ct) != mt || strings.ToLower(strings.TrimSpace(mediaType)) != echo.MIMEApplicationJSON || req.Body == nil || req.Body == http.NoBody {
		return nil, false, nil
	}
	data, err = io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, false, &openapi3filter.RequestError{Input: input, RequestBody: rb, Reason: "reading failed", Err: err}
	}
	req.ContentLength = int64(len(data))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	req.Body, _ = req.GetBody()
	return data, len(data) > 0, nil
}

// shownValid reports whether data, a JSON body, decodes and meets mt's schema. It reads nothing
// but its arguments, so it may run beside the security check (specRoutes.validate).
func shownValid(data []byte, mt *openapi3.MediaType) bool {
	decode := openapi3filter.RegisteredBodyDecoder(echo.MIMEApplicationJSON)
	if decode == nil {
		return false
	}
	// kin-openapi's JSON decoder reads neither the header nor the encodings.
	value, err := decode(bytes.NewReader(data), http.Header{}, mt.Schema, func(string) *openapi3.Encoding { return nil })
	// FailFast: a refusal is answered by ValidateRequestBody, so no error text is built here.
	return err == nil && mt.Schema.Value.VisitJSON(value, openapi3.FailFast()) == nil
}

// validateBody validates input's body against the operation's request body, taking the
// shortcut where mt (not nil) allows it.
func validateBody(ctx context.Context, input *openapi3filter.RequestValidationInput, mt *openapi3.MediaType) error {
	if ok, err := validBody(input, mt); ok || err != nil {
		return err
	}
	return openapi3filter.ValidateRequestBody(ctx, input, input.Route.Operation.RequestBody.Value)
}
