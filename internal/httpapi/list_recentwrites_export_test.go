package httpapi

import (
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
)

// AuthTripRider is the rider the authenticator's round trip carries for p's request c, as the
// spec validator obtains it; limited says whether c's route has a rate-limit policy (rl.Default).
func AuthTripRider(rl RateLimits, c echo.Context, p auth.Principal, limited bool) auth.Rider {
	byRoute := map[string]ratelimit.Policy{}
	if limited {
		byRoute[c.Request().Method+" "+c.Path()] = rl.Default
	}
	return (&requestLimits{rl: rl, byRoute: byRoute, log: slog.New(slog.DiscardHandler)}).identified(c, p).ride
}

// RecordWrites exposes the write-recording middleware to the external tests.
var RecordWrites = recordWrites
