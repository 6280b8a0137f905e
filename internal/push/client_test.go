package push_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net/http"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/push"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func note(apns *testutil.APNsServer, tok string) push.Notification {
	return push.Notification{Environment: "sandbox", DeviceToken: tok, Topic: apns.Topic, CollapseID: "c1",
		Expiration: time.Now().Add(time.Hour), Payload: []byte(`{"aps":{"alert":{"title":"t"}}}`)}
}

func TestClientReusesProviderToken(t *testing.T) {
	t.Parallel()
	apns := testutil.StartAPNs(t)
	c := &clock{t: time.Now()}
	client := newClient(t, apns, c.now)
	for range 3 {
		if r, err := client.Send(context.Background(), note(apns, token(2))); err != nil || r.Status != http.StatusOK || r.APNsID == "" {
			t.Fatalf("send = %+v, %v", r, err)
		}
	}
	got := apns.Received()
	if len(got) != 3 || client.TokensMinted() != 1 || got[0].JWT != got[1].JWT || got[1].JWT != got[2].JWT {
		t.Fatalf("%d pushes, %d tokens minted: one provider token must serve every push", len(got), client.TokensMinted())
	}
	h := got[0].Header
	if got[0].Proto != "HTTP/2.0" || h.Get("apns-topic") != apns.Topic || h.Get("apns-push-type") != "alert" ||
		h.Get("apns-priority") != "10" || h.Get("apns-collapse-id") != "c1" || h.Get("apns-expiration") == "" {
		t.Fatalf("request %s %v", got[0].Proto, h)
	}
	// Past the refresh age (50 min) a new token is minted, once.
	c.advance(51 * time.Minute)
	for range 2 {
		if _, err := client.Send(context.Background(), note(apns, token(2))); err != nil {
			t.Fatal(err)
		}
	}
	got = apns.Received()
	if client.TokensMinted() != 2 || got[3].JWT == got[2].JWT || got[4].JWT != got[3].JWT {
		t.Fatalf("after 51 minutes: %d tokens minted", client.TokensMinted())
	}
}

func TestClientRemintsOnceOnProviderTokenErrors(t *testing.T) {
	t.Parallel()
	apns := testutil.StartAPNs(t)
	client := newClient(t, apns, time.Now)
	apns.Script(token(3), testutil.APNsReply{Status: http.StatusForbidden, Reason: "ExpiredProviderToken"})
	if r, err := client.Send(context.Background(), note(apns, token(3))); err != nil || r.Status != http.StatusOK {
		t.Fatalf("after re-mint = %+v, %v", r, err)
	}
	if client.TokensMinted() != 2 {
		t.Fatalf("%d tokens minted, want a re-mint", client.TokensMinted())
	}
	// Refused again after the re-mint: the answer comes back (the notifier logs it), no loop.
	apns.Script(token(3), testutil.APNsReply{Status: http.StatusForbidden, Reason: "InvalidProviderToken"},
		testutil.APNsReply{Status: http.StatusForbidden, Reason: "InvalidProviderToken"})
	r, err := client.Send(context.Background(), note(apns, token(3)))
	if err != nil || r.Status != http.StatusForbidden || r.Reason != "InvalidProviderToken" || client.TokensMinted() != 3 {
		t.Fatalf("second refusal = %+v, %v, %d minted", r, err, client.TokensMinted())
	}
	// Other 403s are not about the token: no re-mint.
	apns.Script(token(3), testutil.APNsReply{Status: http.StatusForbidden, Reason: "BadCertificateEnvironment"})
	if r, _ := client.Send(context.Background(), note(apns, token(3))); r.Status != http.StatusForbidden || client.TokensMinted() != 3 {
		t.Fatalf("other 403 = %+v, %d minted", r, client.TokensMinted())
	}
}

func TestClientAnswers(t *testing.T) {
	t.Parallel()
	apns := testutil.StartAPNs(t)
	client := newClient(t, apns, time.Now)
	ms := time.Now().Add(-time.Minute).UnixMilli()
	apns.Script(token(4), testutil.APNsReply{Status: http.StatusGone, Reason: "Unregistered", Timestamp: ms})
	r, err := client.Send(context.Background(), note(apns, token(4)))
	if err != nil || r.Status != http.StatusGone || r.Reason != "Unregistered" || r.InvalidSince.UnixMilli() != ms {
		t.Fatalf("410 = %+v, %v", r, err)
	}
	// The server checks the request as APNs does.
	bad := note(apns, token(4))
	bad.Topic = "com.example.other"
	if r, _ := client.Send(context.Background(), bad); r.Status != http.StatusBadRequest || r.Reason != "DeviceTokenNotForTopic" {
		t.Fatalf("wrong topic = %+v", r)
	}
	bad = note(apns, token(4))
	bad.Environment = "staging"
	if _, err := client.Send(context.Background(), bad); err == nil {
		t.Fatal("unknown environment accepted")
	}
	// The server verifies the provider token's signature: another key's token is refused, and so
	// is its re-minted successor.
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	forged := push.NewClient(push.ClientConfig{Key: other, KeyID: apns.KeyID, TeamID: apns.TeamID, SandboxURL: apns.URL,
		ProductionURL: apns.URL, TokenRefresh: time.Hour, RootCAs: []*x509.Certificate{apns.Cert}, Now: time.Now})
	if r, _ := forged.Send(context.Background(), note(apns, token(4))); r.Status != http.StatusForbidden || r.Reason != "InvalidProviderToken" || forged.TokensMinted() != 2 {
		t.Fatalf("forged token = %+v, %d minted", r, forged.TokensMinted())
	}
	// A server that is not there is an error, not an answer.
	down := push.NewClient(push.ClientConfig{Key: mustKey(t, apns), KeyID: apns.KeyID, TeamID: apns.TeamID,
		SandboxURL: "https://127.0.0.1:1", ProductionURL: "https://127.0.0.1:1", TokenRefresh: time.Hour, Now: time.Now})
	if _, err := down.Send(context.Background(), note(apns, token(4))); err == nil {
		t.Fatal("unreachable APNs: no error")
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	for name, p8 := range map[string]string{
		"not PEM":     "hello",
		"wrong block": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
		"not PKCS#8":  "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
	} {
		if _, err := push.ParseKey([]byte(p8)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
