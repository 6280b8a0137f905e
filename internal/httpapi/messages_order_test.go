package httpapi_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// TestMessageTimesFollowSeqUnderConcurrentWriters: concurrent appends to one session queue on the
// session's row lock; a message later in seq must not carry an earlier created_at, whichever
// writer read the clock first.
func TestMessageTimesFollowSeqUnderConcurrentWriters(t *testing.T) {
	t.Parallel()
	s := testutil.NewServer(t)
	u := s.Register(t, "message-times@example.com")
	sess := newSession(t, s, u, `{}`)
	const writers = 40
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			<-start
			resp, raw := s.Do(t, http.MethodPost, "/v1/sessions/"+sess.Id.String()+"/messages", `{"role":"user","content":"x"}`, u.Bearer())
			if resp.StatusCode != http.StatusCreated {
				t.Errorf("append = %d %s", resp.StatusCode, raw)
			}
		})
	}
	close(start)
	wg.Wait()
	resp, raw := s.Do(t, http.MethodGet, "/v1/sessions/"+sess.Id.String()+"/messages?limit=200", nil, u.Bearer())
	page := decodeInto[api.MessageList](t, resp, raw, http.StatusOK)
	if len(page.Data) != writers {
		t.Fatalf("%d messages, want %d", len(page.Data), writers)
	}
	earlier := 0
	for i := 1; i < len(page.Data); i++ {
		prev, m := page.Data[i-1], page.Data[i]
		if m.CreatedAt.Before(prev.CreatedAt.Time) {
			earlier++
			t.Errorf("seq %d created %s, before seq %d's %s", m.Seq, m.CreatedAt, prev.Seq, prev.CreatedAt)
		}
	}
	if earlier > 0 {
		t.Errorf("%d of %d messages are older than the message before them", earlier, writers)
	}
}
