#!/usr/bin/env bash
# Runs the list benchmarks (internal/httpapi/list_bench_test.go) against the dev PostgreSQL and
# Redis: GET /v1/projects and GET /v1/sessions/{id}/messages, first page and 100k deep, through
# the real in-process router. Prints ns/op, p50-µs, p99-µs and req/s per case.
#
#   scripts/bench.sh                 1M messages, 200k projects (seeding takes a minute or more)
#   scripts/bench.sh -short          110k rows each: enough for the 100k-deep page
#   BENCHTIME=5s COUNT=3 scripts/bench.sh
#
# Extra arguments go to `go test`, e.g. -short. -v shows the seeding times but also makes the test
# server log every request (testutil's debug logger), which slows the timed loop: not for numbers.
# CCB_BENCH_ROWS=N sets the row count of both lists.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3 # the project's Go (as in the Makefile); the machine's own may be older

BENCHTIME=${BENCHTIME:-3s}
COUNT=${COUNT:-1}

if [ -x scripts/services.sh ]; then
  eval "$(scripts/services.sh)"
fi

echo "==> go test -bench 'ListProjects|ListMessages' -benchtime=$BENCHTIME -count=$COUNT $* ./internal/httpapi/"
# -run '^$': no tests, only the benchmarks. Seeding 1M rows can outlast the default 10 min timeout.
go test -run '^$' -bench 'ListProjects|ListMessages' -benchtime="$BENCHTIME" -count="$COUNT" \
  -timeout 60m "$@" ./internal/httpapi/
