package config

import "time"

// Replica configures the optional PostgreSQL streaming replica (internal/store's ReadRouter):
// lists, search and analytics that tolerate a little lag read there, except for a user who wrote
// within the last MaxLag (plus one check interval), whose reads stay on the primary.
type Replica struct {
	// URL (DATABASE_REPLICA_URL) of a hot standby of DATABASE_URL's database; empty: every read
	// goes to the primary.
	URL string `secret:"url"`
	// MaxLag (CCB_REPLICA_MAX_LAG): a replica further behind than this is not read from; it is
	// also how long a user's reads stay on the primary after one of their writes.
	MaxLag time.Duration
	// CheckEvery (CCB_REPLICA_CHECK_INTERVAL): how often the replica's lag is measured (in the
	// background, never per request).
	CheckEvery time.Duration
}

// replica reads the read replica settings.
func (r *reader) replica() Replica {
	c := Replica{
		MaxLag:     r.duration("CCB_REPLICA_MAX_LAG", 5*time.Second),
		CheckEvery: r.duration("CCB_REPLICA_CHECK_INTERVAL", time.Second),
	}
	if r.str("DATABASE_REPLICA_URL", "") != "" {
		c.URL = r.url("DATABASE_REPLICA_URL", "", "postgres", "postgresql")
	}
	if c.CheckEvery > c.MaxLag {
		r.fail("CCB_REPLICA_CHECK_INTERVAL", "%s is longer than CCB_REPLICA_MAX_LAG (%s): lag would be seen too late", c.CheckEvery, c.MaxLag)
	}
	return c
}
