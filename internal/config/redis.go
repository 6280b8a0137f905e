package config

import (
	"net"
	"net/url"
	"strings"
)

// Redis modes (CCB_REDIS_MODE).
const (
	RedisSingle   = "single"   // one server at REDIS_URL
	RedisCluster  = "cluster"  // a Redis Cluster reached through the seed nodes CCB_REDIS_ADDRS
	RedisSentinel = "sentinel" // the master CCB_REDIS_MASTER that the sentinels CCB_REDIS_ADDRS name
)

// Redis is the topology of the Redis deployment. REDIS_URL (Config.RedisURL) stays the one place
// for credentials, TLS (rediss://) and the database number in every mode, so a secret is never
// split over several variables; in cluster and sentinel mode its host is not dialled — the
// nodes come from Addrs.
type Redis struct {
	// Mode (CCB_REDIS_MODE): single (default), cluster or sentinel.
	Mode string
	// Addrs (CCB_REDIS_ADDRS): comma-separated host:port list — seed nodes of the cluster (any
	// subset; the client discovers the rest) or the sentinels. Only read in cluster and sentinel mode.
	Addrs []string
	// Master (CCB_REDIS_MASTER): the master name the sentinels monitor (sentinel mode).
	Master string
	// SentinelPassword (CCB_REDIS_SENTINEL_PASSWORD): the sentinels' own password, when they
	// require one (it is often not the data nodes' password).
	SentinelPassword string `secret:"value"`
}

// redis reads the Redis topology; redisURL is REDIS_URL, already checked for its scheme.
func (r *reader) redis(redisURL, prefix string) Redis {
	c := Redis{
		Mode:             r.oneOf("CCB_REDIS_MODE", RedisSingle, RedisSingle, RedisCluster, RedisSentinel),
		Addrs:            r.list("CCB_REDIS_ADDRS"),
		Master:           r.str("CCB_REDIS_MASTER", ""),
		SentinelPassword: r.str("CCB_REDIS_SENTINEL_PASSWORD", ""),
	}
	for _, a := range c.Addrs {
		if host, port, err := net.SplitHostPort(a); err != nil || host == "" || port == "" {
			r.fail("CCB_REDIS_ADDRS", "%q is not a host:port address", a)
		}
	}
	switch c.Mode {
	case RedisSingle:
		// Set without the mode they belong to, they would be ignored silently: refuse instead.
		for _, v := range []struct {
			name string
			set  bool
		}{{"CCB_REDIS_ADDRS", len(c.Addrs) > 0}, {"CCB_REDIS_MASTER", c.Master != ""}, {"CCB_REDIS_SENTINEL_PASSWORD", c.SentinelPassword != ""}} {
			if v.set {
				r.fail(v.name, "is only read with CCB_REDIS_MODE=cluster or sentinel (the mode is single)")
			}
		}
	case RedisCluster:
		if len(c.Addrs) == 0 {
			r.fail("CCB_REDIS_ADDRS", "cluster mode needs the seed nodes (host:port, comma-separated)")
		}
		if c.Master != "" {
			r.fail("CCB_REDIS_MASTER", "is only read in sentinel mode")
		}
		if db := redisDB(redisURL); db != "" && db != "0" {
			r.fail("REDIS_URL", "database %s: a Redis Cluster has database 0 only", db)
		}
		// A brace in the prefix would become every key's hash tag: the whole service on one slot.
		if strings.ContainsAny(prefix, "{}") {
			r.fail("CCB_REDIS_PREFIX", "must not contain { or } in cluster mode (it would be every key's hash tag)")
		}
	case RedisSentinel:
		if len(c.Addrs) == 0 {
			r.fail("CCB_REDIS_ADDRS", "sentinel mode needs the sentinels (host:port, comma-separated)")
		}
		if c.Master == "" {
			r.fail("CCB_REDIS_MASTER", "sentinel mode needs the master name the sentinels monitor")
		}
	}
	return c
}

// redisDB is the database number of a redis:// URL ("" when it names none or cannot be parsed,
// which the REDIS_URL check reports).
func redisDB(redisURL string) string {
	u, err := url.Parse(redisURL)
	if err != nil {
		return ""
	}
	return strings.Trim(u.Path, "/")
}
