package push_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/events"
	"github.com/ccbackend/ccbackend/internal/push"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// presence is a Presence over Redis state the test sets: a user is online while their key exists
// (what the live feed's presence keys amount to).
type presence struct {
	rdb    redis.UniversalClient
	prefix string
}

func (p presence) key(u uuid.UUID) string { return p.prefix + "{u:" + u.String() + "}:online" }

func (p presence) Online(ctx context.Context, u uuid.UUID) (bool, error) {
	n, err := p.rdb.Exists(ctx, p.key(u)).Result()
	return n > 0, err
}

func (p presence) set(t *testing.T, u uuid.UUID, online bool) {
	t.Helper()
	var err error
	if online {
		err = p.rdb.Set(context.Background(), p.key(u), "1", time.Minute).Err()
	} else {
		err = p.rdb.Del(context.Background(), p.key(u)).Err()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClientTB(t testing.TB, apns *testutil.APNsServer) *push.Client {
	return newClient(t, apns, time.Now)
}

func newClient(t testing.TB, apns *testutil.APNsServer, now func() time.Time) *push.Client {
	t.Helper()
	return push.NewClient(push.ClientConfig{Key: mustKey(t, apns), KeyID: apns.KeyID, TeamID: apns.TeamID, SandboxURL: apns.URL,
		ProductionURL: apns.URL, TokenRefresh: 50 * time.Minute, RootCAs: []*x509.Certificate{apns.Cert}, Now: now})
}

// fixture is a running service with one user, a titled session and a registered device, the
// local APNs server and a notifier wired to them.
type fixture struct {
	s        *testutil.Server
	apns     *testutil.APNsServer
	presence presence
	user     testutil.Session
	userID   uuid.UUID
	session  api.Session
	device   api.Device
	notifier *push.Notifier
	client   *push.Client
}

func newFixture(t *testing.T, tune func(*push.Settings)) *fixture {
	t.Helper()
	f := &fixture{apns: testutil.StartAPNs(t), s: testutil.NewServer(t)}
	f.presence = presence{rdb: testutil.NewRedis(t), prefix: testutil.NewRedisPrefix(t)}
	f.user = f.s.Register(t, fmt.Sprintf("push-%s@example.com", uuid.NewString()[:8]))
	f.userID = uuid.MustParse(f.user.UserID)
	f.session = f.newSession(t, f.user, "Refactor the parser")
	f.device = f.register(t, f.user, token(1))
	set := push.Settings{Topic: f.apns.Topic, Workers: 1, QueueSize: 64, Retries: 3, RetryBase: time.Millisecond, Expiry: time.Hour}
	if tune != nil {
		tune(&set)
	}
	f.client = newClient(t, f.apns, time.Now)
	f.notifier = push.NewNotifier(f.client, f.s.App.Store, f.presence, set, time.Now, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { f.notifier.Close(context.Background()) })
	return f
}

func token(b byte) string { return strings.Repeat(string("0123456789abcdef"[b%16]), 64) }

func (f *fixture) newSession(t *testing.T, u testutil.Session, title string) api.Session {
	t.Helper()
	resp, raw := f.s.Do(t, http.MethodPost, "/v1/sessions", `{"title":"`+title+`"}`, u.Bearer())
	return decode[api.Session](t, resp, raw, http.StatusCreated)
}

func (f *fixture) register(t *testing.T, u testutil.Session, tok string) api.Device {
	t.Helper()
	resp, raw := f.s.Do(t, http.MethodPost, "/v1/devices",
		`{"platform":"ios","token":"`+tok+`","environment":"sandbox","bundle_id":"`+f.apns.Topic+`"}`, u.Bearer())
	return decode[api.Device](t, resp, raw, http.StatusCreated)
}

func (f *fixture) devices(t *testing.T) []api.Device {
	t.Helper()
	resp, raw := f.s.Do(t, http.MethodGet, "/v1/devices", nil, f.user.Bearer())
	return decode[api.DeviceList](t, resp, raw, http.StatusOK).Data
}

// completed is the generation.completed event of f's session.
func (f *fixture) event(typ events.Type, generationID string) events.Event {
	return events.Event{ID: uuid.NewString(), Type: typ, OccurredAt: time.Now(),
		Data: []byte(`{"generation_id":"` + generationID + `","session_id":"` + f.session.Id.String() + `"}`)}
}

func decode[T any](t *testing.T, resp *http.Response, raw []byte, status int) T {
	t.Helper()
	var out T
	if resp.StatusCode != status || json.Unmarshal(raw, &out) != nil {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, raw)
	}
	return out
}

func mustKey(t testing.TB, apns *testutil.APNsServer) *ecdsa.PrivateKey {
	t.Helper()
	p8, err := os.ReadFile(apns.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	key, err := push.ParseKey(p8)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func (f *fixture) addMessage(t *testing.T, body string) {
	t.Helper()
	resp, raw := f.s.Do(t, http.MethodPost, "/v1/sessions/"+f.session.Id.String()+"/messages", body, f.user.Bearer())
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("message = %d %s", resp.StatusCode, raw)
	}
}
