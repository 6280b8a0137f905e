package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/httpapi"
	"github.com/ccbackend/ccbackend/internal/ratelimit"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestListReadCarriesItsRecentWriteLookup proves that a read's recent-writes lookup rides in
// the authenticator's round trip and reaches the read router with the right answer: "no" for a
// user who did not write, "yes" right after their write (so the list reads the primary), for
// limited and unlimited routes alike; a write request carries none (it reads the primary).
// TestCarriedRecentWriteRoutesTheRead (store) proves the router routes on that answer.
func TestListReadCarriesItsRecentWriteLookup(t *testing.T) {
	ctx := context.Background()
	rdb := testutil.NewRedis(t)
	prefix := testutil.NewRedisPrefix(t)
	writes := store.NewRedisRecentWrites(rdb, prefix, time.Minute)
	rl := httpapi.RateLimits{Limiter: ratelimit.New(rdb, prefix), Default: ratelimit.Policy{Name: "default", Limit: 100, Period: time.Minute},
		Timeout: time.Second, RecentWrites: writes}
	e := echo.New()

	// carried runs the request's authentication trip and the middleware chain up to the
	// handler, and returns what the handler's context carries for p: nil when nothing.
	carried := func(method string, p auth.Principal, limited bool) func() (bool, error) {
		t.Helper()
		c := e.NewContext(httptest.NewRequest(method, "/v1/projects", nil), httptest.NewRecorder())
		c.SetPath("/v1/projects")
		if ride := httpapi.AuthTripRider(rl, c, p, limited); ride != nil {
			pipe := rdb.Pipeline()
			ride(ctx, pipe)
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		c.SetRequest(c.Request().WithContext(auth.WithPrincipal(c.Request().Context(), p)))
		var answer func() (bool, error)
		err := httpapi.RecordWrites(writes)(func(c echo.Context) error {
			answer, _ = store.CarriedRecentWrite(c.Request().Context(), p.UserID)
			return nil
		})(c)
		if err != nil {
			t.Fatal(err)
		}
		return answer
	}
	recent := func(answer func() (bool, error)) bool {
		t.Helper()
		if answer == nil {
			t.Fatal("the read carries no recent-writes answer")
		}
		r, err := answer()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	for _, limited := range []bool{true, false} {
		p := auth.Principal{UserID: uuid.New()}
		if recent(carried(http.MethodGet, p, limited)) {
			t.Errorf("limited=%v: a user who never wrote is carried as a recent writer", limited)
		}
		if a := carried(http.MethodPost, p, limited); a != nil {
			t.Errorf("limited=%v: a write request carries a recent-writes answer", limited)
		}
		// The POST above went through recordWrites: the user just wrote.
		if !recent(carried(http.MethodGet, p, limited)) {
			t.Errorf("limited=%v: right after the user's write the read is not carried as a recent writer (it would read the replica)", limited)
		}
		if recent(carried(http.MethodGet, auth.Principal{UserID: uuid.New()}, limited)) {
			t.Errorf("limited=%v: another user's write is carried as this user's", limited)
		}
	}
}
