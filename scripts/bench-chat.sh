#!/usr/bin/env bash
# Runs the chat proxy benchmark (internal/httpapi/chat_bench_test.go) against the dev PostgreSQL
# and Redis: identical streams from an in-process fake Anthropic upstream, read directly and
# through POST /v1/chat/completions, at 1, 10 and 100 concurrent streams. Prints the p50/p99
# overhead of the service on time to first token (ttft), to [DONE] (total) and to the end of the
# response (eof), the part spent before the upstream call (upstream), new upstream connections
# per stream, and at 100 streams the memory per open stream (B/open-stream).
#
#   scripts/bench-chat.sh                      300, 1000 and 3000 pairs at 1, 10 and 100 streams, then
#                                               300 and 1000 non-streamed pairs at 1 and 32 (REPLIES_1, REPLIES_32),
#                                               then 5000 non-streamed requests per credential at 32 clients
#   PAIRS_100=10000 COUNT=3 scripts/bench-chat.sh
#   CCB_BENCH_CHAT_GAP=2ms scripts/bench-chat.sh          a model ten times faster (saturates 2 cores)
#   scripts/bench-chat.sh -bench 'ChatProxy/streams=100$' -benchtime=3000x -cpuprofile /tmp/chat-cpu.out
#                                               then: go tool pprof -top /tmp/chat-cpu.out
#
# Arguments go to `go test`; with -bench among them, one run with exactly those. The numbers are
# only as quiet as the machine: the load generator, the fake upstream, the service, PostgreSQL and
# Redis share its cores. Not with -v: the test server would then log every request.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3 # the project's Go (as in the Makefile); the machine's own may be older

COUNT=${COUNT:-1}

svc="$(scripts/services.sh)" && eval "$svc"
# A token budget would reject streams part-way through the run.
unset CCB_RATE_LIMIT_TOKENS

echo "    gap between upstream events: ${CCB_BENCH_CHAT_GAP:-20ms}; load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
bench() {
	echo "==> go test -run '^\$' -count=$COUNT $* ./internal/httpapi/" >&2
	go test -run '^$' -count="$COUNT" -timeout 60m "$@" ./internal/httpapi/
}
if [[ " $* " == *" -bench "* ]]; then
	bench "$@"
	exit
fi
# Fewer pairs where each takes a whole stream's time on its own.
bench -bench 'ChatProxy/streams=1$' -benchtime="${PAIRS_1:-300}x" "$@"
bench -bench 'ChatProxy/streams=10$' -benchtime="${PAIRS_10:-1000}x" "$@"
bench -bench 'ChatProxy/streams=100$' -benchtime="${PAIRS_100:-3000}x" "$@"

# ---- non-streamed replies (helper relay) ----
# BenchmarkChatProxyNonStream: a non-streamed request straight to the fake and one through the
# service, started together, at 1 and 32 concurrent pairs; the fake answers one gap after the
# request arrives. total-p50-µs-overhead is what the service adds to a non-streamed reply.
bench -bench 'ChatProxyNonStream/c=1$' -benchtime="${REPLIES_1:-300}x" "$@"
bench -bench 'ChatProxyNonStream/c=32$' -benchtime="${REPLIES_32:-1000}x" "$@"
# ---- end of non-streamed replies ----
# ---- throughput (helper bench): non-streamed chat completions, instant upstream, 32 clients ----
# BenchmarkChatThroughput (internal/httpapi/chat_throughput_bench_test.go): req/s with an access
# token and with an API key, and CPU per request of the test process, PostgreSQL and Redis.
bench -bench 'ChatThroughput' -benchtime="${THROUGHPUT_REQUESTS:-5000}x" "$@"
# ---- end throughput ----
