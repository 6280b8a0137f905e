#!/usr/bin/env bash
# Fails when gen/ is not what the spec and the SQL in the WORKING TREE generate.
#
# The generators run in a scratch copy of the working tree (tracked and untracked, not ignored
# files), and the copy's fresh gen/ is compared with the working tree's gen/. So a spec change in
# progress passes as soon as `make generate` has been run, committed or not, while a clean clone
# (CI) still fails on any drift between the committed sources and the committed gen/.
# Nothing in the working tree is written.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# Copy what git would see, without node_modules, .data or .git (node_modules is linked instead).
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  tar --null -T - -cf - | tar -xf - -C "$scratch"
ln -s "$root/node_modules" "$scratch/node_modules"

log=$scratch/.generate.log
if ! make -s -C "$scratch" generate-go generate-clients >"$log" 2>&1; then
  cat "$log" >&2
  echo "check-generated: generation failed in a scratch copy of the working tree" >&2
  exit 1
fi

if ! diff -r -q "$root/gen" "$scratch/gen" >"$scratch/.diff" 2>&1; then
  echo "generated files are out of date with api/ and db/; run 'make generate' (and commit gen/):" >&2
  sed "s|$scratch/|fresh: |; s|$root/|tree: |g" "$scratch/.diff" >&2
  diff -r -u "$root/gen" "$scratch/gen" 2>/dev/null | head -n 60 >&2 || true
  exit 1
fi
echo "generated code is up to date with the working tree's spec and SQL"
