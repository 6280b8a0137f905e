package app

import (
	"context"
	"log/slog"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/resume"
)

// newResume wires resumable chat streams: the instance's one nudge subscription (until ctx
// ends) and the store that records and replays.
func newResume(ctx context.Context, cfg config.Config, rdb redis.UniversalClient, log *slog.Logger) *resume.Store {
	return resume.New(rdb, cfg.RedisPrefix, cfg.Resume, resume.NewHub(ctx, rdb), log)
}
