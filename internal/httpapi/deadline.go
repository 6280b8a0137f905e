package httpapi

import (
	"context"
	"io"
	"net/http"
	"time"
)

// Deadlines are the per-request connection deadlines the server applies instead of
// http.Server's ReadTimeout/WriteTimeout: those count from the start of the request, so they
// would cut every stream that outlives them (and an expired ReadTimeout cancels the request).
type Deadlines struct {
	Body  time.Duration // to finish sending the request body, from when the handler starts
	Write time.Duration // for each response write; streams call ExtendWrite before each chunk
}

type extendKey struct{}

type extendReadKey struct{}

// Wrap applies d to every request of h: the body must arrive within Body (then the read
// deadline is lifted, so the server's own wait for a closed connection does not cancel a long
// response), and the response must be written within Write unless the handler extends it.
func (d Deadlines) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		if d.Write > 0 {
			_ = rc.SetWriteDeadline(now.Add(d.Write))
			extend := func() error { return rc.SetWriteDeadline(time.Now().Add(d.Write)) }
			r = r.WithContext(context.WithValue(r.Context(), extendKey{}, extend))
		}
		if d.Body > 0 && r.Body != nil && r.Body != http.NoBody {
			_ = rc.SetReadDeadline(now.Add(d.Body))
			body := &bodyDeadline{ReadCloser: r.Body, lift: func() { _ = rc.SetReadDeadline(time.Time{}) }}
			extend := func() error {
				if body.done { // lifted for good: the body has ended
					return nil
				}
				return rc.SetReadDeadline(time.Now().Add(d.Body))
			}
			r = r.WithContext(context.WithValue(r.Context(), extendReadKey{}, extend))
			r.Body = body
		}
		h.ServeHTTP(w, r)
	})
}

// ExtendWrite gives the response another full write timeout from now. Streaming writers (SSE,
// WebSockets) call it before each write, so a stream lasts as long as its client keeps reading;
// a client that stops reading is cut off one timeout after its last completed write. Without
// Deadlines (tests on httptest servers) it does nothing.
func ExtendWrite(ctx context.Context) {
	if extend, ok := ctx.Value(extendKey{}).(func() error); ok {
		_ = extend()
	}
}

// ExtendRead gives a streamed request body another full body timeout from now: a streamed
// upload calls it before each read, so it may take as long as its client keeps sending. Without
// Deadlines it does nothing.
func ExtendRead(ctx context.Context) {
	if extend, ok := ctx.Value(extendReadKey{}).(func() error); ok {
		_ = extend()
	}
}

// bodyDeadline lifts the read deadline once the body is read to its end.
type bodyDeadline struct {
	io.ReadCloser
	lift func()
	done bool
}

func (b *bodyDeadline) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		b.lift()
	}
	return n, err
}
