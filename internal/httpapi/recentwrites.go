package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/store"
)

// WriteRecorder remembers that a user is writing (store.RedisRecentWrites), so that their next
// lag-tolerant reads go to the primary and see the write.
type WriteRecorder interface {
	Wrote(ctx context.Context, userID uuid.UUID) error
}

// RecentWriteQueuer queues the lookup of whether a user wrote lately on a pipeline another
// lookup runs anyway (store.RedisRecentWrites).
type RecentWriteQueuer interface {
	Queue(ctx context.Context, pipe redis.Pipeliner, userID uuid.UUID) func() (bool, error)
}

// recentWriteKey holds the queued recent-writes answer of a read request.
const recentWriteKey = "ccb.recent_write"

// carryRecentWrite returns the rider that puts a read request's recent-writes lookup in the
// authenticator's round trip, so that routing a list read to the replica or the primary costs no
// round trip of its own; nil for writes (they read the primary) and without a replica (w nil).
// When no trip runs the rider, nothing is carried and the router asks Redis itself.
func carryRecentWrite(w RecentWriteQueuer, c echo.Context, userID uuid.UUID) recentWriteRider {
	if w == nil || !isRead(c.Request().Method) {
		return nil
	}
	return func(ctx context.Context, pipe redis.Pipeliner) {
		c.Set(recentWriteKey, w.Queue(ctx, pipe, userID))
	}
}

// recentWriteRider is carryRecentWrite's rider; nil carries nothing.
type recentWriteRider func(ctx context.Context, pipe redis.Pipeliner)

// alsoOn queues the lookup on pipe, beside the work of the rider it joins.
func (r recentWriteRider) alsoOn(ctx context.Context, pipe redis.Pipeliner) {
	if r != nil {
		r(ctx, pipe)
	}
}

func isRead(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	return false
}

// recordWrites marks the caller of every state-changing request before the handler runs (so the
// window covers the read that follows the response) and again after it (a slow handler's commit
// still gets the whole window). A failure to record is not the request's failure: the reads then
// may miss the write for at most the replica's lag. A read request gets the recent-writes answer
// its authentication carried (carryRecentWrite) on its context, where the read router finds it.
func recordWrites(w WriteRecorder) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		if w == nil {
			return next
		}
		return func(c echo.Context) error {
			p, ok := auth.PrincipalFrom(c.Request().Context())
			if !ok {
				return next(c)
			}
			if isRead(c.Request().Method) {
				if answer, ok := c.Get(recentWriteKey).(func() (bool, error)); ok {
					r := c.Request()
					c.SetRequest(r.WithContext(store.WithRecentWrite(r.Context(), p.UserID, answer)))
				}
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
