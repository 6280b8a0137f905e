package httpapi

import (
	"log/slog"
	"regexp"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/audit"
)

// wellFormedRequestID accepts client ids that are safe to log and echo back.
var wellFormedRequestID = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// headerRequestID is echo.HeaderXRequestID in canonical form: Echo's spelling ("ID") would be
// canonicalized into a new string on every Get and Set.
const headerRequestID = "X-Request-Id"

// requestIDMiddleware keeps a well-formed X-Request-ID from the client and mints one otherwise;
// the id goes back on every response and into the request context for audit entries.
func requestIDMiddleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			rid := c.Request().Header.Get(headerRequestID)
			if !wellFormedRequestID.MatchString(rid) {
				rid = uuid.NewString()
			}
			c.Set(echo.HeaderXRequestID, rid)
			c.Response().Header().Set(headerRequestID, rid)
			// Domain code records audit events with this request's origin.
			meta := audit.RequestMeta{IP: c.RealIP(), UserAgent: c.Request().UserAgent(), RequestID: rid}
			c.SetRequest(c.Request().WithContext(audit.WithRequestMeta(c.Request().Context(), meta)))
			return next(c)
		}
	}
}

// requestID returns the id requestIDMiddleware assigned.
func requestID(c echo.Context) string {
	if rid, ok := c.Get(echo.HeaderXRequestID).(string); ok {
		return rid
	}
	return ""
}

// observeMiddleware renders errors, then logs and measures every request once it is answered,
// labelled by route template (never the raw path, whose ids would explode the label space).
func observeMiddleware(log *slog.Logger, m *Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			ctx, note := withLogNote(c.Request().Context())
			c.SetRequest(c.Request().WithContext(ctx))
			m.inFlight.Inc()
			defer m.inFlight.Dec()
			c.Response().Before(func() {
				var buf [24]byte // one string for the header value, not a number and a concatenation
				c.Response().Header().Set("X-Response-Time", string(append(strconv.AppendFloat(buf[:0], float64(time.Since(start).Microseconds())/1000, 'f', 3, 64), "ms"...)))
			})
			if err := next(c); err != nil {
				c.Error(err)
			}
			elapsed := time.Since(start)
			route := routeLabel(c)
			status := c.Response().Status
			m.observe(c.Request().Method, route, status, elapsed)
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelError
			}
			if !log.Enabled(c.Request().Context(), level) {
				return nil // the attributes below would be built for nothing
			}
			// One slice sized for the note's attributes too: the line is written on every request.
			attrs := make([]slog.Attr, 0, 7+maxNoteAttrs)
			attrs = append(attrs,
				slog.String("request_id", requestID(c)),
				slog.String("method", c.Request().Method),
				slog.String("route", route),
				slog.Int("status", status),
				slog.Float64("latency_ms", float64(elapsed.Microseconds())/1000),
				slog.Int64("bytes_out", c.Response().Size),
				slog.String("remote_ip", c.RealIP()))
			log.LogAttrs(c.Request().Context(), level, "request", note.appendAttrs(attrs, c)...)
			return nil
		}
	}
}

// routeLabel is the matched route as the spec writes its path template (/v1/sessions/{id}), or
// "unmatched" for 404/405 answers.
func routeLabel(c echo.Context) string {
	if label, ok := c.Get(routeLabelKey).(string); ok {
		return label
	}
	return "unmatched"
}

// routeLabels maps each "METHOD /echo/:path" route to its label, the path in the spec's notation.
func routeLabels(routes []*echo.Route) map[string]string {
	out := make(map[string]string, len(routes))
	for _, r := range routes {
		out[r.Method+" "+r.Path] = echoParam.ReplaceAllString(r.Path, "{$1}")
	}
	return out
}

// echoParam is a path parameter in Echo's notation (:id).
var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

const routeLabelKey = "ccb.route_label"
