#!/usr/bin/env bash
# Installs the pinned npm tools (package-lock.json) into node_modules with `npm ci`, only when
# node_modules is missing or older than package.json / package-lock.json. Quiet on success.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stamp=node_modules/.ccb-npm-ci.stamp

if [ ! -f package-lock.json ]; then
  echo "npm-deps: no package-lock.json; generating it (commit it)" >&2
  npm install --package-lock-only --no-audit --no-fund --loglevel=error >&2
fi

# A tree installed before this script existed: npm's own record of the last install
# (node_modules/.package-lock.json) being newer than the lockfile stands in for the stamp.
if [ ! -f "$stamp" ] && [ -f node_modules/.package-lock.json ] &&
  [ node_modules/.package-lock.json -nt package-lock.json ] &&
  [ node_modules/.package-lock.json -nt package.json ]; then
  touch -r node_modules/.package-lock.json "$stamp"
fi

if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ] && [ ! package.json -nt "$stamp" ]; then
  exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# ignore-scripts comes from .npmrc; `npm ci` fails when package.json and the lockfile disagree.
if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
  cat "$log" >&2
  echo "npm-deps: npm ci failed" >&2
  exit 1
fi
touch "$stamp"
