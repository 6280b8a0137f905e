// Package periodic runs background jobs on a fixed interval (key reloads, purges).
package periodic

import (
	"context"
	"log/slog"
	"time"
)

// Every runs job every interval until ctx ends. A failure is logged and retried at the next
// tick: background jobs never stop the service.
func Every(ctx context.Context, every time.Duration, log *slog.Logger, name string, job func(context.Context) error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := job(ctx); err != nil && ctx.Err() == nil {
				log.Error(name+" failed", slog.String("error", err.Error()))
			}
		}
	}
}
