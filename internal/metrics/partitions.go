package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ccbackend/ccbackend/internal/analytics"
)

// Partitions reports ccbackend_usage_partitions_ahead at scrape time: whole months beyond the
// current one that usage_events can store (analytics.MonthsAhead; -1 when even this month has
// no partition, so inserts fail). When the catalog cannot be read the sample is left out, and
// the alert on absent data fires instead.
type Partitions struct {
	q       analytics.Querier
	now     func() time.Time
	timeout time.Duration
	ahead   *prometheus.Desc
}

// NewPartitions returns the collector; register it with the registry.
func NewPartitions(q analytics.Querier, now func() time.Time, timeout time.Duration) *Partitions {
	return &Partitions{q: q, now: now, timeout: timeout, ahead: prometheus.NewDesc("ccbackend_usage_partitions_ahead",
		"Whole months beyond the current one that usage_events has partitions for (-1: not even this month).", nil, nil)}
}

// Describe implements prometheus.Collector.
func (p *Partitions) Describe(ch chan<- *prometheus.Desc) { ch <- p.ahead }

// Collect implements prometheus.Collector.
func (p *Partitions) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	parts, err := analytics.Partitions(ctx, p.q)
	if err != nil {
		return // an invalid metric would fail the whole scrape; ccbackend_dependency_up tells why
	}
	ch <- prometheus.MustNewConstMetric(p.ahead, prometheus.GaugeValue, float64(analytics.MonthsAhead(parts, p.now())))
}
