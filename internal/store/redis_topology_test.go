package store_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/store"
	"github.com/ccbackend/ccbackend/internal/testutil/testenv"
)

// A client of the wrong kind is refused at startup, saying what to set — instead of the MOVED
// errors and quiet degradation of a single-node client on one node of a cluster.
func TestOpenRedisRefusesTheWrongTopology(t *testing.T) {
	t.Parallel()
	cluster, sentinel := testenv.StartRedisCluster(t), testenv.StartRedisSentinel(t)
	ctx := t.Context()
	single := config.Redis{Mode: config.RedisSingle}
	for _, tc := range []struct {
		name, url string
		topo      config.Redis
		says      string
	}{
		{"single-node client on a cluster node", "redis://" + cluster.Addrs()[0] + "/0", single, "CCB_REDIS_MODE=cluster"},
		{"single-node client on a sentinel", "redis://" + sentinel.Addrs()[0] + "/0", single, "CCB_REDIS_MODE=sentinel"},
		{"single-node client on a replica", "redis://" + sentinel.Env["CCB_TEST_REDIS_REPLICA"] + "/0", single, "read-only replica"},
		{"cluster client on a standalone server", "redis://x/0", config.Redis{Mode: config.RedisCluster,
			Addrs: []string{sentinel.MasterAddr()}}, "cluster support disabled"},
		{"sentinel client for an unknown master", "redis://x/0", config.Redis{Mode: config.RedisSentinel, Addrs: sentinel.Addrs(), Master: "nobody"}, "sentinels at CCB_REDIS_ADDRS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rdb, err := store.OpenRedis(ctx, tc.url, tc.topo)
			if err == nil {
				_ = rdb.Close()
				t.Fatal("OpenRedis succeeded")
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("OpenRedis = %v, want it to say %q", err, tc.says)
			}
		})
	}

	rdb, err := store.OpenRedis(ctx, "redis://ignored-host/0", config.Redis{Mode: config.RedisCluster, Addrs: cluster.Addrs()[:1]})
	if err != nil {
		t.Fatalf("OpenRedis(cluster from one seed) = %v", err)
	}
	defer rdb.Close()
	var masters atomic.Int32 // ForEachMaster calls on a goroutine per master
	_ = rdb.(*redis.ClusterClient).ForEachMaster(ctx, func(context.Context, *redis.Client) error { masters.Add(1); return nil })
	if masters.Load() != 3 {
		t.Errorf("the client found %d masters from one seed, want 3", masters.Load())
	}
	if n := store.RedisPoolSize(rdb); n <= 0 {
		t.Errorf("cluster pool size %d", n)
	}
}

// The cluster refuses what a single node accepts: keys of different slots in one MULTI or one
// script (CROSSSLOT). The service's multi-key operations put their keys under one hash tag; the
// same operation with the tag left out is refused here, so the Redis-backed tests that run on
// the cluster (make test-redis-cluster) would catch a key that lost its tag.
func TestClusterRefusesKeysAcrossSlots(t *testing.T) {
	t.Parallel()
	cluster := testenv.StartRedisCluster(t)
	ctx := t.Context()
	rdb, err := store.OpenRedis(ctx, "redis://x/0", config.Redis{Mode: config.RedisCluster, Addrs: cluster.Addrs()})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	twoKeys := redis.NewScript(`redis.call("SET", KEYS[1], "1") redis.call("SET", KEYS[2], "2") return 1`)
	tx := func(a, b string) error {
		_, err := rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, a, "user", "u")
			p.PExpire(ctx, b, time.Second)
			return nil
		})
		return err
	}
	for _, keys := range [][2]string{{"g:1:meta", "g:1:chunks"}, {"u:1:events", "u:1:conns"}} {
		if err := tx(keys[0], keys[1]); !errors.Is(err, redis.ErrCrossSlot) {
			t.Errorf("MULTI over %v = %v, want CROSSSLOT", keys, err)
		}
		if err := twoKeys.Run(ctx, rdb, keys[:]).Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
			t.Errorf("script over %v = %v, want CROSSSLOT", keys, err)
		}
	}
	for _, keys := range [][2]string{{"ccb:{g:1}:meta", "ccb:{g:1}:chunks"}, {"ccb:{u:1}:events", "ccb:{u:1}:conns"}} {
		if err := tx(keys[0], keys[1]); err != nil {
			t.Errorf("MULTI over %v = %v", keys, err)
		}
		if err := twoKeys.Run(ctx, rdb, keys[:]).Err(); err != nil {
			t.Errorf("script over %v = %v", keys, err)
		}
	}
}

// Behind Sentinel the client follows a failover: the master shut down, the sentinel promotes the
// replica and writes go on there, with what was acknowledged (and replicated) before.
func TestSentinelFailoverIsFollowed(t *testing.T) {
	t.Parallel()
	topo := testenv.StartRedisSentinel(t)
	ctx := t.Context()
	rdb, err := store.OpenRedis(ctx, "redis://x/0", config.Redis{Mode: config.RedisSentinel, Addrs: topo.Addrs(), Master: "ccb"})
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	if err := rdb.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica = %d, %v", n, err)
	}
	old := redis.NewClient(&redis.Options{Addr: topo.MasterAddr()})
	defer old.Close()
	_ = old.ShutdownNoSave(ctx).Err() // the connection drops as the server goes

	deadline := time.Now().Add(60 * time.Second)
	for rdb.Set(ctx, "after", "2", 0).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("no write succeeded within 60s of the master's shutdown")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v, err := rdb.Get(ctx, "before").Result(); err != nil || v != "1" {
		t.Errorf("the acknowledged write after the failover = %q, %v", v, err)
	}
	info, err := rdb.Info(ctx, "server").Result()
	if _, port, _ := strings.Cut(topo.Env["CCB_TEST_REDIS_REPLICA"], ":"); err != nil || store.InfoFields(info)["tcp_port"] != port {
		t.Errorf("the client writes to port %s (%v), want the promoted replica's %s", store.InfoFields(info)["tcp_port"], err, port)
	}
}
