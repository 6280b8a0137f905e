package config

import (
	"slices"
	"strings"
	"testing"
)

func TestWebAuthnSettings(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.WebAuthn; w.RPID != "localhost" || !slices.Equal(w.Origins, []string{"http://localhost:8080"}) || len(w.AppleAppIDs) != 0 {
		t.Errorf("webauthn defaults = %+v", w)
	}
	const fp = "14:6d:e9:83:c5:73:06:50:d8:ee:b9:95:2f:34:fc:64:16:a0:83:42:e6:1d:be:a8:8a:04:96:b2:3f:cf:44:e5"
	c, err = Load(env(map[string]string{
		"CCB_WEBAUTHN_RP_ID":   "Example.com",
		"CCB_WEBAUTHN_ORIGINS": "https://example.com, https://app.example.com:8443,android:apk-key-hash:abc",
		"CCB_APPLE_APP_IDS":    "ABCDE12345.com.example.app",
		"CCB_ANDROID_APPS":     "com.example.app=" + fp,
	}))
	if err != nil {
		t.Fatal(err)
	}
	w := c.WebAuthn
	want := []string{"https://example.com", "https://app.example.com:8443", "android:apk-key-hash:abc",
		"android:apk-key-hash:FG3pg8VzBlDY7rmVLzT8ZBagg0LmHb6oigSWsj_PROU"}
	if w.RPID != "example.com" || !slices.Equal(w.Origins, want) {
		t.Errorf("origins = %v, rp %q; want %v", w.Origins, w.RPID, want)
	}
	if len(w.AndroidApps) != 1 || w.AndroidApps[0].Package != "com.example.app" || w.AndroidApps[0].Fingerprints[0] != strings.ToUpper(fp) {
		t.Errorf("android apps = %+v", w.AndroidApps)
	}
	for name, bad := range map[string]map[string]string{
		"CCB_WEBAUTHN_ORIGINS": {"CCB_WEBAUTHN_ORIGINS": "http://example.com"},
		"CCB_APPLE_APP_IDS":    {"CCB_APPLE_APP_IDS": "com.example.app"},
		"CCB_ANDROID_APPS":     {"CCB_ANDROID_APPS": "com.example.app=12:34"},
	} {
		if _, err := Load(env(bad)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: error %v, want one naming %s", bad, err, name)
		}
	}
	if _, err := Load(env(map[string]string{"CCB_ANDROID_APPS": "not a package"})); err == nil {
		t.Error("a malformed CCB_ANDROID_APPS entry was accepted")
	}
}
