package app

import (
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/httpapi"
)

// newEvents builds the instance's event bus (its Pub/Sub reader starts now) and the feed handlers.
func newEvents(cfg config.Config, rdb redis.UniversalClient, accounts *auth.Accounts, log *slog.Logger) (*events.Bus, *httpapi.RealtimeHandlers) {
	e := cfg.Events
	bus := events.NewBus(rdb, events.Options{Prefix: cfg.RedisPrefix, Retention: e.Retention, MaxEvents: e.MaxEvents, Log: log, Now: time.Now})
	tickets := events.NewTickets(rdb, cfg.RedisPrefix, e.TicketTTL, time.Now)
	return bus, httpapi.NewRealtimeHandlers(bus, tickets, accounts, cfg.CORSOrigins, httpapi.RealtimeSettings{
		Buffer: e.Buffer, MaxConnsPerUser: e.MaxConnsPerUser, Heartbeat: e.Heartbeat, AuthRecheck: e.AuthRecheck,
	}, log)
}
