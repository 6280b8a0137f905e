package store

import (
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// PgBouncerExecMode is the pgx query mode used behind PgBouncer in transaction pooling mode.
//
// pgx's default (cache_statement) prepares named statements per connection; PgBouncer 1.18 hands
// each transaction a different server connection, where the name is unknown ("prepared statement
// does not exist") or taken ("already exists"), and 1.18 has no max_prepared_statements to track
// them. exec sends every query as one Parse/Bind/Execute of the unnamed statement, which lives
// within one round trip and so within one server connection, with parameter types taken from
// the Go values. cache_describe would save a describe per query too, but caches result types
// per connection: after a migration changes a column's type, long-lived connections decode with
// the old description until they are replaced. simple_protocol interpolates values client-side
// (text only) and is the fallback for poolers in statement mode; exec keeps binary parameters.
const PgBouncerExecMode = "exec"

// ForPooler returns databaseURL set up for the pooler in front of PostgreSQL: for "pgbouncer",
// the pgx query mode PgBouncerExecMode unless the URL chooses one (default_query_exec_mode).
func ForPooler(databaseURL, pooler string) string {
	if pooler != "pgbouncer" || strings.Contains(databaseURL, "default_query_exec_mode") {
		return databaseURL
	}
	u, err := url.Parse(databaseURL)
	if err != nil {
		return databaseURL // Open reports it
	}
	q := u.Query()
	q.Set("default_query_exec_mode", PgBouncerExecMode)
	u.RawQuery = q.Encode()
	return u.String()
}

// applyPoolDefaults sizes the pool: pgx's default (4 on small machines) queues requests behind
// each other under load; the URL's pool_max_conns still wins.
func applyPoolDefaults(cfg *pgxpool.Config, databaseURL string) {
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = 20
	}
}
