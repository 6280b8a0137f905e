package httpapi

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/events"
)

// clientMessageLimit bounds what a client may send: it sends nothing but control frames.
const clientMessageLimit = 4 << 10

// OpenEventSocket (openEventSocket) refuses what it must with a status code, then upgrades.
func (h *RealtimeHandlers) OpenEventSocket(ctx context.Context, req api.OpenEventSocketRequestObject) (api.OpenEventSocketResponseObject, error) {
	last := ""
	if req.Params.LastEventId != nil {
		last = *req.Params.LastEventId
	}
	f, err := h.open(ctx, req.Params.Types, req.Params.SessionId, last)
	if err != nil {
		return nil, err
	}
	return &socketUpgrade{feed: f, r: rawRequest(ctx)}, nil
}

type socketUpgrade struct {
	feed *feed
	r    *http.Request
}

func (u *socketUpgrade) VisitOpenEventSocketResponse(w http.ResponseWriter) error {
	// The connection outlives the server's per-request deadlines (see Deadlines).
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	_ = rc.SetReadDeadline(time.Time{})
	c, err := websocket.Accept(w, u.r, &websocket.AcceptOptions{
		Subprotocols:       []string{eventsSubprotocol},
		InsecureSkipVerify: true, // the Origin was checked against the CORS origins before
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		u.feed.close()
		return nil // Accept answered the client itself
	}
	c.SetReadLimit(clientMessageLimit)
	// The client sends only control frames: reading them in the background answers pings and
	// notices a close; a data message closes the connection with 1008.
	ctx := c.CloseRead(context.WithoutCancel(u.r.Context()))
	s := &socketSink{c: c, timeout: u.feed.h.writeTimeout()}
	u.feed.run(ctx, s)
	_ = c.CloseNow()
	return nil
}

type socketSink struct {
	c       *websocket.Conn
	timeout time.Duration // for one write or ping: a client that takes longer is gone
}

func (s *socketSink) send(ctx context.Context, fr events.Frame) error {
	wctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return timedOut(ctx, wctx, s.c.Write(wctx, websocket.MessageText, fr.JSON))
}

func (s *socketSink) heartbeat(ctx context.Context) error {
	wctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return timedOut(ctx, wctx, s.c.Ping(wctx))
}

// timedOut turns a failure of a write whose own deadline passed (not the connection's context)
// into errSlowWrite.
func timedOut(ctx, wctx context.Context, err error) error {
	if err != nil && ctx.Err() == nil && errors.Is(wctx.Err(), context.DeadlineExceeded) {
		return errSlowWrite
	}
	return err
}

func (s *socketSink) end(code int, reason string) {
	_ = s.c.Close(websocket.StatusCode(code), reason)
}
