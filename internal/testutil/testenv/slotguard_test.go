package testenv

import (
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestSlotIsRedisClusterKeySlot(t *testing.T) {
	// Values of CLUSTER KEYSLOT (Redis documentation and a real cluster).
	for key, want := range map[string]uint16{"foo": 12182, "bar": 5061, "{foo}:anything": 12182, "{}foo": slot("{}foo"), "a{}{foo}": slot("a{}{foo}")} {
		if got := slot(key); got != want {
			t.Errorf("slot(%q) = %d, want %d", key, got, want)
		}
	}
	if slot("{}foo") == slot("foo") {
		t.Error("an empty tag is no tag: the whole key is hashed")
	}
}

// The guard refuses on a single node what a cluster would refuse, and lets tagged keys through.
func TestGuardSlotsRefusesWhatAClusterWould(t *testing.T) {
	rdb, prefix := NewRedis(t), NewRedisPrefix(t)
	ctx := t.Context()
	tx := func(a, b string) error {
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, prefix+a, "1", 0)
			p.Set(ctx, prefix+b, "1", 0)
			return nil
		})
		return err
	}
	script := redis.NewScript(`return #KEYS`)
	for _, bad := range []error{tx("a", "b"), script.Run(ctx, rdb, []string{prefix + "a", prefix + "b"}).Err(), rdb.Del(ctx, prefix+"a", prefix+"b").Err()} {
		if bad == nil || !strings.Contains(bad.Error(), "CROSSSLOT") {
			t.Errorf("cross-slot operation = %v, want CROSSSLOT", bad)
		}
	}
	for _, good := range []error{tx("{u:1}:a", "{u:1}:b"), script.Run(ctx, rdb, []string{prefix + "{u:1}:a", prefix + "{u:1}:b"}).Err(),
		rdb.Del(ctx, prefix+"{u:1}:a", prefix+"{u:1}:b").Err()} {
		if good != nil {
			t.Errorf("same-slot operation = %v", good)
		}
	}
	if _, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, prefix+"a"); p.Get(ctx, prefix+"b"); return nil }); err != nil && err != redis.Nil {
		t.Errorf("a plain pipeline across slots = %v (go-redis splits it per node)", err)
	}
}
