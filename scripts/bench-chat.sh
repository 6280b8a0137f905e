#!/usr/bin/env bash
# Runs the chat proxy benchmark (internal/httpapi/chat_bench_test.go) against the dev PostgreSQL
# and Redis: identical streams from an in-process fake Anthropic upstream, read directly and
# through POST /v1/chat/completions, at 1, 10 and 100 concurrent streams. Prints the p50/p99
# overhead of the service on time to first token (ttft), to [DONE] (total) and to the end of the
# response (eof, after the usage is recorded), the part spent before the upstream call
# (upstream), new upstream connections per stream, and at 100 streams the memory per open
# stream (B/open-stream).
#
#   scripts/bench-chat.sh                      1000 pairs per concurrency level, 2 ms between events
#   PAIRS=3000 COUNT=3 scripts/bench-chat.sh
#   CCB_BENCH_CHAT_GAP=20ms scripts/bench-chat.sh -bench 'ChatProxy/streams=100$'
#   scripts/bench-chat.sh -cpuprofile /tmp/chat-cpu.out   then: go tool pprof -top /tmp/chat-cpu.out
#
# Extra arguments go to `go test` (a later -bench overrides the default). The numbers are only as
# quiet as the machine: the load generator, the fake upstream, the service, PostgreSQL and Redis
# share its cores. Not with -v: the test server would then log every request.
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-1000}
COUNT=${COUNT:-1}

svc="$(scripts/services.sh)" && eval "$svc"
# A token budget would reject streams part-way through the run.
unset CCB_RATE_LIMIT_TOKENS

echo "==> go test -run '^\$' -bench ChatProxy -benchtime=${PAIRS}x -count=$COUNT $* ./internal/httpapi/" >&2
echo "    gap between upstream events: ${CCB_BENCH_CHAT_GAP:-2ms}; load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
go test -run '^$' -bench ChatProxy -benchtime="${PAIRS}x" -count="$COUNT" -timeout 60m "$@" ./internal/httpapi/
