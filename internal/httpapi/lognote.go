package httpapi

import (
	"context"
	"log/slog"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/auth"
)

// logNote carries what a handler learns that the request log line should say (the upstream's
// request id of a chat completion); observeMiddleware puts one on every request's context.
type logNote struct {
	mu                sync.Mutex
	upstreamRequestID string
}

type logNoteKey struct{}

func withLogNote(ctx context.Context) (context.Context, *logNote) {
	n := &logNote{}
	return context.WithValue(ctx, logNoteKey{}, n), n
}

// noteUpstreamRequestID records the upstream's request id for the request log.
func noteUpstreamRequestID(ctx context.Context, id string) {
	if n, ok := ctx.Value(logNoteKey{}).(*logNote); ok && id != "" {
		n.mu.Lock()
		n.upstreamRequestID = id
		n.mu.Unlock()
	}
}

// maxNoteAttrs is how many attributes appendAttrs adds at most.
const maxNoteAttrs = 2

// appendAttrs appends the request log's attributes from the note and the caller (a user id,
// never an email: the log must not become a directory of the users) to out.
func (n *logNote) appendAttrs(out []slog.Attr, c echo.Context) []slog.Attr {
	if p, ok := c.Get(principalKey).(auth.Principal); ok {
		out = append(out, slog.String("user_id", p.UserID.String()))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.upstreamRequestID != "" {
		out = append(out, slog.String("upstream_request_id", n.upstreamRequestID))
	}
	return out
}
