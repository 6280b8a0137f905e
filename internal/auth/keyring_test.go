package auth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/secret"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

const (
	keyringTestRotateEvery = 24 * time.Hour
	keyringTestTTL         = 15 * time.Minute
)

var keyringTestMaster = []byte("keyring-test-master-key-0123456789abcdef")

// keyringClock is a settable clock shared by every instance in a test.
type keyringClock struct {
	mu sync.Mutex
	t  time.Time
}

func newKeyringClock() *keyringClock {
	return &keyringClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *keyringClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *keyringClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// keyringOpen opens a store on url; each call is a separate pool, like a separate instance.
func keyringOpen(t testing.TB, url string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func keyringNew(t testing.TB, st *store.Store, clock *keyringClock, master []byte) *auth.KeyRing {
	t.Helper()
	box, err := secret.NewBox(master, auth.SigningKeysPurpose)
	if err != nil {
		t.Fatal(err)
	}
	return auth.NewKeyRing(st, box, clock.Now, keyringTestRotateEvery, keyringTestTTL, slog.New(slog.DiscardHandler))
}

func keyringEnsure(t *testing.T, k *auth.KeyRing) {
	t.Helper()
	if err := k.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type keyringRow struct {
	Kid         string
	CreatedAt   time.Time
	RetiredAt   *time.Time
	VerifyUntil *time.Time
	PublicJWK   map[string]string
}

func keyringRows(t *testing.T, st *store.Store) []keyringRow {
	t.Helper()
	rows, err := st.Pool.Query(context.Background(),
		`SELECT kid, created_at, retired_at, verify_until, public_jwk FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []keyringRow
	for rows.Next() {
		var r keyringRow
		var raw []byte
		if err := rows.Scan(&r.Kid, &r.CreatedAt, &r.RetiredAt, &r.VerifyUntil, &raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &r.PublicJWK); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// keyringAudits returns the details of every keys.rotate entry, oldest first.
func keyringAudits(t *testing.T, st *store.Store) []map[string]any {
	t.Helper()
	rows, err := st.Pool.Query(context.Background(),
		`SELECT details FROM audit_log WHERE action = 'keys.rotate' AND outcome = 'success' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		var d map[string]any
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func keyringKids(keys []auth.PublicJWK) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.Kid)
	}
	return out
}

func TestKeyRingEnsureCreatesOneKeyOnce(t *testing.T) {
	st := keyringOpen(t, testutil.NewDatabase(t))
	clock := newKeyringClock()
	k := keyringNew(t, st, clock, keyringTestMaster)
	keyringEnsure(t, k)
	clock.Advance(keyringTestRotateEvery - time.Second) // not yet due
	keyringEnsure(t, k)

	rows := keyringRows(t, st)
	if len(rows) != 1 || rows[0].RetiredAt != nil {
		t.Fatalf("rows = %+v, want one active key", rows)
	}
	jwk := rows[0].PublicJWK
	want := map[string]string{"kty": "RSA", "kid": rows[0].Kid, "use": "sig", "alg": "RS256", "e": "AQAB"}
	for name, v := range want {
		if jwk[name] != v {
			t.Errorf("public_jwk[%s] = %q, want %q", name, jwk[name], v)
		}
	}
	if len(jwk["n"]) != 342 { // 2048 bits in unpadded base64url
		t.Errorf("n has %d characters, want 342 (RSA-2048)", len(jwk["n"]))
	}
	pub := k.PublicKeys()
	if len(pub) != 1 || pub[0].Kid != rows[0].Kid || pub[0].N != jwk["n"] || pub[0].E != "AQAB" {
		t.Fatalf("PublicKeys = %+v", pub)
	}
	if a := keyringAudits(t, st); len(a) != 1 || a[0]["kid"] != rows[0].Kid || a[0]["reason"] != "initial" {
		t.Fatalf("audit = %v", a)
	}
}

func TestKeyRingPrivateKeyIsEncryptedAndBoundToKid(t *testing.T) {
	url := testutil.NewDatabase(t)
	st := keyringOpen(t, url)
	clock := newKeyringClock()
	keyringEnsure(t, keyringNew(t, st, clock, keyringTestMaster))

	ctx := context.Background()
	var plainDER bool
	if err := st.Pool.QueryRow(ctx, `SELECT position('\x3082'::bytea in private_enc) = 1 FROM signing_keys`).Scan(&plainDER); err != nil {
		t.Fatal(err)
	}
	if plainDER {
		t.Fatal("private_enc starts like a DER structure: not encrypted")
	}
	// Another master key cannot load it.
	other := keyringNew(t, keyringOpen(t, url), clock, []byte("a-different-master-key-0123456789abcdef"))
	if err := other.Ensure(ctx); err == nil {
		t.Fatal("Ensure with the wrong master key succeeded")
	}
	// A ciphertext moved to another row does not open (aad = kid).
	if _, err := st.Pool.Exec(ctx, `INSERT INTO signing_keys (kid, private_enc, public_jwk, created_at)
		SELECT 'moved', private_enc, jsonb_set(public_jwk, '{kid}', '"moved"'), created_at + interval '1 second'
		FROM signing_keys`); err != nil {
		t.Fatal(err)
	}
	if err := keyringNew(t, keyringOpen(t, url), clock, keyringTestMaster).Ensure(ctx); err == nil {
		t.Fatal("a private key copied under another kid was accepted")
	}
}

func TestKeyRingConcurrentEnsureCreatesOneKey(t *testing.T) {
	url := testutil.NewDatabase(t)
	clock := newKeyringClock()
	rings := make([]*auth.KeyRing, 4)
	for i := range rings {
		rings[i] = keyringNew(t, keyringOpen(t, url), clock, keyringTestMaster)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(rings))
	for i, k := range rings {
		wg.Go(func() { errs[i] = k.Ensure(context.Background()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st := keyringOpen(t, url)
	if rows := keyringRows(t, st); len(rows) != 1 {
		t.Fatalf("%d keys after concurrent starts, want 1", len(rows))
	}
	for _, k := range rings {
		if got := keyringKids(k.PublicKeys()); len(got) != 1 || got[0] != keyringRows(t, st)[0].Kid {
			t.Fatalf("instance disagrees: %v", got)
		}
	}
}

func TestKeyRingEnsureRotatesWhenDue(t *testing.T) {
	st := keyringOpen(t, testutil.NewDatabase(t))
	clock := newKeyringClock()
	k := keyringNew(t, st, clock, keyringTestMaster)
	keyringEnsure(t, k)
	clock.Advance(keyringTestRotateEvery)
	keyringEnsure(t, k)

	rows := keyringRows(t, st)
	if len(rows) != 2 {
		t.Fatalf("%d keys, want 2", len(rows))
	}
	old, cur := rows[0], rows[1]
	if old.RetiredAt == nil || !old.RetiredAt.Equal(clock.Now()) {
		t.Fatalf("old key retired_at = %v, want %v", old.RetiredAt, clock.Now())
	}
	if want := clock.Now().Add(keyringTestTTL + 2*time.Minute); old.VerifyUntil == nil || !old.VerifyUntil.Equal(want) {
		t.Fatalf("verify_until = %v, want %v", old.VerifyUntil, want)
	}
	if cur.RetiredAt != nil {
		t.Fatal("new key is retired")
	}
	if got := keyringKids(k.PublicKeys()); len(got) != 2 || got[0] != cur.Kid || got[1] != old.Kid {
		t.Fatalf("PublicKeys = %v, want [%s %s]", got, cur.Kid, old.Kid)
	}
	a := keyringAudits(t, st)
	if len(a) != 2 || a[1]["kid"] != cur.Kid || a[1]["retired_kid"] != old.Kid || a[1]["reason"] != "scheduled" {
		t.Fatalf("audit = %v", a)
	}
}

func TestKeyRingRotateRetiresPreviousAndAudits(t *testing.T) {
	st := keyringOpen(t, testutil.NewDatabase(t))
	clock := newKeyringClock()
	k := keyringNew(t, st, clock, keyringTestMaster)
	keyringEnsure(t, k)
	first := keyringRows(t, st)[0].Kid
	kid, err := k.Rotate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if kid == first || kid == "" {
		t.Fatalf("rotate returned %q (previous %q)", kid, first)
	}
	if signer, _ := auth.KeyRingSigner(k); signer != kid {
		t.Fatalf("signing with %s, want the new key %s", signer, kid)
	}
	a := keyringAudits(t, st)
	if len(a) != 2 || a[1]["kid"] != kid || a[1]["retired_kid"] != first || a[1]["reason"] != "manual" {
		t.Fatalf("audit = %v", a)
	}
}

func TestKeyRingRunFollowsOtherInstancesAndRotatesWhenDue(t *testing.T) {
	url := testutil.NewDatabase(t)
	clock := newKeyringClock()
	a := keyringNew(t, keyringOpen(t, url), clock, keyringTestMaster)
	b := keyringNew(t, keyringOpen(t, url), clock, keyringTestMaster)
	keyringEnsure(t, a)
	keyringEnsure(t, b)
	auth.SetKeyRingTiming(b, 10*time.Millisecond, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()

	waitSigner := func(what string, ok func(kid string) bool) string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if kid, _ := auth.KeyRingSigner(b); ok(kid) {
				return kid
			}
		}
		t.Fatalf("timed out waiting for %s", what)
		return ""
	}
	rotated, err := a.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitSigner("b to adopt a's rotation", func(kid string) bool { return kid == rotated })

	clock.Advance(keyringTestRotateEvery)
	own := waitSigner("b's scheduled rotation", func(kid string) bool { return kid != rotated })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	rows := keyringRows(t, keyringOpen(t, url))
	if len(rows) != 3 || rows[2].Kid != own || rows[2].RetiredAt != nil || rows[1].RetiredAt == nil {
		t.Fatalf("rows = %+v", rows)
	}
}
