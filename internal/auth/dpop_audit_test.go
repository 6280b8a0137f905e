package auth

import (
	"strconv"
	"testing"
	"time"
)

// One entry per (reason, ip) a minute, at most dpopAuditPerWindow in all; the next admitted
// entry reports how many were left out.
func TestDPoPRejectionsThrottle(t *testing.T) {
	t.Parallel()
	var th dpopRejections
	now := time.Unix(1_800_000_000, 0)
	if ok, n := th.admit(reasonReplay, "1.2.3.4", now); !ok || n != 0 {
		t.Fatalf("first = %v, %d", ok, n)
	}
	for i := 0; i < 5; i++ {
		if ok, _ := th.admit(reasonReplay, "1.2.3.4", now.Add(time.Second)); ok {
			t.Fatal("same reason and ip admitted twice in a window")
		}
	}
	if ok, n := th.admit(reasonSignature, "1.2.3.4", now); !ok || n != 5 {
		t.Fatalf("other reason = %v, suppressed %d; want true, 5", ok, n)
	}
	for i := 0; i < 2*dpopAuditPerWindow; i++ {
		th.admit(reasonIAT, "10.0.0."+strconv.Itoa(i), now)
	}
	if len(th.seen) != dpopAuditPerWindow {
		t.Fatalf("window holds %d entries, want the cap %d", len(th.seen), dpopAuditPerWindow)
	}
	if ok, n := th.admit(reasonReplay, "1.2.3.4", now.Add(dpopAuditWindow)); !ok || n != dpopAuditPerWindow+2 {
		t.Fatalf("next window = %v, suppressed %d; want true, %d", ok, n, dpopAuditPerWindow+2)
	}
}
