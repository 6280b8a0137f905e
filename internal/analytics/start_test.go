package analytics_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/analytics"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// startUntil runs m.Start until the log has a line containing want (or the guard passes), then
// stops it and returns the log lines; Start must return once its context ends.
func startUntil(t *testing.T, m func(*slog.Logger) *analytics.Maintainer, want string) []string {
	t.Helper()
	logs := &testutil.LogRecorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m(slog.New(slog.NewJSONHandler(logs, nil))).Start(ctx, time.Hour) }()
	defer func() {
		cancel()
		<-done
	}()
	for guard := time.Now().Add(30 * time.Second); time.Now().Before(guard); time.Sleep(20 * time.Millisecond) {
		for _, l := range logs.Lines() {
			if strings.Contains(l, want) {
				return logs.Lines()
			}
		}
	}
	t.Fatalf("no log line with %q: %v", want, logs.Lines())
	return nil
}

// A deployment started long after its partitions were made (or a fresh one) gets this month's
// partition from Start's first run, without waiting an interval, and says what it created.
func TestStartMaintainsAtOnceAndLogsWhatItCreated(t *testing.T) {
	st := openStore(t)
	later := time.Now().UTC().AddDate(2, 0, 0)
	lines := startUntil(t, func(log *slog.Logger) *analytics.Maintainer {
		return analytics.NewMaintainer(st, func() time.Time { return later }, 12, log)
	}, "usage partitions maintained")
	if !slices.Contains(partitionNames(t, st), monthName(later)) {
		t.Errorf("no partition for %s after Start's first run", later.Format("2006-01"))
	}
	if !strings.Contains(strings.Join(lines, "\n"), monthName(later)) {
		t.Errorf("the log does not name the created partition %s: %v", monthName(later), lines)
	}
}

// With the database gone, a maintenance run fails with the reason and Start logs it as an error
// and keeps running (the next interval retries) instead of stopping the service.
func TestMaintenanceWithoutADatabase(t *testing.T) {
	st := openStore(t)
	st.Close()
	m := maintainer(st, time.Now(), 12)
	if _, err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "analytics: maintenance") {
		t.Errorf("Run on a closed store = %v, want an analytics: maintenance error", err)
	}
	startUntil(t, func(log *slog.Logger) *analytics.Maintainer {
		return analytics.NewMaintainer(st, time.Now, 12, log)
	}, "usage maintenance failed")
}
