package workspace

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/events"
)

// WithEvents makes the service raise project.*, session.* and message.created events after each
// committed change, and returns it. A failure to publish is logged, never returned: the change
// is committed, and the feed only tells of it (a client that missed it catches up by /v1/sync).
func (s *Service) WithEvents(p events.Publisher, log *slog.Logger) *Service {
	s.events, s.log = p, log
	return s
}

// raise publishes typ once *err is nil (deferred by the operations that change something).
func (s *Service) raise(ctx context.Context, err *error, userID uuid.UUID, typ events.Type, data func() any) {
	if s.events == nil || *err != nil {
		return
	}
	if perr := s.events.Publish(context.WithoutCancel(ctx), userID, typ, data()); perr != nil {
		s.log.Warn("events: publish", slog.String("type", string(typ)), slog.String("error", perr.Error()))
	}
}

func projectEvent(id uuid.UUID) any { return map[string]any{"project_id": id} }

func sessionEvent(s Session) any {
	return map[string]any{"session_id": s.ID, "project_id": s.ProjectID}
}
