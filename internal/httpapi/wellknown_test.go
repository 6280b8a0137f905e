package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/ccbackend/ccbackend/gen/api"
	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

func TestAppAssociationFiles(t *testing.T) {
	const fp = "14:6D:E9:83:C5:73:06:50:D8:EE:B9:95:2F:34:FC:64:16:A0:83:42:E6:1D:BE:A8:8A:04:96:B2:3F:CF:44:E5"
	s := testutil.NewServer(t, testutil.WithConfig(func(c *testutil.Config) {
		c.WebAuthn.AppleAppIDs = []string{"ABCDE12345.com.example.claude"}
		c.WebAuthn.AndroidApps = []config.AndroidApp{{Package: "com.example.claude", Fingerprints: []string{fp}}}
	}))
	resp, raw := s.Do(t, http.MethodGet, "/.well-known/apple-app-site-association", nil, nil)
	aasa := decodeInto[api.AppleAppSiteAssociation](t, resp, raw, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("AASA content type %q, want application/json", ct)
	}
	if len(aasa.Webcredentials.Apps) != 1 || aasa.Webcredentials.Apps[0] != "ABCDE12345.com.example.claude" ||
		len(aasa.Applinks.Details) != 1 || aasa.Applinks.Details[0].AppIDs[0] != "ABCDE12345.com.example.claude" {
		t.Fatalf("AASA = %s", raw)
	}
	resp, raw = s.Do(t, http.MethodGet, "/.well-known/assetlinks.json", nil, nil)
	links := decodeInto[[]api.AssetLinkStatement](t, resp, raw, http.StatusOK)
	if len(links) != 1 || links[0].Target.PackageName != "com.example.claude" || links[0].Target.Sha256CertFingerprints[0] != fp ||
		len(links[0].Relation) != 2 {
		t.Fatalf("assetlinks = %s", raw)
	}

	// Without apps: no AASA (404), an empty statement list.
	bare := testutil.NewServer(t)
	resp, raw = bare.Do(t, http.MethodGet, "/.well-known/apple-app-site-association", nil, nil)
	decodeProblem(t, resp, raw, http.StatusNotFound)
	resp, raw = bare.Do(t, http.MethodGet, "/.well-known/assetlinks.json", nil, nil)
	if links := decodeInto[[]api.AssetLinkStatement](t, resp, raw, http.StatusOK); len(links) != 0 {
		t.Fatalf("assetlinks without apps = %s", raw)
	}
}
