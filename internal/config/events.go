package config

import "time"

// Events are the settings of the live event feed (internal/events, GET /v1/ws and /v1/events).
type Events struct {
	// Retention (CCB_EVENTS_RETENTION) is how long a user's events stay replayable for a client
	// that resumes; an older Last-Event-ID answers a resync event.
	Retention time.Duration
	// MaxEvents (CCB_EVENTS_RETENTION_COUNT) bounds the events retained per user, whatever their age.
	MaxEvents int
	// MaxConnsPerUser (CCB_EVENTS_MAX_CONNS_PER_USER) caps a user's live connections across
	// instances; 0 turns the cap off.
	MaxConnsPerUser int
	// Buffer (CCB_EVENTS_BUFFER) is how many events one connection may have waiting to be
	// written; a client that falls further behind is disconnected as a slow consumer.
	Buffer int
	// Heartbeat (CCB_EVENTS_HEARTBEAT) is the interval of WebSocket pings and SSE comments, and
	// of the presence refresh.
	Heartbeat time.Duration
	// AuthRecheck (CCB_EVENTS_AUTH_RECHECK) is how often an open connection checks that its
	// credentials still hold (a logout or revocation closes it within this interval).
	AuthRecheck time.Duration
	// TicketTTL (CCB_EVENTS_TICKET_TTL) is how long a realtime ticket may wait for its connection.
	TicketTTL time.Duration
}

// events reads the live event feed settings.
func (r *reader) events() Events {
	return Events{
		Retention:       r.duration("CCB_EVENTS_RETENTION", 10*time.Minute),
		MaxEvents:       r.intRange("CCB_EVENTS_RETENTION_COUNT", 1000, 10, 1_000_000),
		MaxConnsPerUser: r.intRange("CCB_EVENTS_MAX_CONNS_PER_USER", 20, 0, 100_000),
		Buffer:          r.intRange("CCB_EVENTS_BUFFER", 256, 1, 1_000_000),
		Heartbeat:       r.duration("CCB_EVENTS_HEARTBEAT", 20*time.Second),
		AuthRecheck:     r.duration("CCB_EVENTS_AUTH_RECHECK", 2*time.Second),
		TicketTTL:       r.duration("CCB_EVENTS_TICKET_TTL", 30*time.Second),
	}
}
