#!/usr/bin/env bash
# Fails when the given paths differ from the commit (generated code out of date with its sources).
set -euo pipefail
cd "$(dirname "$0")/.."
paths=("$@")
if [ -n "$(git status --porcelain -- "${paths[@]}")" ]; then
  echo "generated files are out of date; run 'make generate' and commit:" >&2
  git status --porcelain -- "${paths[@]}" >&2
  git --no-pager diff --stat -- "${paths[@]}" >&2
  exit 1
fi
echo "generated code is up to date"
