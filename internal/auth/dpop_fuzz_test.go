package auth_test

import (
	"testing"
	"time"

	"github.com/ccbackend/ccbackend/internal/auth"
)

// FuzzDPoPProof feeds arbitrary headers to the proof parser: it must never panic, and whatever it
// accepts must name a key and a jti. Seeds (testdata/fuzz/FuzzDPoPProof) are valid ES256, RS256
// and EdDSA proofs for fuzzRequest plus broken variants; the window spans any seed's iat.
func FuzzDPoPProof(f *testing.F) {
	f.Add("")
	f.Add("a.b.c")
	f.Add(`{"payload":"e30","signatures":[{"protected":"e30","signature":""}]}`)
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, proof string) {
		p, err := auth.ParseDPoPProof(proof, fuzzRequest, now, 100*365*24*time.Hour)
		if err == nil && (p.JKT == "" || p.JTI == "") {
			t.Fatalf("accepted a proof without key or jti: %+v", p)
		}
	})
}

var fuzzRequest = auth.DPoPRequest{Method: "POST", URL: "https://api.example.com/v1/auth/refresh", AccessToken: "tok"}
