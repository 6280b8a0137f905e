#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other, each for FUZZTIME.
#
#   scripts/fuzz.sh [FUZZTIME]            (default $FUZZTIME, else 60s; `make test` passes a few seconds)
#
# Targets are found, not listed: packages whose tests declare `func Fuzz...` are asked for their
# targets with `go test -list '^Fuzz'`, so a target added anywhere is run without editing this.
# A failure keeps the failing input under the package's testdata/fuzz/FuzzX/ (go test does
# that): commit it with the fix, and the seed corpus replays it in every plain `go test`.
# FUZZ_PARALLEL sets the fuzzing workers (default: go test's, GOMAXPROCS); FUZZ_MATCH (a grep -E
# pattern on "package FuzzName") narrows the run.
set -euo pipefail

FUZZTIME=${1:-${FUZZTIME:-60s}}
GO=${GO:-go}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

parallel=()
[ -n "${FUZZ_PARALLEL:-}" ] && parallel=(-parallel "$FUZZ_PARALLEL")

# Directories whose test files declare a fuzz target (cheap), then the exact list from go test.
mapfile -t dirs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_]' --exclude-dir=node_modules --exclude-dir=.data . |
  xargs -r -n1 dirname | sort -u)
targets=()
for d in "${dirs[@]}"; do
  pkg=$($GO list "$d")
  while read -r name; do
    [[ $name == Fuzz* ]] && targets+=("$pkg $name")
  done < <($GO test -list '^Fuzz' "$d")
done
if [ -n "${FUZZ_MATCH:-}" ]; then
  mapfile -t targets < <(printf '%s\n' "${targets[@]}" | grep -E "$FUZZ_MATCH" || true)
fi
[ "${#targets[@]}" -gt 0 ] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }

failed=()
for t in "${targets[@]}"; do
  read -r pkg name <<<"$t"
  echo "fuzz: $name ($pkg) for $FUZZTIME" >&2
  if ! $GO test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "${parallel[@]}" "$pkg"; then
    failed+=("$name ($pkg)")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran for $FUZZTIME each, nothing found" >&2
