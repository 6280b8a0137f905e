package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/config"
	"github.com/ccbackend/ccbackend/internal/sharedconn"
)

// OpenRedis connects to the Redis deployment topo describes — one node at redisURL, a Redis
// Cluster, or a master found through Sentinel — and checks that it is what it was said to be: a
// single-node client pointed at a cluster node, a sentinel or a replica would answer MOVED or
// READONLY to most commands and degrade quietly, so startup refuses it instead; a cluster must
// report cluster_state:ok and every master must answer.
func OpenRedis(ctx context.Context, redisURL string, topo config.Redis) (redis.UniversalClient, error) {
	client, err := NewRedisClient(redisURL, topo)
	if err != nil {
		return nil, err
	}
	check := checkSingle
	switch topo.Mode {
	case config.RedisCluster:
		check = func(ctx context.Context, rdb redis.UniversalClient) error {
			return checkCluster(ctx, rdb.(*redis.ClusterClient))
		}
	case config.RedisSentinel:
		check = checkSentinel
	}
	if err := check(ctx, client); err != nil {
		_ = client.Close()
		return nil, err
	}
	return client, nil
}

// NewRedisClient builds the client of topo without contacting Redis. Credentials, TLS and the
// database come from redisURL in every mode; in cluster and sentinel mode its host is not used.
func NewRedisClient(redisURL string, topo config.Redis) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, errors.New("store: REDIS_URL cannot be parsed")
	}
	switch topo.Mode {
	case "", config.RedisSingle:
		opts.AutoPipelineOptions = sharedconn.Options()
		return redis.NewClient(opts), nil
	case config.RedisCluster:
		return redis.NewClusterClient(universal(opts, topo).Cluster()), nil
	case config.RedisSentinel:
		return redis.NewFailoverClient(universal(opts, topo).Failover()), nil
	}
	return nil, fmt.Errorf("store: unknown redis mode %q", topo.Mode)
}

// universal carries what REDIS_URL set (credentials, TLS, timeouts, pool) over to the nodes of
// topo.
func universal(o *redis.Options, topo config.Redis) *redis.UniversalOptions {
	tlsConfig := o.TLSConfig
	if tlsConfig != nil {
		// ParseURL pinned the URL's host as the server name; each node is verified by its own.
		tlsConfig = tlsConfig.Clone()
		tlsConfig.ServerName = ""
	}
	return &redis.UniversalOptions{
		Addrs: topo.Addrs, MasterName: topo.Master, SentinelPassword: topo.SentinelPassword,
		ClientName: o.ClientName, DB: o.DB, Protocol: o.Protocol, Username: o.Username, Password: o.Password,
		MaxRetries: o.MaxRetries, MinRetryBackoff: o.MinRetryBackoff, MaxRetryBackoff: o.MaxRetryBackoff,
		DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
		PoolFIFO: o.PoolFIFO, PoolSize: o.PoolSize, PoolTimeout: o.PoolTimeout, MinIdleConns: o.MinIdleConns,
		MaxIdleConns: o.MaxIdleConns, MaxActiveConns: o.MaxActiveConns, ConnMaxIdleTime: o.ConnMaxIdleTime,
		ConnMaxLifetime: o.ConnMaxLifetime, TLSConfig: tlsConfig,
	}
}

// checkSingle pings the one node and refuses one that is no standalone master.
func checkSingle(ctx context.Context, rdb redis.UniversalClient) error {
	c := rdb.(*redis.Client)
	addr := c.Options().Addr
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: redis ping %s: %w", addr, err)
	}
	text, err := c.Info(ctx, "server", "replication").Result()
	var refused redis.Error
	switch {
	case errors.As(err, &refused):
		return nil // INFO denied (an ACL without +info): nothing to check against, PING answered
	case err != nil:
		return fmt.Errorf("store: redis info %s: %w", addr, err)
	}
	info := InfoFields(text)
	switch {
	case info["redis_mode"] == "cluster":
		return fmt.Errorf("store: REDIS_URL (%s) is a node of a Redis Cluster: a single-node client would be answered MOVED for most keys; set CCB_REDIS_MODE=cluster and CCB_REDIS_ADDRS to its nodes", addr)
	case info["redis_mode"] == "sentinel":
		return fmt.Errorf("store: REDIS_URL (%s) is a Redis Sentinel, not a data node; set CCB_REDIS_MODE=sentinel, CCB_REDIS_ADDRS to the sentinels and CCB_REDIS_MASTER", addr)
	case info["role"] == "slave":
		return fmt.Errorf("store: REDIS_URL (%s) is a read-only replica; point it at the master (or use CCB_REDIS_MODE=sentinel)", addr)
	}
	return nil
}

// checkCluster asks for the cluster's state, then pings every master: a cluster missing a master
// (or with slots nobody serves) would fail the requests whose keys hash there.
func checkCluster(ctx context.Context, c *redis.ClusterClient) error {
	seeds := strings.Join(c.Options().Addrs, ",")
	text, err := c.ClusterInfo(ctx).Result()
	if err != nil {
		return fmt.Errorf("store: redis cluster at CCB_REDIS_ADDRS (%s): %w", seeds, err)
	}
	if state := InfoFields(text)["cluster_state"]; state != "ok" {
		return fmt.Errorf("store: redis cluster at CCB_REDIS_ADDRS (%s) reports cluster_state:%s", seeds, state)
	}
	err = c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		if err := node.Ping(ctx).Err(); err != nil {
			return fmt.Errorf("master %s: %w", node.Options().Addr, err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: redis cluster at CCB_REDIS_ADDRS (%s): %w", seeds, err)
	}
	return nil
}

// checkSentinel pings the master the sentinels name (asking them is part of connecting).
func checkSentinel(ctx context.Context, rdb redis.UniversalClient) error {
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: redis master through the sentinels at CCB_REDIS_ADDRS: %w", err)
	}
	return nil
}

// infoFields parses INFO's "key:value" lines (CLUSTER INFO has the same shape).
func InfoFields(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && !strings.HasPrefix(k, "#") {
			out[k] = v
		}
	}
	return out
}

// RedisPoolSize is the configured pool size of a single-node or cluster client (per node for a
// cluster); 0 for other kinds, which the payload shows as unknown.
func RedisPoolSize(rdb redis.UniversalClient) int {
	switch c := rdb.(type) {
	case *redis.Client:
		return c.Options().PoolSize
	case *redis.ClusterClient:
		return c.Options().PoolSize
	}
	return 0
}
