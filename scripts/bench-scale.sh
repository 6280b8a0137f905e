#!/usr/bin/env bash
# Two instances vs one under the same mixed load (BenchmarkScaleMixed: sign-in, authenticated read,
# list page, message post, chat stream against the fake upstream), on the PostgreSQL and Redis of
# scripts/services.sh. Prints each run and the throughput ratio (two / one) with p50/p99.
# On a machine with few cores both instances share the same CPUs: the ratio measures the overhead
# of running two instances, not a speed-up. Usage: scripts/bench-scale.sh [benchtime, default 3s]
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN="${GOTOOLCHAIN:-go1.27.3}"
eval "$(scripts/services.sh)"
out=$(go test ./internal/httpapi/ -run '^$' -bench 'BenchmarkScaleMixed' -benchtime "${1:-3s}" -count 1 | tee /dev/stderr)
awk '/BenchmarkScaleMixed\/instances=/ {
  split($1, a, "="); n = a[2] + 0
  for (i = 2; i <= NF; i++) { if ($(i+1) == "ns/op") ns[n] = $i; if ($(i+1) == "p50-ms") p50[n] = $i; if ($(i+1) == "p99-ms") p99[n] = $i }
}
END {
  if (!(1 in ns) || !(2 in ns)) { print "bench-scale: missing results" > "/dev/stderr"; exit 1 }
  printf "one instance:  %.0f req/s  p50 %s ms  p99 %s ms\n", 1e9 / ns[1], p50[1], p99[1]
  printf "two instances: %.0f req/s  p50 %s ms  p99 %s ms\n", 1e9 / ns[2], p50[2], p99[2]
  printf "throughput ratio two/one: %.2f (both instances share the same cores: near 1 means a second instance costs nothing measurable; it is not a speed-up)\n", ns[1] / ns[2]
}' <<<"$out"
