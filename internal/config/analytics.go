package config

import (
	"strconv"
	"strings"
	"time"
)

// Analytics configures the usage_events maintenance job (internal/analytics).
type Analytics struct {
	// UsageRetentionMonths (CCB_USAGE_RETENTION, e.g. 13 or 13mo): usage events older than this
	// many months are dropped, a whole monthly partition at a time (default 13).
	UsageRetentionMonths int
	// MaintenanceEvery (CCB_USAGE_MAINTENANCE_EVERY): how often partitions are created ahead,
	// expired ones dropped and the daily rollups refreshed (default 1h).
	MaintenanceEvery time.Duration
}

// analytics reads the Analytics settings.
func (r *reader) analytics() Analytics {
	return Analytics{
		UsageRetentionMonths: r.months("CCB_USAGE_RETENTION", 13),
		MaintenanceEvery:     r.duration("CCB_USAGE_MAINTENANCE_EVERY", time.Hour),
	}
}

// months reads a whole number of months from 1 to 1200, written 13 or 13mo.
func (r *reader) months(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSuffix(v, "mo"))
	if err != nil || n < 1 || n > 1200 {
		r.fail(name, "%q is not a number of months from 1 to 1200 (e.g. 13 or 13mo)", v)
		return def
	}
	return n
}
