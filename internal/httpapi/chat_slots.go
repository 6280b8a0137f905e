package httpapi

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/chat"
)

// slotQueuer is chat.Service's QueueSlot: a chat request's generation slot, attempted in the
// Redis round trip that authenticates its caller (see chat.SlotAttempt).
type slotQueuer interface {
	QueueSlot(ctx context.Context, pipe redis.Pipeliner, user uuid.UUID, a *chat.SlotAttempt)
}

// slotAttemptKey holds a chat request's *chat.SlotAttempt on its Echo context, for the rider.
const slotAttemptKey = "ccb.slot_attempt"

// slotAttempts gives each chat completion request a chat.SlotAttempt for authentication's round
// trip to fill (identifiedWork.ride) and the chat service's admission to claim, and frees the
// slot when the request ends without a generation claiming it: refused credentials, a rate
// limit, an invalid body or a refusal of the handler's. It runs before the validator, so that
// every one of those answers passes through it.
func slotAttempts(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodPost || c.Path() != "/v1/chat/completions" {
			return next(c)
		}
		a := &chat.SlotAttempt{}
		c.Set(slotAttemptKey, a)
		c.SetRequest(r.WithContext(chat.WithSlotAttempt(r.Context(), a)))
		defer a.Release(r.Context())
		return next(c)
	}
}

func slotAttemptOf(c echo.Context) *chat.SlotAttempt {
	a, _ := c.Get(slotAttemptKey).(*chat.SlotAttempt)
	return a
}
