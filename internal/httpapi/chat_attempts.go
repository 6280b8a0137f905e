package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/chat"
)

// attemptQueuer is chat.Service's QueueAttempt: a chat request's generation slot and token
// reservation, attempted in the Redis round trip that authenticates its caller (see chat.Attempt).
type attemptQueuer interface {
	QueueAttempt(ctx context.Context, pipe redis.Pipeliner, user uuid.UUID, body []byte, a *chat.Attempt)
}

const (
	// attemptKey holds a chat request's *chat.Attempt on its Echo context, for the rider.
	attemptKey = "ccb.chat_attempt"
	// earlyBodyKey holds a request's JSON body when the validator read it before the security
	// check (see overlapBodyBytes), for the rider to price a chat request's tokens.
	earlyBodyKey = "ccb.early_body"
)

// chatAttempts gives each chat completion request a chat.Attempt for authentication's round trip
// to fill (identifiedWork.ride) and the chat service's admission to claim, and gives back what it
// took when the request ends without a generation claiming it: refused credentials, a rate
// limit, an invalid body or a refusal of the handler's. It runs before the validator, so that
// every one of those answers passes through it.
func chatAttempts(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodPost || c.Path() != "/v1/chat/completions" {
			return next(c)
		}
		a := &chat.Attempt{}
		c.Set(attemptKey, a)
		c.SetRequest(r.WithContext(chat.WithAttempt(r.Context(), a)))
		defer a.Release(r.Context())
		return next(c)
	}
}

func attemptOf(c echo.Context) *chat.Attempt {
	a, _ := c.Get(attemptKey).(*chat.Attempt)
	return a
}

// earlyBody is the request's body as the validator read it before the security check; nil when
// it did not.
func earlyBody(c echo.Context) []byte {
	b, _ := c.Get(earlyBodyKey).([]byte)
	return b
}
