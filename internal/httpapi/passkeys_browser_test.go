package httpapi_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// chromiumPath is Debian's build (apt package chromium), installed by scripts/ensure-tools.sh.
const chromiumPath = "/usr/bin/chromium"

// passkeyPage runs the two ceremonies the way a web client does: the server's JSON options
// through PublicKeyCredential.parse*OptionsFromJSON, navigator.credentials.create/get, and the
// credential's toJSON() back to the server.
const passkeyPage = `<!doctype html><meta charset="utf-8"><title>passkeys</title>
<script>
async function call(path, body, token) {
  const headers = {"Content-Type": "application/json"};
  if (token) headers["Authorization"] = "Bearer " + token;
  const r = await fetch(path, {method: "POST", headers, body: body === undefined ? undefined : JSON.stringify(body)});
  return {status: r.status, body: await r.json()};
}
async function registerPasskey(token) {
  const begin = await call("/v1/auth/passkeys/register/begin", undefined, token);
  if (begin.status !== 200) return begin;
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(begin.body.options.publicKey);
  const cred = await navigator.credentials.create({publicKey});
  return call("/v1/auth/passkeys/register/finish", {ceremony_id: begin.body.ceremony_id, credential: cred.toJSON(), name: "chromium"}, token);
}
async function signIn() {
  const begin = await call("/v1/auth/passkeys/login/begin");
  if (begin.status !== 200) return begin;
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(begin.body.options.publicKey);
  const cred = await navigator.credentials.get({publicKey});
  return call("/v1/auth/passkeys/login/finish", {ceremony_id: begin.body.ceremony_id, credential: cred.toJSON(), client_type: "web"});
}
</script>`

type browserAnswer struct {
	Status int            `json:"status"`
	Body   map[string]any `json:"body"`
}

// TestPasskeyInChromium registers a passkey and signs in with it through real headless Chromium
// and its CDP virtual authenticator (a user-verifying platform authenticator with resident keys).
func TestPasskeyInChromium(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing; scripts/ensure-tools.sh installs it", chromiumPath)
		}
		t.Skipf("%s is missing; scripts/ensure-tools.sh installs it", chromiumPath)
	}
	// The page and the API share one origin, http://localhost:PORT: a secure context, and the
	// origin the relying party (id localhost) must accept, so the port is chosen first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.WebAuthn.RPID, c.WebAuthn.Origins = "localhost", []string{origin}
	}))
	u := s.Register(t, "chromium@example.com")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /passkey-test", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(passkeyPage))
	})
	mux.Handle("/", s.App.Handler)
	site := httptest.NewUnstartedServer(mux)
	_ = site.Listener.Close()
	site.Listener = ln
	site.Start()
	t.Cleanup(site.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	browser, closeBrowser := chromedp.NewContext(alloc)
	defer closeBrowser()

	if _, err := chromedp.Run(browser, chromedp.Navigate(origin+"/passkey-test")); err != nil {
		t.Fatalf("navigate: %v", err)
	}
	if _, err := chromedp.Call(browser, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	if _, err := chromedp.Call(browser, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}}); err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}

	reg, err := chromedp.Run(browser, chromedp.Evaluate[browserAnswer](fmt.Sprintf("registerPasskey(%q)", u.AccessToken), chromedp.EvalAwaitPromise))
	if err != nil || reg.Status != http.StatusCreated || reg.Body["name"] != "chromium" {
		t.Fatalf("registration in Chromium = %+v, %v", reg, err)
	}
	login, err := chromedp.Run(browser, chromedp.Evaluate[browserAnswer]("signIn()", chromedp.EvalAwaitPromise))
	if err != nil || login.Status != http.StatusOK {
		t.Fatalf("sign-in in Chromium = %+v, %v", login, err)
	}
	user, _ := login.Body["user"].(map[string]any)
	if user["email"] != u.Email || login.Body["access_token"] == "" {
		t.Fatalf("sign-in answered %+v", login.Body)
	}
	token, _ := login.Body["access_token"].(string)
	if got := status(t, s, map[string]string{"Authorization": "Bearer " + token}); got != http.StatusOK {
		t.Fatalf("profile with the browser's access token = %d", got)
	}
}
