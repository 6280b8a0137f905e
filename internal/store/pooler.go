package store

import (
	"context"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PgBouncerExecMode is the pgx query mode used behind PgBouncer in transaction pooling mode.
//
// pgx's default (cache_statement) prepares named statements per connection; PgBouncer 1.18 hands
// each transaction a different server connection, where the name is unknown ("prepared statement
// does not exist") or taken ("already exists"), and 1.18 has no max_prepared_statements to track
// them. The other modes, checked against pgx v5.12's code and this store's tests through PgBouncer:
//   - exec and simple_protocol guess parameter types from Go types and send text: sqlc's []byte
//     for jsonb columns goes out as bytea ("invalid input syntax for type json", found by
//     TestMapErrorKinds through PgBouncer), so they would need every jsonb mapped to a string type.
//   - describe_exec binds, in a second round trip, the unnamed statement parsed in the first:
//     outside a transaction PgBouncer may have switched server connections in between.
//   - cache_describe (chosen) describes a query once per connection (unnamed statement) and then
//     executes it with Parse+Bind+Execute in one round trip, which PgBouncer keeps on one server
//     connection; parameters are typed by the server's description, so []byte→jsonb works. Its
//     cost: the cached result types are not refreshed when a migration changes a column's type
//     (sqlc expands every *, so column counts do not shift), so such a migration needs the
//     instances restarted (a rolling restart), as the README says.
const PgBouncerExecMode = "cache_describe"

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
// each other under load; the URL's pool_max_conns still wins. Each connection moves uuids as raw
// bytes (uuidCodec).
func applyPoolDefaults(cfg *pgxpool.Config, databaseURL string) {
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error { registerUUID(conn); return nil }
	if !strings.Contains(databaseURL, "pool_max_conns") {
		cfg.MaxConns = 20
	}
}
