#!/usr/bin/env bash
# Runs the live feed benchmarks (internal/httpapi/realtime_bench_test.go; issue 13, "Measured")
# against the dev PostgreSQL and Redis:
#   BenchmarkRealtimeIdleConns            CONNS (default 10,000) idle WebSockets on ONE instance,
#       spread over USERS (default 100) users, with the per-user cap set to CONNS/USERS. The
#       clients run in a child process (the test binary re-run as TestRealtimeBenchDialer), the
#       server is the benchmark's own process: RSS is its VmRSS from /proc/self/status (server +
#       test harness, so an upper bound), idle CPU is utime+stime from /proc/self/stat over 10 s,
#       taken 2 s after the last connection opened. Default settings otherwise (heartbeat 20 s,
#       auth re-check every 2 s per connection — the dominant idle cost).
#   BenchmarkRealtimeCrossInstanceLatency RATE (default 1,000) events/s for SECONDS (default 10)
#       published with Bus.Publish on instance A, read by a WebSocket client of instance B (a
#       Twin on the same PostgreSQL/Redis); the send time travels in the event data; p50/p99/max.
#
#   scripts/bench-realtime.sh                 both, 10,000 connections
#   CONNS=2000 scripts/bench-realtime.sh      a smaller run first
#   scripts/bench-realtime.sh -bench IdleConns
#
# Measured 2026-12-02 on the shared 2-core box WHILE a full `make test` ran (load avg ~5-8), so
# the numbers are noisy upper bounds:
#
#   | measurement                              | N=2,000 | N=10,000 | target    |
#   |------------------------------------------|---------|----------|-----------|
#   | server RSS (VmRSS, incl. harness)         | RESULT  | RESULT   | < 1 GiB   |
#   | RSS per connection                       | RESULT  | RESULT   |           |
#   | idle CPU (% of one core, 10 s)           | RESULT  | RESULT   |           |
#   | A→B latency p50 / p99 / max @1,000 ev/s   | RESULT                | p99 < 50 ms |
#
# Needs 2 file descriptors per connection across the two processes (one each); the soft limit is
# raised to the hard limit below. Not with -v: the test server would log every request.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3 # the project's Go (as in the Makefile)

ulimit -n "$(ulimit -Hn)"
svc="$(scripts/services.sh)" && eval "$svc"

export CCB_BENCH_CONNS=${CONNS:-10000} CCB_BENCH_USERS=${USERS:-100}
export CCB_BENCH_RATE=${RATE:-1000} CCB_BENCH_SECONDS=${SECONDS_:-10}
args=("$@")
[[ " ${args[*]} " == *" -bench"* ]] || args=(-bench 'BenchmarkRealtime(IdleConns|CrossInstanceLatency)$' "${args[@]}")
echo "    conns $CCB_BENCH_CONNS over $CCB_BENCH_USERS users; $CCB_BENCH_RATE events/s for ${CCB_BENCH_SECONDS}s; load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
exec go test -run '^$' -benchtime=1x -timeout 20m "${args[@]}" ./internal/httpapi/
