package store

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/apperr"
)

// OutageRetryAfter is what a 503 for a dependency outage asks the client to wait: long enough
// for a restart or failover to finish, short enough that a client retrying does not notice much.
const OutageRetryAfter = 5 * time.Second

// Outage returns err as an Unavailable application error (503, `service_unavailable`, with
// Retry-After) when it says PostgreSQL or Redis is down, refusing connections, restarting or
// timing out; otherwise nil. It is the one place that recognises an outage: MapError (every
// PostgreSQL path) and the HTTP error renderer (any Redis or PostgreSQL error that reached it
// unmapped) both ask it. The client sees neither the dependency's name nor its address; the cause
// stays in the log.
//
// A client that went away (context.Canceled) is not an outage, and an application error already
// classified keeps its own kind.
func Outage(err error) *apperr.Error {
	if err == nil || errors.Is(err, context.Canceled) {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return nil
	}
	if !isOutage(err) {
		return nil
	}
	return apperr.Wrap(err, apperr.Unavailable, "service_unavailable",
		"the service cannot reach a dependency right now; retry after the Retry-After delay").WithRetryAfter(OutageRetryAfter)
}

func isOutage(err error) bool {
	// PostgreSQL: no connection could be made (refused, timed out, server starting or stopping).
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return outageSQLState(pgErr.Code)
	}
	// PostgreSQL: a timeout inside pgconn (the network, or a deadline while talking to the server).
	if pgconn.Timeout(err) {
		return true
	}
	// Redis: the pool could not hand out a connection in time, or the server says it cannot serve.
	if errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) ||
		redis.IsLoadingError(err) || redis.IsClusterDownError(err) || redis.IsTryAgainError(err) ||
		redis.IsMasterDownError(err) || redis.IsMaxClientsError(err) || redis.IsReadOnlyError(err) {
		return true
	}
	// Redis: our own client is closed (the instance is shutting down): another can serve it.
	if errors.Is(err, redis.ErrClosed) {
		return true
	}
	// Either: the connection broke or was never made (pgx wraps these too; go-redis does not).
	// Not any net.Error: context.DeadlineExceeded is one, and a request's own deadline is a 504.
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || isConnClosed(err)
}

// outageSQLState: connection exceptions (class 08), the server shutting down or starting up
// (57P01–57P03), and too many connections (53300) mean "not now", not "bad request".
func outageSQLState(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", "53300":
		return true
	}
	return len(code) == 5 && code[:2] == "08"
}

// isConnClosed: pgconn reports a connection it already knows is dead as "conn closed" (an
// unexported type, safe to retry because nothing was sent). Its sibling "conn busy" is a bug, not
// an outage, hence the text.
func isConnClosed(err error) bool {
	var lockErr interface{ SafeToRetry() bool }
	return errors.As(err, &lockErr) && lockErr.SafeToRetry() && strings.Contains(err.Error(), "conn closed")
}
