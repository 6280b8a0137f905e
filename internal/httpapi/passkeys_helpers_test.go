package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"fmt"
	"net/http"
	"testing"

	"github.com/descope/virtualwebauthn"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// testRP is the relying party of the test servers: the configuration's default (CCB_WEBAUTHN_RP_ID
// localhost, origin http://localhost:8080).
var testRP = virtualwebauthn.RelyingParty{ID: "localhost", Name: "ccbackend", Origin: "http://localhost:8080"}

// softKey is a software authenticator holding one passkey (github.com/descope/virtualwebauthn).
type softKey struct {
	rp   virtualwebauthn.RelyingParty
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newSoftKey(opts virtualwebauthn.AuthenticatorOptions) *softKey {
	return &softKey{rp: testRP, auth: virtualwebauthn.NewAuthenticatorWithOptions(opts), cred: fullWidthEC2Credential()}
}

// fullWidthEC2Credential returns a new P-256 credential whose public coordinates are both 32
// bytes long. virtualwebauthn writes X and Y into the COSE key with big.Int.Bytes, dropping
// leading zero bytes, and a conforming verifier (go-webauthn) refuses a short coordinate — so
// about one key in a hundred made the passkey tests fail at random. Real authenticators always
// send the full width.
func fullWidthEC2Credential() virtualwebauthn.Credential {
	for {
		cred := virtualwebauthn.NewCredential(virtualwebauthn.KeyTypeEC2)
		parsed, err := x509.ParsePKCS8PrivateKey(cred.Key.Data)
		if err != nil {
			panic("virtualwebauthn exported an unreadable key: " + err.Error())
		}
		point, err := parsed.(*ecdsa.PrivateKey).PublicKey.Bytes() // 0x04 || X || Y, each padded to 32 bytes
		if err != nil {
			panic("virtualwebauthn made an unusable key: " + err.Error())
		}
		if point[1] != 0 && point[33] != 0 {
			return cred
		}
	}
}

// beginRegistration starts a registration for u and asserts 200.
func beginRegistration(t *testing.T, s *testutil.Server, u testutil.Session) api.PasskeyCeremony {
	t.Helper()
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/passkeys/register/begin", nil, u.Bearer())
	return decodeInto[api.PasskeyCeremony](t, resp, raw, http.StatusOK)
}

// attest answers the creation options of c as k's authenticator would.
func (k *softKey) attest(t *testing.T, c api.PasskeyCeremony) string {
	t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(c.Options))
	if err != nil {
		t.Fatalf("creation options %s: %v", c.Options, err)
	}
	k.auth.Options.UserHandle = []byte(opts.UserID)
	return virtualwebauthn.CreateAttestationResponse(k.rp, k.auth, k.cred, *opts)
}

// finishRegistration posts an attestation for ceremony id.
func finishRegistration(t *testing.T, s *testutil.Server, u testutil.Session, id, attestation string) (*http.Response, []byte) {
	t.Helper()
	body := fmt.Sprintf(`{"ceremony_id":%q,"credential":%s,"name":"test phone"}`, id, attestation)
	return s.Do(t, http.MethodPost, "/v1/auth/passkeys/register/finish", body, u.Bearer())
}

// registerPasskey runs a whole registration of k for u and asserts 201.
func registerPasskey(t *testing.T, s *testutil.Server, u testutil.Session, k *softKey) api.Passkey {
	t.Helper()
	c := beginRegistration(t, s, u)
	resp, raw := finishRegistration(t, s, u, c.CeremonyId, k.attest(t, c))
	return decodeInto[api.Passkey](t, resp, raw, http.StatusCreated)
}

// beginPasskeyLogin starts a usernameless sign-in and asserts 200.
func beginPasskeyLogin(t *testing.T, s *testutil.Server) api.PasskeyCeremony {
	t.Helper()
	resp, raw := s.Do(t, http.MethodPost, "/v1/auth/passkeys/login/begin", nil, nil)
	return decodeInto[api.PasskeyCeremony](t, resp, raw, http.StatusOK)
}

// assert signs the request options of c; each assertion advances the counter first, as a
// counting authenticator does.
func (k *softKey) assert(t *testing.T, c api.PasskeyCeremony) string {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(c.Options))
	if err != nil {
		t.Fatalf("request options %s: %v", c.Options, err)
	}
	k.cred.Counter++
	return virtualwebauthn.CreateAssertionResponse(k.rp, k.auth, k.cred, *opts)
}

// finishPasskeyLogin posts an assertion for ceremony id.
func finishPasskeyLogin(t *testing.T, s *testutil.Server, id, assertion string) (*http.Response, []byte) {
	t.Helper()
	return s.Do(t, http.MethodPost, "/v1/auth/passkeys/login/finish", fmt.Sprintf(`{"ceremony_id":%q,"credential":%s}`, id, assertion), nil)
}

// passkeyLogin signs in with k and returns the session.
func passkeyLogin(t *testing.T, s *testutil.Server, k *softKey) testutil.Session {
	t.Helper()
	c := beginPasskeyLogin(t, s)
	resp, raw := finishPasskeyLogin(t, s, c.CeremonyId, k.assert(t, c))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("passkey login = %d: %s", resp.StatusCode, raw)
	}
	return testutil.DecodeSession(t, raw, "", "")
}
