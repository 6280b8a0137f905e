#!/usr/bin/env bash
# restore.sh DIR TARGET_URL: restores DIR's backup (scripts/backup.sh) into the EMPTY database at
# TARGET_URL, then verifies it: every table's row count and data checksum must equal the manifest.
# restore.sh --verify DIR TARGET_URL only verifies. Exit 0 only when the database matches.
set -euo pipefail
verify_only=0
if [ "${1:-}" = --verify ]; then verify_only=1; shift; fi
[ $# -eq 2 ] || { echo "usage: $0 [--verify] DIR TARGET_URL" >&2; exit 2; }
dir=$1 url=$2
# shellcheck source=scripts/backup-manifest.sh
. "$(dirname "$0")/backup-manifest.sh"
[ -f "$dir/db.dump" ] && [ -f "$dir/manifest.tsv" ] || { echo "restore: $dir holds no backup" >&2; exit 1; }
start=$(date +%s%N)

if [ $verify_only = 0 ]; then
  used=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$url" -c "SELECT count(*) FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'S')
    AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'")
  [ "$used" = 0 ] || { echo "restore: the target database is not empty ($used relations); restore into a new one" >&2; exit 1; }
  pg_restore --no-owner --no-privileges --exit-on-error --single-transaction -d "$url" "$dir/db.dump"
fi

if ! diff <(sort "$dir/manifest.tsv") <(manifest "$url" | sort) >"$dir/verify.diff"; then
  echo "restore: VERIFY FAILED — the database differs from the backup's manifest (< backup, > database):" >&2
  cat "$dir/verify.diff" >&2
  exit 1
fi
echo "restore: verified $(wc -l <"$dir/manifest.tsv") tables, $((($(date +%s%N) - start) / 1000000)) ms" >&2
