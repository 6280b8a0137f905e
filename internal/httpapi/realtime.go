package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/apitime"
	"github.com/ccbackend/ccbackend/internal/apperr"
	"github.com/ccbackend/ccbackend/internal/audit"
	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/store"
)

// Close codes of the event feed (documented on openEventSocket; SSE sends them in `event: close`).
const (
	CloseRevoked      = 4001 // the credentials were revoked or expired
	CloseSlowConsumer = 4008 // the client fell more than the buffer behind
	CloseGoingAway    = 1001 // the server shuts down
)

// The WebSocket subprotocols: the feed's own, and the prefix of a ticket offered as one.
const (
	eventsSubprotocol = "ccb.events.v1"
	ticketSubprotocol = "ccb.ticket."
)

// RealtimeSettings tune the event feed (config.Events).
type RealtimeSettings struct {
	Buffer          int
	MaxConnsPerUser int
	Heartbeat       time.Duration
	AuthRecheck     time.Duration
}

// Revalidator re-checks, during a long-lived connection, the credentials that opened it.
type Revalidator interface {
	StillValid(ctx context.Context, p auth.Principal) error
}

// RealtimeHandlers serve the realtime tag: the event feed over WebSocket and SSE, and tickets.
type RealtimeHandlers struct {
	bus     *events.Bus
	tickets *events.Tickets
	valid   Revalidator
	origins []string
	set     RealtimeSettings
	log     *slog.Logger
	audit   *store.Store // where ticket issuance is audited (see WithAudit)
	now     func() time.Time
}

// NewRealtimeHandlers returns the realtime handlers; origins are the CORS origins, the only
// ones a browser may open the feed from.
func NewRealtimeHandlers(bus *events.Bus, tickets *events.Tickets, valid Revalidator, origins []string, set RealtimeSettings, log *slog.Logger) *RealtimeHandlers {
	return &RealtimeHandlers{bus: bus, tickets: tickets, valid: valid, origins: origins, set: set, log: log}
}

// WithAudit makes ticket issuance recorded in st's audit log, and returns h.
func (h *RealtimeHandlers) WithAudit(st *store.Store, now func() time.Time) *RealtimeHandlers {
	h.audit, h.now = st, now
	return h
}

// CreateRealtimeTicket (createRealtimeTicket) issues a single-use ticket standing for the caller.
// A ticket is a credential, so its issuance is audited (by which credential, never the ticket);
// an issuance that cannot be audited is refused.
func (h *RealtimeHandlers) CreateRealtimeTicket(ctx context.Context, _ api.CreateRealtimeTicketRequestObject) (api.CreateRealtimeTicketResponseObject, error) {
	p, _ := auth.PrincipalFrom(ctx)
	ticket, expires, err := h.tickets.Issue(ctx, p)
	if err != nil {
		return nil, err
	}
	if h.audit != nil {
		details := map[string]any{"expires_at": expires.UTC().Format(time.RFC3339)}
		if p.APIKeyID != uuid.Nil {
			details["api_key_id"] = p.APIKeyID
		} else {
			details["token_id"] = p.TokenID
		}
		if err := audit.Record(ctx, h.audit.Queries(), h.now(), audit.Event{Action: audit.RealtimeTicket, Outcome: audit.Success,
			ActorID: p.UserID, SubjectID: p.UserID, Details: details}); err != nil {
			return nil, err
		}
	}
	return api.CreateRealtimeTicket201JSONResponse{
		Body:    api.RealtimeTicket{Ticket: ticket, ExpiresAt: apitime.New(expires)},
		Headers: api.CreateRealtimeTicket201ResponseHeaders{CacheControl: "no-store"},
	}, nil
}

// rawExchangeKey carries the request of the feed operations to their handlers: the upgrade
// needs it, and strict handlers see only its context.
type rawExchangeKey struct{}

// withRawRequest is the strict middleware that puts the request on the context of the feed operations.
func withRawRequest(f api.StrictHandlerFunc, operationID string) api.StrictHandlerFunc {
	if operationID != "OpenEventSocket" && operationID != "StreamEvents" {
		return f
	}
	return func(c echo.Context, req any) (any, error) {
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), rawExchangeKey{}, r)))
		return f(c, req)
	}
}

func rawRequest(ctx context.Context) *http.Request {
	r, _ := ctx.Value(rawExchangeKey{}).(*http.Request)
	return r
}

// ticketOf finds a realtime ticket in the query or among the offered WebSocket subprotocols.
func ticketOf(r *http.Request) string {
	if t := r.URL.Query().Get("ticket"); t != "" {
		return t
	}
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(h, ",") {
			if t, ok := strings.CutPrefix(strings.TrimSpace(p), ticketSubprotocol); ok {
				return t
			}
		}
	}
	return ""
}

// originAllowed: no Origin (a native client) or one of the CORS origins, or the server's own.
func (h *RealtimeHandlers) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || slices.Contains(h.origins, o) || slices.Contains(h.origins, "*") {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

var errOrigin = apperr.New(apperr.Forbidden, "origin_not_allowed", "this Origin may not open the event feed").
	WithFields(apperr.FieldError{Location: apperr.InHeader, Pointer: "Origin", Detail: "not one of the allowed origins"})

// feed is one connection being opened: authenticated, counted, subscribed, its backlog read.
type feed struct {
	h       *RealtimeHandlers
	p       auth.Principal
	conn    *events.Connection
	sub     *events.Subscription
	backlog []events.Frame
	last    string // the newest id the client has (or is about to get)
}

// open does everything that can still be refused with a status code, before any upgrade.
func (h *RealtimeHandlers) open(ctx context.Context, types *string, session *uuid.UUID, lastID string) (*feed, error) {
	r := rawRequest(ctx)
	if r == nil || !h.originAllowed(r) {
		return nil, errOrigin
	}
	filter, err := parseFilter(types, session)
	if err != nil {
		return nil, err
	}
	if lastID != "" && !events.ValidID(lastID) {
		return nil, apperr.New(apperr.Invalid, "validation_failed", "last_event_id is not an event id").
			WithFields(apperr.FieldError{Location: apperr.InQuery, Pointer: "last_event_id", Detail: "not an event id"})
	}
	p, _ := auth.PrincipalFrom(ctx)
	conn, err := h.bus.Connect(ctx, p.UserID, h.set.MaxConnsPerUser, 3*h.set.Heartbeat)
	if errors.Is(err, events.ErrTooManyConnections) {
		return nil, apperr.New(apperr.RateLimited, "too_many_connections", "too many live event connections for this user")
	} else if err != nil {
		return nil, err
	}
	f := &feed{h: h, p: p, conn: conn, last: lastID}
	if f.sub, err = h.bus.Subscribe(ctx, p.UserID, filter, h.set.Buffer); err != nil {
		f.close()
		return nil, err
	}
	if lastID != "" {
		if f.backlog, err = h.bus.Replay(ctx, p.UserID, lastID, filter); err != nil {
			f.close()
			return nil, err
		}
	}
	return f, nil
}

func parseFilter(types *string, session *uuid.UUID) (events.Filter, error) {
	var f events.Filter
	if session != nil {
		f.SessionID = session.String()
	}
	if types == nil || *types == "" {
		return f, nil
	}
	for t := range strings.SplitSeq(*types, ",") {
		t = strings.TrimSpace(t)
		if !knownType(t) {
			return f, apperr.New(apperr.Invalid, "validation_failed", "unknown event type "+t).
				WithFields(apperr.FieldError{Location: apperr.InQuery, Pointer: "types", Detail: "unknown event type " + t})
		}
		f.Types = append(f.Types, t)
	}
	return f, nil
}

var eventTypes = []events.Type{events.ProjectCreated, events.ProjectUpdated, events.ProjectDeleted, events.SessionCreated,
	events.SessionUpdated, events.SessionDeleted, events.MessageCreated, events.GenerationStarted, events.GenerationDelta,
	events.GenerationCompleted, events.GenerationCancelled, events.GenerationFailed, events.ToolCallStarted,
	events.ToolCallCompleted, events.FileCreated, events.FileDeleted}

func knownType(t string) bool {
	for _, k := range eventTypes {
		if string(k) == t {
			return true
		}
		if prefix, ok := strings.CutSuffix(t, "*"); ok && prefix != "" && strings.HasPrefix(string(k), prefix) {
			return true
		}
	}
	return false
}

func (f *feed) close() {
	if f.sub != nil {
		f.sub.Close()
	}
	_ = f.conn.Release(context.Background())
}

// errSlowWrite is a sink's write or heartbeat that did not finish within its timeout: the
// client stopped reading, and the feed ends as a slow consumer.
var errSlowWrite = errors.New("events: write timed out")

// writeTimeout bounds one write or heartbeat of either sink: a client that takes longer is gone.
func (h *RealtimeHandlers) writeTimeout() time.Duration { return max(h.set.Heartbeat, 5*time.Second) }

// sink is where a feed writes: a WebSocket or an SSE stream.
type sink interface {
	send(ctx context.Context, fr events.Frame) error
	heartbeat(ctx context.Context) error
	end(code int, reason string)
}

// run sends the backlog, then live events, until the client leaves or the feed must end: a
// revoked credential (4001), a slow consumer (4008) or the bus closing (1001).
func (f *feed) run(ctx context.Context, s sink) {
	defer f.close()
	for _, fr := range f.backlog {
		if err := s.send(ctx, fr); err != nil {
			f.failed(s, err)
			return
		}
		f.last = fr.ID
	}
	f.backlog = nil
	heartbeat := time.NewTicker(f.h.set.Heartbeat)
	defer heartbeat.Stop()
	recheck := time.NewTicker(f.h.set.AuthRecheck)
	defer recheck.Stop()
	for {
		select {
		case <-f.sub.Done(): // checked first: a full buffer ends the feed before more is written
			f.ended(s)
			return
		default:
		}
		select {
		case <-ctx.Done():
			return
		case <-f.sub.Done():
			f.ended(s)
			return
		case fr := <-f.sub.C():
			if f.last != "" && !events.After(fr.ID, f.last) {
				continue // already replayed
			}
			if err := s.send(ctx, fr); err != nil {
				if !f.failed(s, err) {
					f.ended(s)
				}
				return
			}
			f.last = fr.ID
		case <-heartbeat.C:
			if err := s.heartbeat(ctx); err != nil {
				f.failed(s, err)
				return
			}
			if err := f.conn.Refresh(ctx); err != nil {
				f.h.log.Warn("events: presence refresh", slog.String("error", err.Error()))
			}
		case <-recheck.C:
			err := f.h.valid.StillValid(ctx, f.p)
			if apperr.KindOf(err) == apperr.Unauthenticated {
				s.end(CloseRevoked, "credentials revoked")
				return
			} else if err != nil {
				f.h.log.Warn("events: credential re-check", slog.String("error", err.Error()))
			}
		}
	}
}

// failed handles a write that timed out (errSlowWrite) as a slow consumer and reports whether it
// did; another failure is left to the caller. A subscription that already overflowed while the
// write waited is reported as such (ended).
func (f *feed) failed(s sink, err error) bool {
	if !errors.Is(err, errSlowWrite) {
		return false
	}
	if errors.Is(f.sub.Err(), events.ErrSlowConsumer) {
		f.ended(s)
		return true
	}
	f.h.log.Info("events: slow consumer disconnected", slog.String("user_id", f.p.UserID.String()),
		slog.String("cause", "write timed out"), slog.Duration("timeout", f.h.writeTimeout()))
	s.end(CloseSlowConsumer, "slow consumer")
	return true
}

// ended closes the sink with the code for why the subscription ended.
func (f *feed) ended(s sink) {
	switch err := f.sub.Err(); {
	case errors.Is(err, events.ErrSlowConsumer):
		f.h.log.Info("events: slow consumer disconnected", slog.String("user_id", f.p.UserID.String()),
			slog.Int("queued", f.sub.Queued()), slog.Int("buffer", f.h.set.Buffer))
		s.end(CloseSlowConsumer, "slow consumer")
	case errors.Is(err, events.ErrClosed):
		s.end(CloseGoingAway, "server shutting down")
	default:
		s.end(CloseGoingAway, "feed ended")
	}
}
