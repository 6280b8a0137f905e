package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/store"
)

// The outage classifier, fed the errors the real drivers return for a server nobody listens on,
// and the errors it must leave alone.
func TestOutageClassification(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	down := closedAddr(t)

	_, pgErr := pgx.Connect(ctx, "postgres://u@"+down+"/x?sslmode=disable&connect_timeout=2")
	rdb := redis.NewClient(&redis.Options{Addr: down, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	redisErr := rdb.Get(ctx, "k").Err()

	outages := map[string]error{
		"pg connect refused":     pgErr,
		"redis dial refused":     redisErr,
		"pg admin shutdown":      &pgconn.PgError{Code: "57P01"},
		"pg starting up":         &pgconn.PgError{Code: "57P03"},
		"pg connection failure":  &pgconn.PgError{Code: "08006"},
		"pg too many conns":      &pgconn.PgError{Code: "53300"},
		"redis pool timeout":     fmt.Errorf("limiter: %w", redis.ErrPoolTimeout),
		"wrapped pg refused":     fmt.Errorf("projects: list: %w", pgErr),
		"redis client is closed": fmt.Errorf("events: %w", redis.ErrClosed),
	}
	for name, err := range outages {
		if err == nil {
			t.Fatalf("%s: the driver returned no error", name)
		}
		o := store.Outage(err)
		if o == nil {
			t.Errorf("%s (%v): not classified as an outage", name, err)
			continue
		}
		if o.Kind != apperr.Unavailable || o.Code != "service_unavailable" || o.RetryAfter <= 0 {
			t.Errorf("%s: %+v; want Unavailable service_unavailable with a Retry-After", name, o)
		}
		if mapped := store.MapError(err); apperr.KindOf(mapped) != apperr.Unavailable {
			t.Errorf("%s: MapError gives kind %v", name, apperr.KindOf(mapped))
		}
	}

	notOutages := map[string]error{
		"client went away":      fmt.Errorf("query: %w", context.Canceled),
		"request deadline":      context.DeadlineExceeded, // a slow request: 504 from MapError
		"unique violation":      &pgconn.PgError{Code: "23505"},
		"statement timeout":     &pgconn.PgError{Code: "57014"},
		"no rows":               pgx.ErrNoRows,
		"redis nil":             redis.Nil,
		"an application error":  apperr.New(apperr.Conflict, "conflict", "x"),
		"a plain bug":           errors.New("nil map"),
		"http body too large":   &http.MaxBytesError{Limit: 1},
		"outage already mapped": store.Outage(pgErr),
	}
	for name, err := range notOutages {
		if o := store.Outage(err); o != nil {
			t.Errorf("%s (%v): classified as an outage", name, err)
		}
	}
	if k := apperr.KindOf(store.MapError(context.DeadlineExceeded)); k != apperr.Timeout {
		t.Errorf("MapError(deadline) kind %v, want Timeout", k)
	}
}
