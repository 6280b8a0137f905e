#!/usr/bin/env bash
# backup.sh DATABASE_URL DIR: a consistent backup of the PostgreSQL database into DIR (created):
# db.dump (pg_dump custom format) and manifest.tsv (row count and data checksum of every table),
# both taken from ONE snapshot, so the manifest describes exactly what the dump holds even while the
# service keeps writing. PostgreSQL is the only state to back up (see README "Backups and restore").
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 DATABASE_URL DIR" >&2; exit 2; }
url=$1 dir=$2
# shellcheck source=scripts/backup-manifest.sh
. "$(dirname "$0")/backup-manifest.sh"
mkdir -p "$dir"
start=$(date +%s%N)

# A session that exports its snapshot and stays open (in its transaction) until both readers ran.
coproc SNAP { psql -X -q -At -v ON_ERROR_STOP=1 -d "$url"; }
trap 'kill "$SNAP_PID" 2>/dev/null || true' EXIT
echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot();" >&"${SNAP[1]}"
read -r -t 30 snapshot <&"${SNAP[0]}" || { echo "backup: could not export a snapshot" >&2; exit 1; }

pg_dump --format=custom --no-owner --no-privileges --snapshot="$snapshot" --file="$dir/db.dump" "$url"
manifest "$url" "$snapshot" >"$dir/manifest.tsv.tmp"
echo "COMMIT;" >&"${SNAP[1]}"
mv "$dir/manifest.tsv.tmp" "$dir/manifest.tsv"
echo "backup: $(wc -l <"$dir/manifest.tsv") tables, $(stat -c %s "$dir/db.dump") bytes, $((($(date +%s%N) - start) / 1000000)) ms" >&2
