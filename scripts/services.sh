#!/usr/bin/env bash
# Dev/test PostgreSQL and Redis for `make run` / `make test`.
#
#   eval "$(scripts/services.sh)"   prints `export DATABASE_URL=... REDIS_URL=...` on stdout
#   scripts/services.sh stop        stops the private instances (if running)
#
# Each service is chosen in this order (messages go to stderr):
#   1. DATABASE_URL / REDIS_URL when set and reachable;
#   2. the standard ports 127.0.0.1:5432 / 127.0.0.1:6379 when reachable;
#   3. private instances in ./.data on CCB_DEV_PG_PORT (54329) / CCB_DEV_REDIS_PORT (63799),
#      started (and initialised, and the Debian packages installed) as needed.
# CCB_DEV_FORCE_PRIVATE=1 skips 1 and 2. The DATABASE_URL is admin-capable: tests create databases.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=$ROOT/.data
PG_PORT=${CCB_DEV_PG_PORT:-54329}
REDIS_PORT=${CCB_DEV_REDIS_PORT:-63799}
FORCE=${CCB_DEV_FORCE_PRIVATE:-0}

log() { printf 'services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
redact() { sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' <<<"$1"; }

# The Makefile runs `eval "$(scripts/services.sh)"`, and eval of an empty string succeeds; so on
# failure print `false`, which makes the eval (and make) fail instead of testing without a database.
trap '[ $? -eq 0 ] || echo false' EXIT

# as_pg CMD...: PostgreSQL refuses to run as root, so root runs its tools as the postgres user.
# (From /: the postgres user may not be able to enter the current directory.)
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }

# host_port URL DEFAULT_PORT: prints "host port" of a URL (IPv6 brackets kept out), or fails.
host_port() {
  local re='^[a-z0-9+]+://([^@/?]*@)?(\[[^]]*\]|[^:/?]*)(:([0-9]+))?'
  [[ $1 =~ $re ]] || return 1
  local h=${BASH_REMATCH[2]}
  h=${h#[}; h=${h%]}
  printf '%s %s\n' "${h:-127.0.0.1}" "${BASH_REMATCH[4]:-$2}"
}

# Debian's /usr/bin/pg_isready is a Perl wrapper costing ~0.2 s; call the real binary when we can.
PG_ISREADY=$(compgen -G '/usr/lib/postgresql/*/bin/pg_isready' | head -n1 || command -v pg_isready || true)

# pg_ok URL: pg_isready when installed; else PostgreSQL's SSLRequest handshake over /dev/tcp
# (the server answers a single 'S' or 'N'), which tells PostgreSQL apart from any open port.
pg_ok() {
  if [ -n "$PG_ISREADY" ]; then
    "$PG_ISREADY" -q -t 2 -d "$1"
    return
  fi
  local hp h p
  hp=$(host_port "$1" 5432) || { log "cannot parse $(redact "$1"); assuming reachable"; return 0; }
  read -r h p <<<"$hp"
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "\x00\x00\x00\x08\x04\xd2\x16\x2f" >&3
    IFS= read -r -n1 reply <&3; [[ $reply == [SN] ]]' "$h" "$p" 2>/dev/null
}

# redis_ok URL: redis-cli ping when installed; else an inline PING over /dev/tcp.
redis_ok() {
  if command -v redis-cli >/dev/null; then
    [ "$(timeout 2 redis-cli -u "$1" --no-auth-warning ping 2>/dev/null)" = PONG ]
    return
  fi
  local hp h p
  hp=$(host_port "$1" 6379) || { log "cannot parse $(redact "$1"); assuming reachable"; return 0; }
  read -r h p <<<"$hp"
  # -NOAUTH: a password-protected server that is up; the app authenticates with the URL.
  # shellcheck disable=SC2016
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
    printf "PING\r\n" >&3
    IFS= read -r reply <&3; [[ $reply == "+PONG"* || $reply == "-NOAUTH"* ]]' "$h" "$p" 2>/dev/null
}

apt_install() {
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts may start daemons: keep the lock's descriptor (9) away from them.
  "${sudo[@]}" apt-get update -qq </dev/null >&2 9>&-
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "$@" </dev/null >&2 9>&-
}

# pg_bindir [MAJOR]: newest (or the given major's) server binaries; Debian keeps them off PATH.
pg_bindir() {
  local d pat=${1:-*}
  # shellcheck disable=SC2086 # $pat is a glob on purpose
  while read -r d; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done < <(printf '%s\n' /usr/lib/postgresql/$pat/bin | sort -V -r)
  d=$(command -v initdb 2>/dev/null) && dirname "$(readlink -f "$d")"
}

# The cluster lives in .data/pg, unless the postgres user cannot reach the repo (e.g. under /root,
# mode 700): then in /var/tmp/ccbackend-<hash of repo path>, with .data/pg a symlink to it.
pg_datadir() {
  local d=$DATA/pg
  if [ ! -e "$d" ] && [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$DATA"; then
    local ext
    ext=/var/tmp/ccbackend-$(printf %s "$ROOT" | sha256sum | cut -c1-12)
    log "postgres cannot traverse $ROOT; cluster data in $ext (symlinked from .data/pg)"
    mkdir -p "$ext"
    ln -s "$ext" "$d"
  fi
  local real
  real=$(readlink -f "$d")
  mkdir -p "$real"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$real"
  chmod 700 "$real"
  echo "$real"
}

start_private_pg() {
  local url=$1 bin d
  bin=$(pg_bindir) || true
  if [ -z "$bin" ]; then apt_install postgresql; bin=$(pg_bindir) || die "no initdb after installing postgresql"; fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then die "no 'postgres' user to run PostgreSQL as"; fi
  d=$(pg_datadir)
  if [ ! -f "$d/PG_VERSION" ]; then
    log "initialising a PostgreSQL cluster in $d"
    as_pg "$bin/initdb" -D "$d" -U postgres --auth=trust -E UTF8 --locale=C >"$DATA/pg-initdb.log" 2>&1 ||
      die "initdb failed; see $DATA/pg-initdb.log"
    # TCP on 127.0.0.1 only and no Unix socket (no clash with a system cluster, no path-length
    # limit). Durability is traded for speed: this is disposable dev/test data.
    cat >>"$d/postgresql.conf" <<'EOF'

# ccbackend private dev instance (scripts/services.sh); the port is given on the command line
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  fi
  # Use the binaries of the major version the cluster was made with, when still installed.
  bin=$(pg_bindir "$(cat "$d/PG_VERSION")") || bin=$(pg_bindir)
  if as_pg "$bin/pg_ctl" -D "$d" status >/dev/null 2>&1; then
    die "the private cluster in $d runs but not on port $PG_PORT; run 'scripts/services.sh stop'"
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT ($d)"
  # `9>&-`: the server must not inherit the lock's descriptor, or it would hold the lock forever.
  as_pg "$bin/pg_ctl" -D "$d" -l "$d/server.log" -w -t 60 -o "-p $PG_PORT" start </dev/null >/dev/null 9>&- ||
    die "PostgreSQL did not start; see $d/server.log"
  pg_ok "$url" || die "PostgreSQL started but $url does not answer"
}

start_private_redis() {
  local url=$1 d=$DATA/redis i
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p "$d"
  log "starting Redis on 127.0.0.1:$REDIS_PORT ($d)"
  # Nothing is persisted (--save ""): cached data and rate-limit counters may go with a restart.
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$d" \
    --pidfile "$d/redis.pid" --logfile "$d/redis.log" --save "" --appendonly no </dev/null >/dev/null 9>&- ||
    die "redis-server did not start; see $d/redis.log"
  for i in $(seq 50); do redis_ok "$url" && return; sleep 0.1; done
  die "Redis started but does not answer on port $REDIS_PORT (tried $i times); see $d/redis.log"
}

stop_private() {
  local d bin pid
  d=$(readlink -f "$DATA/pg" || true)
  if [ -n "$d" ] && [ -f "$d/postmaster.pid" ]; then
    bin=$(pg_bindir "$(cat "$d/PG_VERSION")") || bin=$(pg_bindir)
    if as_pg "$bin/pg_ctl" -D "$d" -m fast -w -s stop >&2; then log "stopped PostgreSQL ($d)"; fi
  fi
  if [ -f "$DATA/redis/redis.pid" ]; then
    pid=$(cat "$DATA/redis/redis.pid")
    # Only signal the pid if it still is our redis-server (pid files outlive crashes).
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server 127.0.0.1:$REDIS_PORT"; then
      kill "$pid"
      for _ in $(seq 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
      log "stopped Redis (pid $pid)"
    fi
    rm -f "$DATA/redis/redis.pid"
  fi
}

# choose KIND ENVVAR CHECK STANDARD_URL PRIVATE_URL STARTER: prints the URL to use.
choose() {
  local kind=$1 var=$2 check=$3 std=$4 priv=$5 start=$6 cur=${!2:-}
  if [ "$FORCE" != 1 ]; then
    if [ -n "$cur" ]; then
      if "$check" "$cur"; then
        log "using $kind at $(redact "$cur") (from $var)"; echo "$cur"; return
      fi
      log "warning: $var=$(redact "$cur") is not reachable; falling back"
    fi
    if "$check" "$std"; then log "using $kind at $std (standard port)"; echo "$std"; return; fi
  fi
  if ! "$check" "$priv"; then
    mkdir -p "$DATA"
    # One starter at a time (parallel make invocations); the loser finds it running.
    exec 9>"$DATA/.lock"
    flock 9
    "$check" "$priv" || "$start" "$priv"
    exec 9>&-
  fi
  log "using $kind at $priv (private instance in ./.data)"
  echo "$priv"
}

case "${1:-env}" in
  env) ;;
  stop) stop_private; exit 0 ;;
  *) echo "usage: $0 [env|stop]" >&2; exit 2 ;;
esac

db=$(choose PostgreSQL DATABASE_URL pg_ok \
  "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable" \
  "postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable" start_private_pg)
rd=$(choose Redis REDIS_URL redis_ok "redis://127.0.0.1:6379/0" \
  "redis://127.0.0.1:$REDIS_PORT/0" start_private_redis)
printf 'export DATABASE_URL=%q\nexport REDIS_URL=%q\n' "$db" "$rd"
