#!/usr/bin/env bash
# Lints the contract (Spectral, Redocly) and the Go code (gofmt, go vet, staticcheck).
# Every step runs; the script exits non-zero when any of them failed. Warnings are printed, not fatal.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3 # the project's Go (as in the Makefile); the machine's own may be older

spec=api/openapi.yaml
bin=node_modules/.bin
# Redocly: no telemetry, no update check (the network reaches only package registries).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

failed=()
# step NAME WHAT COMMAND...: prints a one-line header, runs the command, records a failure.
step() {
  local name=$1 what=$2 start status=0
  shift 2
  echo "==> $name: $what"
  start=$(date +%s%N)
  "$@" || status=$?
  local ms=$((($(date +%s%N) - start) / 1000000))
  if [ "$status" -ne 0 ]; then
    echo "--- FAIL: $name (exit $status, ${ms} ms)"
    failed+=("$name")
  else
    echo "--- ok: $name (${ms} ms)"
  fi
}

need_npm() {
  [ -x "$bin/$1" ] || { echo "$bin/$1 is missing; run 'make deps' (npm ci) first" >&2; return 1; }
}

spectral_lint() {
  need_npm spectral || return 1
  "$bin/spectral" lint "$spec" --ruleset .spectral.yaml --fail-severity error
}

redocly_lint() {
  need_npm redocly || return 1
  # Drop Redocly's Node-20 end-of-life banner (box lines); keep the exit status of redocly itself.
  "$bin/redocly" lint "$spec" --config redocly.yaml --lint-config error --format stylish 2>&1 |
    { grep -v '[╔║╚]' || true; }
  return "${PIPESTATUS[0]}"
}

# Go files of this module, without node_modules, the dev-services data dir and .git.
go_files() {
  find . \( -path ./node_modules -o -path ./.data -o -path ./.git \) -prune -o -type f -name '*.go' -print0
}

gofmt_check() {
  local listed
  listed=$(go_files | xargs -0 -r "$(go env GOROOT)/bin/gofmt" -l) || { printf '%s\n' "$listed"; return 1; }
  if [ -n "$listed" ]; then
    echo "these files are not gofmt-formatted (run gofmt -w on them):"
    printf '%s\n' "$listed"
    return 1
  fi
}

step spectral "spectral lint $spec --ruleset .spectral.yaml (fails on errors)" spectral_lint
step redocly "redocly lint $spec --config redocly.yaml (fails on errors)" redocly_lint
step gofmt "gofmt ($(go env GOVERSION)) -l on the Go files outside node_modules and .data" gofmt_check
step vet "go vet ./..." go vet ./...
step staticcheck "go tool staticcheck ./..." go tool staticcheck ./...

if [ "${#failed[@]}" -gt 0 ]; then
  echo "lint: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "lint: ok"
