package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/auth"
)

// WriteRecorder remembers that a user is writing (store.RedisRecentWrites), so that their next
// lag-tolerant reads go to the primary and see the write.
type WriteRecorder interface {
	Wrote(ctx context.Context, userID uuid.UUID) error
}

// recordWrites marks the caller of every state-changing request before the handler runs (so the
// window covers the read that follows the response) and again after it (a slow handler's commit
// still gets the whole window). A failure to record is not the request's failure: the reads then
// may miss the write for at most the replica's lag.
func recordWrites(w WriteRecorder) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if w == nil {
			return next
		}
		return func(c echo.Context) error {
			switch c.Request().Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions:
				return next(c)
			}
			p, ok := auth.PrincipalFrom(c.Request().Context())
			if !ok {
				return next(c)
			}
			ctx := context.WithoutCancel(c.Request().Context())
			_ = w.Wrote(ctx, p.UserID)
			err := next(c)
			_ = w.Wrote(ctx, p.UserID)
			return err
		}
	}
}
