#!/usr/bin/env bash
# Analytics benchmarks at scale (issue 14): builds a dedicated database with 10 million usage
# events over 12 months and 10,000 users, rolls it up, runs the Go benchmarks of internal/analytics
# against it, prints EXPLAIN (ANALYZE) of the main queries, and drops the database.
#   scripts/bench-analytics.sh            build, bench, drop
#   KEEP=1 scripts/bench-analytics.sh     keep the database for another run (reused when present)
# Uses DATABASE_URL's server (default postgres://postgres@127.0.0.1:5432/postgres). ~7 GB of disk.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3 # the project's Go (as in the Makefile); the machine's own may be older
base=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
name=ccb_bench_analytics
url="${base%/*}/$name"
n=${EVENTS:-10000000}
psql_base() { psql -X -q -v ON_ERROR_STOP=1 "$base" "$@"; }
psql_bench() { psql -X -q -v ON_ERROR_STOP=1 "$url" "$@"; }

if [ -z "$(psql_base -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
	psql_base -c "CREATE DATABASE $name"
	for f in db/migrations/*.up.sql; do psql_bench -f "$f" >/dev/null; done
	echo "generating $n events ($(date -u +%T))"
	psql_bench -v n="$n" -f scripts/bench-analytics-data.sql
	echo "generated ($(date -u +%T)); rolling up"
fi
df -h "$(pwd)" | tail -1
CCB_BENCH_ANALYTICS_URL="$url" go test -run '^$' -bench 'BenchmarkAnalytics' -benchtime "${BENCHTIME:-30x}" ./internal/analytics/
[ -n "${KEEP:-}" ] || psql_base -c "DROP DATABASE $name WITH (FORCE)"
