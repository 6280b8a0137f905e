package httpapi_test

import (
	"testing"

	"github.com/ccbackend/ccbackend/internal/testutil"
)

// Every operation may meet a dependency outage, so every one declares the shared 503
// (problem+json with a required Retry-After), and clients generated from the contract know to retry.
func TestEveryOperationDeclaresServiceUnavailable(t *testing.T) {
	t.Parallel()
	doc := testutil.LoadContract(t).Doc
	shared := doc.Components.Responses["ServiceUnavailable"]
	if shared == nil || shared.Value == nil {
		t.Fatal("components/responses/ServiceUnavailable is missing")
	}
	ra := shared.Value.Headers["Retry-After"]
	if ra == nil || ra.Value == nil || !ra.Value.Required {
		t.Error("ServiceUnavailable does not require a Retry-After header")
	}
	if shared.Value.Content.Get("application/problem+json") == nil {
		t.Error("ServiceUnavailable is not application/problem+json")
	}
	for _, o := range operations(doc) {
		r := o.op.Responses.Status(503)
		if r == nil || r.Ref != "#/components/responses/ServiceUnavailable" {
			t.Errorf("%s %s (%s) does not answer 503 with components/responses/ServiceUnavailable", o.method, o.path, o.op.OperationID)
		}
	}
}
