package files

import (
	"context"
	"log/slog"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/events"
)

// WithEvents makes the service raise file.created and file.deleted after each committed upload
// or deletion, and returns it. A failure to publish is logged, never returned: the change is
// committed, and the feed only tells of it.
func (s *Service) WithEvents(p events.Publisher) *Service {
	s.events = p
	return s
}

// raise publishes typ for f once *err is nil (deferred by the operations that change something).
func (s *Service) raise(ctx context.Context, err *error, user uuid.UUID, typ events.Type, f *File) {
	if s.events == nil || *err != nil {
		return
	}
	data := map[string]any{"file_id": f.ID, "project_id": f.ProjectID}
	if f.Path != "" {
		data["path"] = f.Path
	}
	if typ == events.FileCreated {
		data["name"], data["size"] = f.Name, f.Size
	}
	if perr := s.events.Publish(context.WithoutCancel(ctx), user, typ, data); perr != nil {
		s.log.Warn("events: publish", slog.String("type", string(typ)), slog.String("error", perr.Error()))
	}
}
