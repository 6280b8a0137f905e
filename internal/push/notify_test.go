package push_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/push"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func alert(t *testing.T, p testutil.APNsPush) (title, body string) {
	t.Helper()
	a, _ := p.Payload["aps"].(map[string]any)["alert"].(map[string]any)
	title, _ = a["title"].(string)
	body, _ = a["body"].(string)
	return title, body
}

func TestNotifyWhenOffline(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	gen := uuid.NewString()
	// The assistant's reply exists, but the user did not opt into previews: no text on the lock screen.
	f.addMessage(t, `{"role":"assistant","content":"the secret plan is ready"}`)
	f.notifier.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, gen))
	got := f.apns.WaitRequests(t, 1)
	title, body := alert(t, got[0])
	if got[0].Status != http.StatusOK || got[0].Token != token(1) || title != "Reply ready" || body != "Refactor the parser" {
		t.Fatalf("push %+v: %q / %q", got[0], title, body)
	}
	if got[0].Header.Get("apns-collapse-id") != gen || got[0].Payload["session_id"] != f.session.Id.String() ||
		got[0].Payload["generation_id"] != gen || got[0].Payload["type"] != "generation.completed" {
		t.Fatalf("push ids: %v %v", got[0].Header, got[0].Payload)
	}
	if raw := strings.Join([]string{title, body}, " "); strings.Contains(raw, "secret") {
		t.Fatal("message text pushed without the user's consent")
	}

	// Opted in: the reply's start is the body, the session title the title.
	resp, raw := f.s.Do(t, http.MethodPatch, "/v1/auth/profile", `{"preferences":{"push_previews":true}}`, f.user.Bearer())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("profile = %d %s", resp.StatusCode, raw)
	}
	f.notifier.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, uuid.NewString()))
	got = f.apns.WaitRequests(t, 2)
	if title, body := alert(t, got[1]); title != "Refactor the parser" || body != "the secret plan is ready" {
		t.Fatalf("preview: %q / %q", title, body)
	}
	// A failure says so, and never with text.
	f.notifier.Observe(context.Background(), f.userID, f.event(events.GenerationFailed, uuid.NewString()))
	got = f.apns.WaitRequests(t, 3)
	if title, body := alert(t, got[2]); title != "Reply failed" || body != "Refactor the parser" {
		t.Fatalf("failed: %q / %q", title, body)
	}
}

func TestNoNotificationWhileConnected(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	away := f.s.Register(t, "away-"+uuid.NewString()[:8]+"@example.com")
	f.register(t, away, token(6))
	f.presence.set(t, f.userID, true) // f's user has a live connection; away has none
	f.notifier.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, "online"))
	// Events that are not about a finished generation never notify.
	f.notifier.Observe(context.Background(), uuid.MustParse(away.UserID), f.event(events.GenerationDelta, "delta"))
	f.notifier.Observe(context.Background(), uuid.MustParse(away.UserID), f.event(events.MessageCreated, "message"))
	f.notifier.Observe(context.Background(), uuid.MustParse(away.UserID), f.event(events.GenerationCompleted, "offline"))
	f.notifier.Close(context.Background()) // drains the queue
	got := f.apns.Requests()
	if len(got) != 1 || got[0].Token != token(6) || got[0].Header.Get("apns-collapse-id") != "offline" {
		t.Fatalf("%d pushes (%v); want only the one to the user without a connection", len(got), got)
	}
	// Closed: later events are ignored, not a panic.
	f.notifier.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, "late"))
}

func TestDeadTokensAreForgotten(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	second := f.register(t, f.user, token(2))
	third := f.register(t, f.user, token(3))
	// 410 with a time after the registration removes it; 410 naming a time before the last
	// registration (the app registered again since) keeps it; 400 BadDeviceToken removes it.
	f.apns.Script(token(1), testutil.APNsReply{Status: http.StatusGone, Reason: "Unregistered", Timestamp: time.Now().Add(time.Minute).UnixMilli()})
	f.apns.Script(token(2), testutil.APNsReply{Status: http.StatusGone, Reason: "Unregistered", Timestamp: time.Now().Add(-time.Hour).UnixMilli()})
	f.apns.Script(token(3), testutil.APNsReply{Status: http.StatusBadRequest, Reason: "BadDeviceToken"})
	f.notifier.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, uuid.NewString()))
	f.notifier.Close(context.Background())
	if n := len(f.apns.Requests()); n != 3 {
		t.Fatalf("%d requests, want one per device and no retry", n)
	}
	left := f.devices(t)
	if len(left) != 1 || left[0].Id != second.Id {
		t.Fatalf("devices left %v; want only %s (not %s, %s)", left, second.Id, f.device.Id, third.Id)
	}
}

func TestThrottlingAndServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(s *push.Settings) { s.Retries = 3 })
	f.apns.Script(token(1), testutil.APNsReply{Status: http.StatusTooManyRequests, Reason: "TooManyRequests"},
		testutil.APNsReply{Status: http.StatusServiceUnavailable, Reason: "ServiceUnavailable"},
		testutil.APNsReply{Status: http.StatusInternalServerError, Reason: "InternalServerError"})
	f.notifier.Observe(context.Background(), f.userID, f.event(events.GenerationCompleted, "retried"))
	f.notifier.Close(context.Background())
	if got := f.apns.Requests(); len(got) != 4 || len(f.apns.Received()) != 1 {
		t.Fatalf("%d requests, %d delivered; want 3 refusals then a delivery", len(got), len(f.apns.Received()))
	}

	// Bounded: past the retries the notification is given up and the device stays.
	g := newFixture(t, func(s *push.Settings) { s.Retries = 1 })
	for range 5 {
		g.apns.Script(token(1), testutil.APNsReply{Status: http.StatusTooManyRequests, Reason: "TooManyRequests"})
	}
	g.notifier.Observe(context.Background(), g.userID, g.event(events.GenerationCompleted, "given-up"))
	g.notifier.Close(context.Background())
	if got := g.apns.Requests(); len(got) != 2 || len(g.apns.Received()) != 0 || len(g.devices(t)) != 1 {
		t.Fatalf("%d requests; want 2 (one retry) and the device kept", len(got))
	}
}

func TestOnlyTheUsersOwnDevicesOfThisApp(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	other := f.s.Register(t, "other-"+uuid.NewString()[:8]+"@example.com")
	f.register(t, other, token(5))
	// An event naming another user's session tells nothing about it: the alert stays generic.
	foreign := f.newSession(t, other, "Their secret project")
	e := f.event(events.GenerationCompleted, "foreign")
	e.Data = []byte(`{"generation_id":"foreign","session_id":"` + foreign.Id.String() + `"}`)
	f.notifier.Observe(context.Background(), f.userID, e)
	f.notifier.Close(context.Background())
	got := f.apns.Requests()
	if len(got) != 1 || got[0].Token != token(1) {
		t.Fatalf("pushes %v; want only the user's own device", got)
	}
	if title, body := alert(t, got[0]); title != "Reply ready" || body != "Your chat" {
		t.Fatalf("foreign session leaked: %q / %q", title, body)
	}
}
