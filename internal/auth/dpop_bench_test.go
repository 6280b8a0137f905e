package auth_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/ccbackend/ccbackend/internal/auth"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkDPoPVerify is what verifying one resource request's proof costs: parse, signature,
// claims, thumbprint ("parse"), plus spending its jti in Redis ("verify"). It reports the median
// as p50-µs beside the mean.
func BenchmarkDPoPVerify(b *testing.B) {
	rdb := testutil.NewRedis(b)
	for _, alg := range []jwa.SignatureAlgorithm{jwa.ES256, jwa.EdDSA, jwa.RS256} {
		key := testutil.NewDPoPKey(b, alg)
		v := auth.NewDPoPProofs(rdb, testutil.NewRedisPrefix(b), time.Minute, time.Now)
		b.Run(alg.String()+"/parse", func(b *testing.B) {
			proof := key.Proof(b, "GET", proofURL, "the-token")
			want := auth.DPoPRequest{Method: "GET", URL: proofURL, AccessToken: "the-token"}
			benchP50(b, func(int) {
				if _, err := auth.ParseDPoPProof(proof, want, time.Now(), time.Minute); err != nil {
					b.Fatal(err)
				}
			})
		})
		b.Run(alg.String()+"/verify", func(b *testing.B) {
			proofs := make([]string, b.N)
			for i := range proofs {
				proofs[i] = key.Proof(b, "GET", proofURL, "the-token")
			}
			benchP50(b, func(i int) {
				req := auth.DPoPRequest{Proofs: proofs[i : i+1], Method: "GET", URL: proofURL, AccessToken: "the-token"}
				if _, err := v.Verify(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// benchP50 runs op b.N times, timing each, and reports the median.
func benchP50(b *testing.B, op func(i int)) {
	b.Helper()
	d := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		op(i)
		d[i] = time.Since(start)
	}
	b.StopTimer()
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Nanoseconds())/1e3, "p50-µs")
}
