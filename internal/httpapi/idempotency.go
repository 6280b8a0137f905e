package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/idempotency"
)

const (
	idempotencyKeyHeader      = "Idempotency-Key"
	idempotentReplayedHeader  = "Idempotent-Replayed"
	maxIdempotentResponseBody = 1 << 20 // larger responses are not kept: the claim is released
	idempotencySettleTimeout  = 5 * time.Second
)

// replayedHeaders are the response headers a replay repeats besides the body.
var replayedHeaders = []string{echo.HeaderContentType, "ETag", echo.HeaderLocation}

// secretBearingRoutes are the "METHOD /echo/:path" routes whose operation says
// `x-idempotent-replay: without-secret`: their success shows a secret once, so it is never kept
// nor replayed.
func secretBearingRoutes(spec *openapi3.T) map[string]bool {
	return routesWhere(spec, func(_ *openapi3.PathItem, op *openapi3.Operation) bool {
		mode, _ := op.Extensions["x-idempotent-replay"].(string)
		return mode == "without-secret"
	})
}

// errSecretNotReplayable answers a retry of a secret-bearing create that succeeded.
var errSecretNotReplayable = apperr.New(apperr.Conflict, "secret_not_replayable",
	"the first request with this Idempotency-Key succeeded; its secret was shown once and is not shown again")

type subjectKey struct{}

// noteCreated tells the idempotency middleware which resource ctx's request made, so that ending
// the resource can drop the stored response (see idempotency.Response.Subject).
func noteCreated(ctx context.Context, id uuid.UUID) {
	if holder, ok := ctx.Value(subjectKey{}).(*uuid.UUID); ok {
		*holder = id
	}
}

// idempotentRoutes are the "METHOD /echo/:path" routes whose operation declares the
// Idempotency-Key header: an operation opts in through the spec, nowhere else.
func idempotentRoutes(spec *openapi3.T) map[string]bool {
	return routesWhere(spec, func(item *openapi3.PathItem, op *openapi3.Operation) bool {
		return declaresHeader(item.Parameters, idempotencyKeyHeader) || declaresHeader(op.Parameters, idempotencyKeyHeader)
	})
}

func declaresHeader(params openapi3.Parameters, name string) bool {
	for _, p := range params {
		if p != nil && p.Value != nil && p.Value.In == openapi3.ParameterInHeader && strings.EqualFold(p.Value.Name, name) {
			return true
		}
	}
	return false
}

// idempotencyMiddleware makes the routes in idempotent safe to retry: the first request with a
// given Idempotency-Key runs and its response is kept; a retry with the same request replays it
// byte for byte; the same key with another request is a 422 and a retry while the first still
// runs is a 409. Keys are scoped to the authenticated user. It must run after authentication
// (it needs the principal) and validation (the key's format is the spec's business).
//
// A secret-bearing route's success is kept without its body and a retry of it is a 409
// secret_not_replayable: nothing is created twice, and a secret is shown once only — never from
// storage, even to the caller who holds the key (who may be an attacker holding a stolen token).
//
// A streamed route's body is not read here (it may be gigabytes): its fingerprint covers the
// media type and Content-Length in place of the bytes.
func idempotencyMiddleware(keys *idempotency.Store, idempotent, secretBearing, streamed map[string]bool, log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			key := req.Header.Get(idempotencyKeyHeader)
			if keys == nil || key == "" || !idempotent[req.Method+" "+c.Path()] {
				return next(c)
			}
			p, ok := c.Get(principalKey).(auth.Principal)
			if !ok {
				return next(c)
			}
			body, err := fingerprintBody(req, streamed[req.Method+" "+c.Path()])
			if err != nil {
				return err // the error handler recognises the body limit
			}
			hash := requestHash(req, c.Path(), body)
			out, err := keys.Claim(req.Context(), p.UserID, key, req.Method, c.Path(), hash, time.Now())
			if err != nil {
				return err
			}
			switch out.Kind {
			case idempotency.Mismatch:
				return apperr.New(apperr.Unprocessable, "idempotency_key_reused",
					"this Idempotency-Key was already used for a different request")
			case idempotency.InProgress:
				return apperr.New(apperr.Conflict, "idempotency_in_progress",
					"a request with this Idempotency-Key is still being processed; retry shortly").WithRetryAfter(time.Second)
			case idempotency.Replay:
				if secretBearing[req.Method+" "+c.Path()] && out.Response.Status < http.StatusMultipleChoices {
					return errSecretNotReplayable
				}
				return replayResponse(c, out.Response)
			}
			return runClaimed(c, next, keys, out.Claim, secretBearing[req.Method+" "+c.Path()], log)
		}
	}
}

// fingerprintBody returns what of the body goes into the request hash: the bytes (read and put
// back), or for a streamed body its media type and declared length.
func fingerprintBody(req *http.Request, streamed bool) ([]byte, error) {
	if streamed {
		mt, _, _ := mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
		return []byte(mt + "\x00" + strconv.FormatInt(req.ContentLength, 10)), nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// requestHash fingerprints what makes two requests "the same": method, route template, the
// concrete path and query (a key reused for another resource is a different request) and the
// raw body. Each part is length-prefixed so that parts cannot run into each other.
func requestHash(req *http.Request, route string, body []byte) []byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(req.Method), []byte(route), []byte(req.URL.EscapedPath()), []byte(req.URL.RawQuery), body} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return h.Sum(nil)
}

func replayResponse(c echo.Context, resp idempotency.Response) error {
	h := c.Response().Header()
	for _, name := range replayedHeaders {
		if v := resp.Header.Values(name); len(v) > 0 {
			h[http.CanonicalHeaderKey(name)] = v
		}
	}
	h.Set(idempotentReplayedHeader, "true")
	c.Response().WriteHeader(resp.Status)
	_, err := c.Response().Write(resp.Body)
	return err
}

// runClaimed runs the request holding claim, then keeps its response (2xx–4xx) or releases the
// key so that the client may retry (an error, a 5xx, a panic or a response too large to keep).
// A success of a secretBearing route is kept without its body.
func runClaimed(c echo.Context, next echo.HandlerFunc, keys *idempotency.Store, claim idempotency.Claim, secretBearing bool, log *slog.Logger) error {
	var subject uuid.UUID
	c.SetRequest(c.Request().WithContext(context.WithValue(c.Request().Context(), subjectKey{}, &subject)))
	res := c.Response()
	rec := &teeWriter{ResponseWriter: res.Writer, limit: maxIdempotentResponseBody}
	res.Writer = rec
	settled := false
	// The outcome is recorded even if the client has gone away meanwhile.
	settle := func(keep bool) {
		settled = true
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), idempotencySettleTimeout)
		defer cancel()
		var err error
		if keep {
			kept := idempotency.Response{Status: res.Status, Header: pickHeaders(res.Header()), Body: rec.buf.Bytes(), Subject: subject}
			if secretBearing && res.Status < http.StatusMultipleChoices {
				kept.Body = nil
			}
			err = keys.Complete(ctx, claim, kept)
		} else {
			err = keys.Release(ctx, claim)
		}
		if err != nil && !errors.Is(err, idempotency.ErrClaimLost) {
			log.Error("idempotency: settling a claim failed", slog.String("request_id", requestID(c)),
				slog.Bool("complete", keep), slog.String("error", err.Error()))
		}
	}
	defer func() {
		res.Writer = rec.ResponseWriter
		if !settled { // a panic: let the client retry
			settle(false)
		}
	}()
	err := next(c)
	settle(err == nil && res.Committed && res.Status < http.StatusInternalServerError && !rec.overflow)
	return err
}

func pickHeaders(h http.Header) http.Header {
	out := http.Header{}
	for _, name := range replayedHeaders {
		if v := h.Values(name); len(v) > 0 {
			out[http.CanonicalHeaderKey(name)] = append([]string(nil), v...)
		}
	}
	return out
}

// teeWriter passes the response through and keeps a copy of its body up to limit bytes.
type teeWriter struct {
	http.ResponseWriter
	buf      bytes.Buffer
	limit    int
	overflow bool
}

func (w *teeWriter) Write(p []byte) (int, error) {
	if !w.overflow {
		if w.buf.Len()+len(p) > w.limit {
			w.overflow = true
			w.buf = bytes.Buffer{} // stop holding what will not be kept
		} else {
			w.buf.Write(p)
		}
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer (Flush, deadlines).
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
