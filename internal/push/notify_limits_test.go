package push_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/push"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func logged(r *testutil.LogRecorder, msg string) int {
	n := 0
	for _, l := range r.Lines() {
		if strings.Contains(l, msg) {
			n++
		}
	}
	return n
}

// A listener that accepts and never answers: a send to it hangs until its context ends.
func silentAPNs(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return "https://" + l.Addr().String()
}

// Observe never waits: past the queue a notification is dropped (logged), and Close's deadline
// abandons what still hangs.
func TestQueueIsBoundedAndCloseHasADeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	url := silentAPNs(t)
	client := push.NewClient(push.ClientConfig{Key: mustKey(t, f.apns), KeyID: f.apns.KeyID, TeamID: f.apns.TeamID,
		SandboxURL: url, ProductionURL: url, TokenRefresh: time.Hour, Now: time.Now})
	logs := &testutil.LogRecorder{}
	n := push.NewNotifier(client, f.s.App.Store, f.presence, push.Settings{Topic: f.apns.Topic, Workers: 1, QueueSize: 1,
		Retries: 0, RetryBase: time.Millisecond, Expiry: time.Hour}, time.Now, slog.New(slog.NewJSONHandler(logs, nil)))
	for i := range 3 {
		n.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, "g"+string(rune('0'+i))))
	}
	if logged(logs, "queue full") == 0 {
		t.Fatal("3 events into 1 worker and a queue of 1: none dropped")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n.Close(ctx) // returns: the hanging send is cancelled, the rest abandoned
	n.Close(ctx) // twice is harmless
}

func TestUnreachableAndRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	logs := &testutil.LogRecorder{}
	down := push.NewClient(push.ClientConfig{Key: mustKey(t, f.apns), KeyID: f.apns.KeyID, TeamID: f.apns.TeamID,
		SandboxURL: "https://127.0.0.1:1", ProductionURL: "https://127.0.0.1:1", TokenRefresh: time.Hour, Now: time.Now})
	n := push.NewNotifier(down, f.s.App.Store, f.presence, push.Settings{Topic: f.apns.Topic, Workers: 1, QueueSize: 4,
		Retries: 1, RetryBase: time.Millisecond, Expiry: time.Hour}, time.Now, slog.New(slog.NewJSONHandler(logs, nil)))
	n.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, uuid.NewString()))
	n.Close(context.Background())
	if logged(logs, "unreachable") != 1 || len(f.devices(t)) != 1 {
		t.Fatalf("unreachable APNs: want one give-up log and the device kept: %v", logs.Lines())
	}

	// A refusal that is not about the token (here a payload APNs finds too large) is logged;
	// the device stays.
	logs = &testutil.LogRecorder{}
	n = push.NewNotifier(f.client, f.s.App.Store, f.presence, push.Settings{Topic: f.apns.Topic, Workers: 1, QueueSize: 4,
		Retries: 1, RetryBase: time.Millisecond, Expiry: time.Hour}, time.Now, slog.New(slog.NewJSONHandler(logs, nil)))
	f.apns.Script(token(1), testutil.APNsReply{Status: http.StatusRequestEntityTooLarge, Reason: "PayloadTooLarge"})
	n.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, uuid.NewString()))
	n.Close(context.Background())
	if logged(logs, "PayloadTooLarge") != 1 || len(f.devices(t)) != 1 {
		t.Fatalf("refused: %v", logs.Lines())
	}
}

// Presence that cannot be read does not cost the user their notification.
func TestPresenceUnknownStillNotifies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	broken := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // closed: every call fails
	_ = broken.Close()
	logs := &testutil.LogRecorder{}
	n := push.NewNotifier(f.client, f.s.App.Store, presence{rdb: broken, prefix: f.presence.prefix}, push.Settings{Topic: f.apns.Topic,
		Workers: 1, QueueSize: 4, Retries: 0, Expiry: time.Hour}, time.Now, slog.New(slog.NewJSONHandler(logs, nil)))
	n.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, uuid.NewString()))
	n.Close(context.Background())
	if len(f.apns.Received()) != 1 || logged(logs, "presence unknown") != 1 {
		t.Fatalf("%d pushes; logs %v", len(f.apns.Received()), logs.Lines())
	}
}

func TestPreviewIsShortAndOnlyForThisApp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	resp, raw := f.s.Do(t, http.MethodPatch, "/v1/auth/profile", `{"preferences":{"push_previews":true}}`, f.user.Bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("profile = %d %s", resp.StatusCode, raw)
	}
	f.addMessage(t, `{"role":"assistant","content":"`+strings.Repeat("word\\n ", 200)+`"}`)
	// A device of another bundle (registered before the server had a topic) is skipped.
	if _, err := f.s.App.Store.Pool.Exec(context.Background(),
		`INSERT INTO devices (user_id, platform, token, environment, bundle_id) VALUES ($1, 'ios', $2, 'sandbox', 'com.example.other')`,
		f.userID, token(9)); err != nil {
		t.Fatal(err)
	}
	f.notifier.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, uuid.NewString()))
	f.notifier.Close(context.Background())
	got := f.apns.Requests()
	if len(got) != 1 || got[0].Token != token(1) {
		t.Fatalf("pushes %v", got)
	}
	_, body := alert(t, got[0])
	if utf8.RuneCountInString(body) != 180 || !strings.HasSuffix(body, "…") || strings.Contains(body, "\n") {
		t.Fatalf("preview %d runes: %q", utf8.RuneCountInString(body), body)
	}
	// Unregistering stops the pushes.
	resp, _ = f.s.Do(t, http.MethodDelete, "/v1/devices/"+f.device.Id.String(), nil, f.user.Bearer())
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d", resp.StatusCode)
	}
}
