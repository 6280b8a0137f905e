# Sourced by scripts/backup.sh and scripts/restore.sh: the manifest of a database, one line per
# table, "schema.table<TAB>rows<TAB>md5", where md5 is over the sorted md5s of the rows' text, so it
# depends on the data only (not on physical order). Leaf tables only (a partitioned table's rows are
# counted in its partitions). TimeZone is pinned so timestamptz renders the same everywhere.

# manifest_sql [SNAPSHOT]: the SQL that prints the manifest, inside one repeatable-read transaction
# (on SNAPSHOT, exported by the pg_dump side, when given).
manifest_sql() {
  local url=$1 snapshot=${2:-} tables t
  tables=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$url" -c "SELECT format('%I.%I', n.nspname, c.relname)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1")
  echo "SET TimeZone = 'UTC'; SET extra_float_digits = 1;"
  echo "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
  [ -z "$snapshot" ] || echo "SET TRANSACTION SNAPSHOT '$snapshot';"
  for t in $tables; do
    echo "SELECT '$t', count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '-') FROM (SELECT md5(r::text) AS h FROM $t r) s;"
  done
  echo "COMMIT;"
}

# manifest URL [SNAPSHOT]: prints the manifest of the database at URL.
manifest() {
  manifest_sql "$@" | psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -d "$1"
}
