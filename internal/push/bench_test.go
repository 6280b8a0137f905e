package push_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// BenchmarkClientSend is one notification to the local APNs server over the kept HTTP/2
// connection with the reused provider token (the server verifies the ES256 signature each time).
func BenchmarkClientSend(b *testing.B) {
	apns := testutil.StartAPNs(b)
	client := newClientTB(b, apns)
	n := note(apns, token(1))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if r, err := client.Send(context.Background(), n); err != nil || r.Status != http.StatusOK {
				b.Fatalf("send = %+v, %v", r, err)
			}
		}
	})
	b.ReportMetric(float64(client.TokensMinted()), "tokens_minted")
}
