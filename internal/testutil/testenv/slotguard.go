package testenv

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// GuardSlots makes rdb refuse, as a Redis Cluster would (CROSSSLOT), a Lua script, a MULTI or a
// multi-key DEL/EXISTS/UNLINK whose keys hash to different slots — on a single node too, so every
// Redis-backed test run catches a key that lost its hash tag, not only make test-redis-cluster.
// Plain pipelines may span slots (go-redis splits them per node).
func GuardSlots(rdb redis.UniversalClient) { rdb.AddHook(slotGuard{}) }

type slotGuard struct{}

func (slotGuard) DialHook(next redis.DialHook) redis.DialHook { return next }

func (slotGuard) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if err := sameSlot(keysOf(cmd)); err != nil {
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (slotGuard) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var keys []string
		tx := len(cmds) > 0 && cmds[0].Name() == "multi"
		for _, cmd := range cmds {
			k := keysOf(cmd)
			if err := sameSlot(k); err != nil {
				cmd.SetErr(err)
				return err
			}
			if tx {
				keys = append(keys, k...)
			}
		}
		if err := sameSlot(keys); err != nil {
			for _, cmd := range cmds {
				cmd.SetErr(err)
			}
			return err
		}
		return next(ctx, cmds)
	}
}

// keysOf is the keys of the commands the service sends: a script's KEYS, the arguments of the
// multi-key commands, else the first argument (none for keyless commands).
func keysOf(cmd redis.Cmder) []string {
	args := cmd.Args()
	str := func(from, to int) []string {
		var out []string
		for _, a := range args[from:min(to, len(args))] {
			out = append(out, fmt.Sprint(a))
		}
		return out
	}
	switch strings.ToLower(cmd.Name()) {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		var n int
		if len(args) > 2 {
			_, _ = fmt.Sscan(fmt.Sprint(args[2]), &n)
		}
		return str(3, 3+n)
	case "del", "unlink", "exists", "touch", "mget":
		return str(1, len(args))
	case "multi", "exec", "publish", "ping", "time", "info", "scan", "cluster", "hello", "client", "select", "auth", "script":
		return nil
	}
	return str(1, 2)
}

func sameSlot(keys []string) error {
	for _, k := range keys[min(1, len(keys)):] {
		if slot(k) != slot(keys[0]) {
			return fmt.Errorf("CROSSSLOT (testenv slot guard): %q and %q hash to different Redis Cluster slots; give them one hash tag", keys[0], k)
		}
	}
	return nil
}

// slot is the Redis Cluster slot of key: CRC16 (XMODEM) of its hash tag (the part between the
// first '{' and the next '}', when not empty) or of the whole key, modulo 16384.
func slot(key string) uint16 {
	if open := strings.IndexByte(key, '{'); open >= 0 {
		if end := strings.IndexByte(key[open+1:], '}'); end > 0 {
			key = key[open+1 : open+1+end]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}
