package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestRedisTopology(t *testing.T) {
	for name, tc := range map[string]struct {
		env  map[string]string
		want Redis
	}{
		"default is one node": {nil, Redis{Mode: RedisSingle}},
		"cluster": {map[string]string{"CCB_REDIS_MODE": "cluster", "CCB_REDIS_ADDRS": "10.0.0.1:7000, 10.0.0.2:7000"},
			Redis{Mode: RedisCluster, Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000"}}},
		"sentinel with its own password": {map[string]string{"CCB_REDIS_MODE": "Sentinel", "CCB_REDIS_ADDRS": "s1:26379,s2:26379",
			"CCB_REDIS_MASTER": "mymaster", "CCB_REDIS_SENTINEL_PASSWORD": "hunter2", "REDIS_URL": "redis://:pw@ignored:6379/3"},
			Redis{Mode: RedisSentinel, Addrs: []string{"s1:26379", "s2:26379"}, Master: "mymaster", SentinelPassword: "hunter2"}},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(c.Redis, tc.want) {
				t.Errorf("Redis = %+v, want %+v", c.Redis, tc.want)
			}
			if red := c.Redacted()["redis"].(map[string]any); tc.want.SentinelPassword != "" && red["sentinel_password"] != Redacted {
				t.Errorf("sentinel password shown: %v", red)
			}
		})
	}
}

// Each inconsistent topology is refused at startup with the variable to fix, instead of a
// client that half works.
func TestRedisTopologyRefusals(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		names string // the variable the error must name
		says  string
	}{
		{map[string]string{"CCB_REDIS_MODE": "ring"}, "CCB_REDIS_MODE", "not one of"},
		{map[string]string{"CCB_REDIS_MODE": "cluster"}, "CCB_REDIS_ADDRS", "seed nodes"},
		{map[string]string{"CCB_REDIS_MODE": "cluster", "CCB_REDIS_ADDRS": "10.0.0.1"}, "CCB_REDIS_ADDRS", "host:port"},
		{map[string]string{"CCB_REDIS_MODE": "cluster", "CCB_REDIS_ADDRS": "a:7000", "REDIS_URL": "redis://:hunter2@x:6379/2"}, "REDIS_URL", "database 0 only"},
		{map[string]string{"CCB_REDIS_MODE": "cluster", "CCB_REDIS_ADDRS": "a:7000", "CCB_REDIS_MASTER": "m"}, "CCB_REDIS_MASTER", "sentinel mode"},
		{map[string]string{"CCB_REDIS_MODE": "cluster", "CCB_REDIS_ADDRS": "a:7000", "CCB_REDIS_PREFIX": "{ccb}:"}, "CCB_REDIS_PREFIX", "hash tag"},
		{map[string]string{"CCB_REDIS_MODE": "sentinel", "CCB_REDIS_MASTER": "m"}, "CCB_REDIS_ADDRS", "sentinels"},
		{map[string]string{"CCB_REDIS_MODE": "sentinel", "CCB_REDIS_ADDRS": "s:26379"}, "CCB_REDIS_MASTER", "master name"},
		{map[string]string{"CCB_REDIS_ADDRS": "a:7000"}, "CCB_REDIS_ADDRS", "mode is single"},
		{map[string]string{"CCB_REDIS_MASTER": "m"}, "CCB_REDIS_MASTER", "mode is single"},
	} {
		t.Run(tc.names+"/"+tc.says, func(t *testing.T) {
			_, err := Load(env(tc.env))
			if err == nil || !strings.Contains(err.Error(), tc.names) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("Load(%v) = %v, want an error naming %s (%q)", tc.env, err, tc.names, tc.says)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error leaks a password: %v", err)
			}
		})
	}
}
