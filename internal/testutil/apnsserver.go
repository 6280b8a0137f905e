package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ccbackend/ccbackend/internal/config"
)

// APNsServer is a local HTTP/2 TLS server that speaks APNs' documented provider API: POST
// /3/device/<hex token> with a bearer ES256 provider token (kid = key id, iss = team id, iat
// under an hour old), apns-topic, apns-push-type and apns-priority headers and a JSON payload of
// at most 4 KiB; 200 with an apns-id, or a status with a JSON {"reason"} body (410 adds a
// millisecond "timestamp"). It verifies the token against the public half of the key it made.
type APNsServer struct {
	URL     string
	KeyFile string // the .p8 (PKCS#8 PEM) the service signs with
	CAFile  string // the server's certificate (PEM), for CCB_APNS_CA_FILE
	KeyID   string
	TeamID  string
	Topic   string
	Cert    *x509.Certificate // the server's certificate, to trust

	pub *ecdsa.PublicKey

	mu       sync.Mutex
	scripted map[string][]APNsReply // token → answers to give before 200
	received []APNsPush
	requests []APNsPush
	arrived  chan struct{}
}

// APNsReply is a scripted answer.
type APNsReply struct {
	Status    int
	Reason    string
	Timestamp int64 // ms since the epoch, for 410
}

// APNsPush is one request the server received.
type APNsPush struct {
	Token    string
	Header   http.Header
	Payload  map[string]any
	JWT      string
	Status   int
	Reason   string
	Proto    string
	Received time.Time
}

// StartAPNs starts the server with a fresh P-256 key, stopped when t ends.
func StartAPNs(t testing.TB) *APNsServer {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &APNsServer{KeyFile: filepath.Join(dir, "AuthKey_TESTKEY123.p8"), CAFile: filepath.Join(dir, "apns-ca.pem"),
		KeyID: "TESTKEY123", TeamID: "TEAM456789", Topic: "dev.ccbackend.app", pub: &key.PublicKey,
		scripted: map[string][]APNsReply{}, arrived: make(chan struct{}, 1024)}
	if err := os.WriteFile(s.KeyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	hs.EnableHTTP2 = true
	hs.StartTLS()
	t.Cleanup(hs.Close)
	s.URL, s.Cert = hs.URL, hs.Certificate()
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
	if err := os.WriteFile(s.CAFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// Configure points the service's push settings at this server (both environments).
func (s *APNsServer) Configure(c *config.Config) {
	c.Push.KeyFile, c.Push.KeyID, c.Push.TeamID, c.Push.Topic = s.KeyFile, s.KeyID, s.TeamID, s.Topic
	c.Push.SandboxURL, c.Push.ProductionURL, c.Push.CAFile = s.URL, s.URL, s.CAFile
	c.Push.RetryBase = time.Millisecond
}

// Script makes the server answer token's next requests with replies, in order, then 200.
func (s *APNsServer) Script(token string, replies ...APNsReply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripted[token] = append(s.scripted[token], replies...)
}

// Received returns the pushes answered 200, in arrival order.
func (s *APNsServer) Received() []APNsPush {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]APNsPush(nil), s.received...)
}

// Requests returns every request, accepted or refused, in arrival order.
func (s *APNsServer) Requests() []APNsPush {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]APNsPush(nil), s.requests...)
}

// WaitRequests blocks until n requests (accepted or refused) arrived, or fails t after a minute.
func (s *APNsServer) WaitRequests(t testing.TB, n int) []APNsPush {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		if got := s.Requests(); len(got) >= n {
			return got
		}
		select {
		case <-s.arrived:
		case <-deadline:
			t.Fatalf("APNs server: %d requests arrived, want %d", len(s.Requests()), n)
		}
	}
}

func (s *APNsServer) serve(w http.ResponseWriter, r *http.Request) {
	p := APNsPush{Token: strings.TrimPrefix(r.URL.Path, "/3/device/"), Header: r.Header.Clone(), Proto: r.Proto, Received: time.Now()}
	p.JWT = strings.TrimPrefix(r.Header.Get("authorization"), "bearer ")
	p.Status, p.Reason = s.check(r, &p)
	var timestamp int64
	s.mu.Lock()
	if q := s.scripted[p.Token]; p.Status == http.StatusOK && len(q) > 0 {
		s.scripted[p.Token] = q[1:]
		p.Status, p.Reason, timestamp = q[0].Status, q[0].Reason, q[0].Timestamp
	}
	if p.Status == http.StatusOK {
		s.received = append(s.received, p)
	}
	s.requests = append(s.requests, p)
	s.mu.Unlock()
	s.answer(w, p, timestamp)
	select {
	case s.arrived <- struct{}{}:
	default: // a waiter polls Requests anyway
	}
}

func (s *APNsServer) answer(w http.ResponseWriter, p APNsPush, timestamp int64) {
	w.Header().Set("apns-id", "00000000-0000-4000-8000-"+strings.Repeat("0", 11)+"1")
	if p.Status == http.StatusOK {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(p.Status)
	body := map[string]any{"reason": p.Reason}
	if timestamp > 0 {
		body["timestamp"] = timestamp
	}
	_ = json.NewEncoder(w).Encode(body)
}

// check applies APNs' request rules in the order Apple documents its errors.
func (s *APNsServer) check(r *http.Request, p *APNsPush) (int, string) {
	switch {
	case r.ProtoMajor != 2:
		return http.StatusBadRequest, "BadPath" // APNs speaks HTTP/2 only
	case r.Method != http.MethodPost:
		return http.StatusMethodNotAllowed, "MethodNotAllowed"
	case !strings.HasPrefix(r.URL.Path, "/3/device/"):
		return http.StatusNotFound, "BadPath"
	case !isHex(p.Token):
		return http.StatusBadRequest, "BadDeviceToken"
	case r.Header.Get("apns-topic") == "":
		return http.StatusBadRequest, "MissingTopic"
	case r.Header.Get("apns-topic") != s.Topic:
		return http.StatusBadRequest, "DeviceTokenNotForTopic"
	case r.Header.Get("apns-push-type") != "alert" && r.Header.Get("apns-push-type") != "background":
		return http.StatusBadRequest, "InvalidPushType"
	case r.Header.Get("apns-priority") != "" && r.Header.Get("apns-priority") != "10" && r.Header.Get("apns-priority") != "5":
		return http.StatusBadRequest, "BadPriority"
	case len(r.Header.Get("apns-collapse-id")) > 64:
		return http.StatusBadRequest, "BadCollapseId"
	}
	if status, reason := s.checkToken(p.JWT); status != http.StatusOK {
		return status, reason
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 4097))
	switch {
	case err != nil || len(body) == 0:
		return http.StatusBadRequest, "PayloadEmpty"
	case len(body) > 4096:
		return http.StatusRequestEntityTooLarge, "PayloadTooLarge"
	case json.Unmarshal(body, &p.Payload) != nil || p.Payload["aps"] == nil:
		return http.StatusBadRequest, "BadPayload"
	}
	return http.StatusOK, ""
}

// checkToken verifies the provider token: ES256 under our key, the key id, the team, a fresh iat.
func (s *APNsServer) checkToken(token string) (int, string) {
	if token == "" {
		return http.StatusForbidden, "MissingProviderToken"
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil || len(msg.Signatures()) != 1 || msg.Signatures()[0].ProtectedHeaders().KeyID() != s.KeyID {
		return http.StatusForbidden, "InvalidProviderToken"
	}
	parsed, err := jwt.Parse([]byte(token), jwt.WithKey(jwa.ES256, s.pub), jwt.WithValidate(false))
	if err != nil || parsed.Issuer() != s.TeamID || parsed.IssuedAt().IsZero() {
		return http.StatusForbidden, "InvalidProviderToken"
	}
	if time.Since(parsed.IssuedAt()) > time.Hour {
		return http.StatusForbidden, "ExpiredProviderToken"
	}
	return http.StatusOK, ""
}

func isHex(s string) bool {
	if len(s) < 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
