package periodic

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryRunsLogsAndStops(t *testing.T) {
	var runs atomic.Int32
	var logs bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Every(ctx, 5*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)), "job", func(context.Context) error {
			if runs.Add(1) == 1 {
				return errors.New("boom")
			}
			return nil
		})
	}()
	deadline := time.Now().Add(2 * time.Second)
	for runs.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Every did not return after cancel")
	}
	if runs.Load() < 3 || !strings.Contains(logs.String(), "job failed") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("runs %d, logs %q", runs.Load(), logs.String())
	}
}
