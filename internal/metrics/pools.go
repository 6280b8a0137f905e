package metrics

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ccbackend/ccbackend/internal/store"
)

// Pools reads the PostgreSQL (pgxpool) and Redis (go-redis) pool statistics at scrape time, and
// whether each dependency answers a ping (ccbackend_dependency_up), bounded by timeout.
type Pools struct {
	pg      *pgxpool.Pool
	rdb     redis.UniversalClient
	timeout time.Duration

	pgConns, pgMax, pgAcquires, pgEmpty, pgWait, pgCanceled *prometheus.Desc
	rConns, rMax, rHits, rMisses, rTimeouts                 *prometheus.Desc
	up                                                      *prometheus.Desc
}

// NewPools returns the collector; register it with the registry.
func NewPools(pg *pgxpool.Pool, rdb redis.UniversalClient, timeout time.Duration) *Pools {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	return &Pools{pg: pg, rdb: rdb, timeout: timeout,
		pgConns:    d("ccbackend_db_pool_connections", "PostgreSQL pool connections by state (acquired, idle, constructing).", "state"),
		pgMax:      d("ccbackend_db_pool_max_connections", "PostgreSQL pool size limit."),
		pgAcquires: d("ccbackend_db_pool_acquires_total", "Connections acquired from the PostgreSQL pool."),
		pgEmpty:    d("ccbackend_db_pool_empty_acquires_total", "Acquires that had to wait because the PostgreSQL pool was empty."),
		pgWait:     d("ccbackend_db_pool_acquire_wait_seconds_total", "Time spent waiting for a PostgreSQL connection."),
		pgCanceled: d("ccbackend_db_pool_canceled_acquires_total", "Acquires cancelled (the request ended) while waiting for a PostgreSQL connection."),
		rConns:     d("ccbackend_redis_pool_connections", "Redis pool connections by state (total, idle).", "state"),
		rMax:       d("ccbackend_redis_pool_max_connections", "Redis pool size limit."),
		rHits:      d("ccbackend_redis_pool_hits_total", "Redis commands that found a free pooled connection."),
		rMisses:    d("ccbackend_redis_pool_misses_total", "Redis commands that had to open a connection."),
		rTimeouts:  d("ccbackend_redis_pool_timeouts_total", "Redis commands that timed out waiting for a pooled connection."),
		up:         d("ccbackend_dependency_up", "1 when the dependency answered a ping at scrape time, else 0.", "dependency"),
	}
}

// Describe implements prometheus.Collector.
func (p *Pools) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{p.pgConns, p.pgMax, p.pgAcquires, p.pgEmpty, p.pgWait, p.pgCanceled,
		p.rConns, p.rMax, p.rHits, p.rMisses, p.rTimeouts, p.up} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (p *Pools) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	c := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v)
	}

	s := p.pg.Stat()
	g(p.pgConns, float64(s.AcquiredConns()), "acquired")
	g(p.pgConns, float64(s.IdleConns()), "idle")
	g(p.pgConns, float64(s.ConstructingConns()), "constructing")
	g(p.pgMax, float64(s.MaxConns()))
	c(p.pgAcquires, float64(s.AcquireCount()))
	c(p.pgEmpty, float64(s.EmptyAcquireCount()))
	c(p.pgWait, s.AcquireDuration().Seconds())
	c(p.pgCanceled, float64(s.CanceledAcquireCount()))

	r := p.rdb.PoolStats()
	g(p.rConns, float64(r.TotalConns), "total")
	g(p.rConns, float64(r.IdleConns), "idle")
	g(p.rMax, float64(store.RedisPoolSize(p.rdb)))
	c(p.rHits, float64(r.Hits))
	c(p.rMisses, float64(r.Misses))
	c(p.rTimeouts, float64(r.Timeouts))

	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	g(p.up, boolFloat(p.pg.Ping(ctx) == nil), "postgres")
	g(p.up, boolFloat(p.rdb.Ping(ctx).Err() == nil), "redis")
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
