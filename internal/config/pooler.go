package config

// Pooler says what sits between the service and PostgreSQL (internal/store.Open).
type Pooler struct {
	// Kind (CCB_DATABASE_POOLER): "none" (default: DATABASE_URL is PostgreSQL itself) or
	// "pgbouncer" (transaction pooling: pgx runs queries in exec mode, with no named prepared
	// statements, since a statement prepared on one server connection is unknown on the next).
	Kind string
	// DirectURL (DATABASE_DIRECT_URL) reaches the primary without the pooler: migrations and
	// the usage maintenance hold session advisory locks, which transaction pooling would lose or
	// leak. Empty: DATABASE_URL (see Direct).
	DirectURL string `secret:"url"`
}

// Direct is the URL for session-level work: DirectURL, or databaseURL when there is no pooler
// to bypass.
func (p Pooler) Direct(databaseURL string) string {
	if p.DirectURL != "" {
		return p.DirectURL
	}
	return databaseURL
}

// PoolerPgBouncer is the Kind of a PgBouncer in transaction (or statement) pooling mode.
const PoolerPgBouncer = "pgbouncer"

// pooler reads the connection pooler settings.
func (r *reader) pooler() Pooler {
	p := Pooler{Kind: r.oneOf("CCB_DATABASE_POOLER", "none", "none", PoolerPgBouncer)}
	if r.str("DATABASE_DIRECT_URL", "") != "" {
		p.DirectURL = r.url("DATABASE_DIRECT_URL", "", "postgres", "postgresql")
	}
	return p
}
