package config

import (
	"encoding/base64"
	"encoding/hex"
	"net/url"
	"regexp"
	"strings"
)

// WebAuthn holds the passkey settings: the relying party and the apps allowed to use its
// credentials (internal/auth passkeys, the /.well-known association files).
type WebAuthn struct {
	// RPID (CCB_WEBAUTHN_RP_ID, default localhost) is the relying party id: the registrable
	// domain passkeys are bound to. It never changes once users hold passkeys.
	RPID string
	// RPName (CCB_WEBAUTHN_RP_NAME) is the name authenticators show.
	RPName string
	// Origins (CCB_WEBAUTHN_ORIGINS) are the origins a ceremony may come from: web origins
	// (https://app.example.com; http only for localhost) and Android apps'
	// android:apk-key-hash:… origins. Every CCB_ANDROID_APPS fingerprint adds its own.
	Origins []string
	// AppleAppIDs (CCB_APPLE_APP_IDS: TEAMID.bundle.id, comma-separated) are the iOS apps named in
	// /.well-known/apple-app-site-association (webcredentials and applinks).
	AppleAppIDs []string
	// AndroidApps (CCB_ANDROID_APPS: package=SHA256:FINGER:PRINT|…, comma-separated) are the
	// Android apps named in /.well-known/assetlinks.json.
	AndroidApps []AndroidApp
}

// AndroidApp is one Android package and the SHA-256 fingerprints of its signing certificates.
type AndroidApp struct {
	Package      string
	Fingerprints []string // upper-case hex pairs joined by colons, as assetlinks.json wants them
}

var (
	appleAppID     = regexp.MustCompile(`^[A-Z0-9]{10}\.[A-Za-z0-9.-]+$`)
	androidPackage = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)
)

// androidOriginPrefix starts the origin an Android app's WebAuthn ceremony reports.
const androidOriginPrefix = "android:apk-key-hash:"

func (r *reader) webauthn() WebAuthn {
	w := WebAuthn{
		RPID:        strings.ToLower(r.str("CCB_WEBAUTHN_RP_ID", "localhost")),
		RPName:      r.str("CCB_WEBAUTHN_RP_NAME", "ccbackend"),
		AppleAppIDs: r.list("CCB_APPLE_APP_IDS"),
	}
	for _, id := range w.AppleAppIDs {
		if !appleAppID.MatchString(id) {
			r.fail("CCB_APPLE_APP_IDS", "%q is not TEAMID.bundle.id", id)
		}
	}
	w.AndroidApps = r.androidApps("CCB_ANDROID_APPS")
	origins := r.list("CCB_WEBAUTHN_ORIGINS")
	if len(origins) == 0 && w.RPID == "localhost" {
		origins = []string{"http://localhost:8080"}
	}
	for _, o := range origins {
		if !strings.HasPrefix(o, androidOriginPrefix) && !webOrigin(o) {
			r.fail("CCB_WEBAUTHN_ORIGINS", "%q is neither an https origin (http only for localhost) nor %s…", o, androidOriginPrefix)
		}
	}
	for _, app := range w.AndroidApps {
		for _, fp := range app.Fingerprints {
			raw, _ := hex.DecodeString(strings.ReplaceAll(fp, ":", "")) // validated by androidApps
			origins = append(origins, androidOriginPrefix+base64.RawURLEncoding.EncodeToString(raw))
		}
	}
	w.Origins = origins
	return w
}

// webOrigin reports whether o is scheme://host[:port] with nothing after it.
func webOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return false
	}
	return u.Scheme == "https" || (u.Scheme == "http" && u.Hostname() == "localhost")
}

func (r *reader) androidApps(name string) []AndroidApp {
	var apps []AndroidApp
	for _, entry := range r.list(name) {
		pkg, fps, ok := strings.Cut(entry, "=")
		if !ok || !androidPackage.MatchString(pkg) {
			r.fail(name, "%q is not package=FINGERPRINT|…", entry)
			continue
		}
		app := AndroidApp{Package: pkg}
		for _, fp := range strings.Split(fps, "|") {
			fp = strings.ToUpper(strings.TrimSpace(fp))
			raw, err := hex.DecodeString(strings.ReplaceAll(fp, ":", ""))
			if err != nil || len(raw) != 32 {
				r.fail(name, "%q of %s is not a SHA-256 fingerprint (AA:BB:… 32 bytes)", fp, pkg)
				continue
			}
			app.Fingerprints = append(app.Fingerprints, colonHex(raw))
		}
		apps = append(apps, app)
	}
	return apps
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = strings.ToUpper(hex.EncodeToString([]byte{c}))
	}
	return strings.Join(parts, ":")
}
