package workspace_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/page"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
	"github.com/ccbackend/ccbackend/internal/workspace"
)

// TestMessageTimesNeverGoBack: a clock that steps back (another replica's, or NTP) must not give
// a later message an earlier created_at than the one before it.
func TestMessageTimesNeverGoBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := store.Open(ctx, testutil.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	ticks := []time.Time{t0, t0.Add(-time.Hour), t0.Add(time.Second)}
	calls := 0
	clock := func() time.Time {
		now := ticks[min(calls, len(ticks)-1)]
		calls++
		return now
	}
	ws := workspace.New(st, page.NewCursors([]byte("message times")), clock, 1<<20, time.Hour)
	userID, sessionID := uuid.New(), uuid.New()
	if _, err := st.Pool.Exec(ctx, `INSERT INTO users (id, email, password_hash) VALUES ($1, 'times@example.com', 'x')`, userID); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool.Exec(ctx, `INSERT INTO sessions (id, user_id) VALUES ($1, $2)`, sessionID, userID); err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for range ticks {
		m, err := ws.CreateMessage(ctx, userID, sessionID, workspace.NewMessage{Role: "user", Content: json.RawMessage(`"x"`)})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m.CreatedAt.UTC())
	}
	want := []time.Time{t0, t0, t0.Add(time.Second)} // the step back is held at the previous time
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("message %d created %s, want %s", i+1, got[i], want[i])
		}
	}
}
