package testutil

import (
	"sort"
	"sync"

	"github.com/getkin/kin-openapi/routers"
)

// exercised records, for this test binary, the operations that gave at least one validated
// answer below 400. A 401 from the guard test does not count: an operation is exercised when a
// test made it do its work and the answer matched the contract.
var exercised = struct {
	sync.Mutex
	ops map[string]bool
}{ops: map[string]bool{}}

func recordExercised(route *routers.Route, status int) {
	if route == nil || route.Operation == nil || status >= 400 {
		return
	}
	exercised.Lock()
	exercised.ops[route.Operation.OperationID] = true
	exercised.Unlock()
}

// UnexercisedOperations lists the operationIds of the contract that no validated request of this
// test binary answered with a success, sorted. It is empty when the contract was never loaded.
func UnexercisedOperations() []string {
	if contract == nil {
		return nil
	}
	exercised.Lock()
	defer exercised.Unlock()
	var missing []string
	for _, item := range contract.Doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !exercised.ops[op.OperationID] {
				missing = append(missing, op.OperationID)
			}
		}
	}
	sort.Strings(missing)
	return missing
}
