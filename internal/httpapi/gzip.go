package httpapi

import (
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/labstack/echo/v4"
)

// gzipMinLength is the smallest body worth compressing: below it the gzip framing and the
// client's inflater cost more than the bytes saved.
const gzipMinLength = 1024

// gzipWriters are reused compressors (a new one allocates its match tables). BestSpeed, because
// a list page compresses at about half the CPU of the default level (BenchmarkProjectPageGzip)
// and still to a fraction of its size; klauspost/compress's, which writes the same format in
// about two thirds of the standard library's time at that level, and a little smaller.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed) // a valid level cannot fail
	return zw
}}

// gzipResponses are reused response wrappers; each holds the start of a body in place, so a
// small answer (most of them) costs neither an allocation nor a compressor.
var gzipResponses = sync.Pool{New: func() any { return new(gzipResponse) }}

// gzipMiddleware compresses a response once its body reaches gzipMinLength, for clients that
// accept gzip; skip names the routes that must reach the client unbuffered (streams). Every
// other response says Vary: Accept-Encoding, so that a cache keeps the two forms apart.
func gzipMiddleware(skip func(echo.Context) bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if skip(c) {
				return next(c)
			}
			res := c.Response()
			res.Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
			if !strings.Contains(c.Request().Header.Get(echo.HeaderAcceptEncoding), "gzip") {
				return next(c)
			}
			w := gzipResponses.Get().(*gzipResponse)
			w.ResponseWriter = res.Writer
			res.Writer = w
			defer func() {
				// Only after the handler: an error it returned is rendered later, uncompressed.
				res.Writer = w.ResponseWriter
				w.finish()
				w.ResponseWriter, w.status, w.held, w.zw = nil, 0, nil, nil
				gzipResponses.Put(w)
			}()
			return next(c)
		}
	}
}

// gzipResponse holds the status and the start of the body until it knows whether the body
// reaches gzipMinLength, then writes it compressed or as it is.
type gzipResponse struct {
	http.ResponseWriter
	status int          // held back; 0 until the handler sets it
	held   []byte       // the body so far while it is shorter than gzipMinLength
	zw     *gzip.Writer // set once compressing
	space  [gzipMinLength]byte
}

func (w *gzipResponse) WriteHeader(status int) {
	// The length the handler may have set is the uncompressed one.
	w.Header().Del(echo.HeaderContentLength)
	w.status = status
}

func (w *gzipResponse) Write(b []byte) (int, error) {
	if w.zw != nil {
		return w.zw.Write(b)
	}
	if w.Header().Get(echo.HeaderContentType) == "" {
		// What net/http would sniff from the uncompressed bytes, before they become gzip.
		w.Header().Set(echo.HeaderContentType, http.DetectContentType(b))
	}
	if len(w.held)+len(b) < gzipMinLength {
		if w.held == nil {
			w.held = w.space[:0]
		}
		w.held = append(w.held, b...)
		return len(b), nil
	}
	if err := w.startGzip(); err != nil {
		return 0, err
	}
	return w.zw.Write(b)
}

// startGzip sends the status line with Content-Encoding: gzip and the held bytes into the
// compressor.
func (w *gzipResponse) startGzip() error {
	w.Header().Set(echo.HeaderContentEncoding, "gzip")
	w.ResponseWriter.WriteHeader(w.statusOrOK())
	w.zw = gzipWriters.Get().(*gzip.Writer)
	w.zw.Reset(w.ResponseWriter)
	_, err := w.zw.Write(w.held)
	w.held = nil
	return err
}

func (w *gzipResponse) statusOrOK() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Flush compresses from here on: a handler that flushes does not know its length either.
func (w *gzipResponse) Flush() {
	if w.zw == nil && w.startGzip() != nil {
		return
	}
	_ = w.zw.Flush()
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (Hijack, deadlines).
func (w *gzipResponse) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish ends the response: the compressed stream's trailer, or the held status and body as
// they are. A handler that wrote nothing leaves the response to the error renderer.
func (w *gzipResponse) finish() {
	switch {
	case w.zw != nil:
		_ = w.zw.Close()
		w.zw.Reset(io.Discard) // holds no connection while pooled
		gzipWriters.Put(w.zw)
	case w.status != 0 || len(w.held) > 0:
		w.ResponseWriter.WriteHeader(w.statusOrOK())
		if len(w.held) > 0 {
			_, _ = w.ResponseWriter.Write(w.held)
		}
	}
}
