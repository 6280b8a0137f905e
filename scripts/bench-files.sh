#!/usr/bin/env bash
# Files benchmark (issue 12, "Measured"): the built server, started here against a fresh database
# of the dev PostgreSQL, then
#   1. a 1 GiB file uploaded (raw body, POST /v1/files) and downloaded (GET /v1/files/{id}/content)
#      through the API with the local store, against `cp` of the same bytes on the same disk;
#   2. the same through the API with an S3 store (versitygw), against PUT/GET of the object on
#      versitygw directly (curl --aws-sigv4);
#   3. 100 concurrent 1 MiB uploads: p50/p99 latency and the error count;
# with the server's RSS growth during each 1 GiB transfer (VmHWM after the transfer minus VmRSS
# before it, the peak reset in between through /proc/PID/clear_refs): the proof that nothing is
# buffered whole (target < 64 MiB).
#
#   scripts/bench-files.sh                 SIZE_MIB=1024 CONCURRENT=100 SMALL_KIB=1024
#   SIZE_MIB=256 scripts/bench-files.sh    a quicker run
#
# Needs about 5 × SIZE_MIB of free disk under the work directory (BENCH_DIR, default a fresh
# directory in ./.data); everything it writes is deleted at the end. versitygw is where
# scripts/ensure-tools.sh puts it (or VERSITYGW=path). Numbers are only as quiet as the machine:
# curl, the server, PostgreSQL and versitygw share its cores, and the page cache holds the bytes
# (cp and the server both read and write through it; nothing here calls fsync).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3 # the project's Go (as in the Makefile); the machine's own may be older
ROOT=$PWD

SIZE_MIB=${SIZE_MIB:-1024}
CONCURRENT=${CONCURRENT:-100}
SMALL_KIB=${SMALL_KIB:-1024}
VERSITYGW=${VERSITYGW:-$(command -v versitygw || echo "$ROOT/.tools/bin/versitygw")}

log() { printf 'bench-files: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
[ -x "$VERSITYGW" ] || die "versitygw not found (scripts/ensure-tools.sh installs it; or set VERSITYGW)"

mkdir -p "$ROOT/.data"
W=$(mktemp -d "${BENCH_DIR:-$ROOT/.data}/bench-files.XXXXXX")
need=$((SIZE_MIB * 5 + 512))
free=$(df -Pm "$W" | awk 'NR==2 {print $4}')
[ "$free" -ge "$need" ] || die "$free MiB free under $W, $need MiB needed"
log "disk: $(df -h "$W" | awk 'NR==2 {print $4 " free of " $2}'); load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

svc="$(scripts/services.sh)" && eval "$svc"
DB="bench_files_$$"
ADMIN_URL=$DATABASE_URL
BENCH_URL=$(sed -E "s#/[^/?]*(\?|$)#/$DB\1#" <<<"$ADMIN_URL")
psql "$ADMIN_URL" -qc "CREATE DATABASE $DB" >/dev/null

SERVER_PID="" GW_PID=""
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	[ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null && wait "$GW_PID" 2>/dev/null
	rm -rf "$W"
	psql "$ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 200); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done; die "$1 does not answer"; }
now() { date +%s.%N; }
rate() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%7.1f MiB/s (%6.2f s)", b / 1048576 / s, s }'; }
kib() { awk '/^'"$2"':/ {print $2}' "/proc/$1/status"; }

log "building the server"
go build -o "$W/ccbackend" ./cmd/ccbackend

# start_server BLOB_URL: the built binary on a free port, with limits the 1 GiB file fits.
start_server() {
	local port
	port=$(free_port)
	DATABASE_URL=$BENCH_URL CCB_ADDR=127.0.0.1:$port CCB_METRICS_ADDR=off CCB_LOG_LEVEL=warn \
		CCB_REDIS_PREFIX="bench-files-$$:" CCB_BLOB_URL=$1 CCB_RATE_LIMIT_DEFAULT=100000/min \
		CCB_MAX_FILE_BYTES=$(((SIZE_MIB + 1) << 20)) CCB_FILE_QUOTA_BYTES=$(((SIZE_MIB * 2 + 1024) << 20)) \
		CCB_BODY_TIMEOUT=30m CCB_WRITE_TIMEOUT=30m CCB_BCRYPT_COST=4 \
		"$W/ccbackend" serve >"$W/server.log" 2>&1 &
	SERVER_PID=$!
	API=http://127.0.0.1:$port
	wait_http "$API/health"
	TOKEN=$(curl -fsS -H 'Content-Type: application/json' \
		-d "{\"email\":\"bench-$RANDOM-$$@example.com\",\"password\":\"correct horse battery staple\"}" \
		"$API/v1/auth/register" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
}
stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; SERVER_PID=""; }

# measure LABEL CMD...: runs CMD, prints its throughput over SIZE_MIB and the server's RSS growth.
measure() {
	local label=$1 before t0 t1 peak
	shift
	echo 5 >"/proc/$SERVER_PID/clear_refs" # resets VmHWM to the current RSS
	before=$(kib "$SERVER_PID" VmRSS)
	t0=$(now)
	"$@"
	t1=$(now)
	peak=$(kib "$SERVER_PID" VmHWM)
	printf '%-34s %s  server RSS %4d MiB before, peak +%d MiB\n' "$label" \
		"$(rate $((SIZE_MIB << 20)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")" \
		$((before / 1024)) $(((peak - before) / 1024))
}
plain() { # LABEL CMD...: throughput only (no server involved)
	local label=$1 t0 t1
	shift
	t0=$(now)
	"$@"
	t1=$(now)
	printf '%-34s %s\n' "$label" "$(rate $((SIZE_MIB << 20)) "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')")"
}

upload_stream() { curl -fsS -o "$W/up.json" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/octet-stream' \
	-T "$W/big.bin" -X POST "$API/v1/files?filename=big-$1.bin"; }
download() { curl -fsS -o "$W/down.bin" -H "Authorization: Bearer $TOKEN" "$API/v1/files/$(file_id)/content"; }
file_id() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$W/up.json"; }
same_bytes() { cmp -s "$W/big.bin" "$1" || die "$1 differs from what was uploaded"; rm -f "$1"; }

log "writing $SIZE_MIB MiB of random bytes"
head -c $((SIZE_MIB << 20)) /dev/urandom >"$W/big.bin"

echo "== ${SIZE_MIB} MiB, local store (fileblob) on the same disk"
plain "cp (write a copy)" cp "$W/big.bin" "$W/copy.bin"
plain "cp (read it back)" cp "$W/copy.bin" "$W/copy2.bin"
rm -f "$W/copy.bin" "$W/copy2.bin"
start_server "file://$W/blobs"
measure "API upload (raw body, -T)" upload_stream local
measure "API download" download
same_bytes "$W/down.bin"
echo

echo "== ${SIZE_MIB} MiB, S3 store (versitygw)"
GW_PORT=$(free_port)
mkdir -p "$W/s3"
ROOT_ACCESS=benchaccess ROOT_SECRET=benchsecret-benchsecret "$VERSITYGW" --access benchaccess \
	--secret benchsecret-benchsecret --port "127.0.0.1:$GW_PORT" posix "$W/s3" >"$W/gw.log" 2>&1 &
GW_PID=$!
S3=http://127.0.0.1:$GW_PORT
for _ in $(seq 100); do curl -s -o /dev/null "$S3" && break; sleep 0.1; done
s3() { curl -fsS --aws-sigv4 "aws:amz:us-east-1:s3" --user benchaccess:benchsecret-benchsecret -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"; }
s3 -X PUT "$S3/bench" >/dev/null
plain "versitygw direct PUT" s3 -T "$W/big.bin" "$S3/bench/direct.bin" -o /dev/null
plain "versitygw direct GET" s3 -o "$W/direct.bin" "$S3/bench/direct.bin"
same_bytes "$W/direct.bin"
s3 -X DELETE "$S3/bench/direct.bin" >/dev/null
stop_server
AWS_ACCESS_KEY_ID=benchaccess AWS_SECRET_ACCESS_KEY=benchsecret-benchsecret \
	start_server "s3://bench?endpoint=$S3&use_path_style=true&region=us-east-1"
measure "API upload (raw body, -T)" upload_stream s3
measure "API download" download
same_bytes "$W/down.bin"
rm -f "$W/big.bin"
echo

echo "== $CONCURRENT concurrent ${SMALL_KIB} KiB uploads (local store)"
stop_server
start_server "file://$W/blobs-small"
head -c $((SMALL_KIB << 10)) /dev/urandom >"$W/small.bin"
export API TOKEN W
seq "$CONCURRENT" | xargs -P "$CONCURRENT" -I{} sh -c 'curl -s -o /dev/null -w "%{http_code} %{time_total}\n" \
	-H "Authorization: Bearer $TOKEN" -H "Content-Type: application/octet-stream" \
	--data-binary "@$W/small.bin" "$API/v1/files?filename=small-{}.bin"' >"$W/small.txt"
awk '$1 != 201 { err++ } END { printf "errors (not 201): %d of %d\n", err + 0, NR }' "$W/small.txt"
awk '{ print $2 }' "$W/small.txt" | sort -g >"$W/lat.txt"
awk '{ a[NR] = $1 } END { printf "latency p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", a[int(NR * 0.50 + 0.5)] * 1000, a[int(NR * 0.99 + 0.5)] * 1000, a[NR] * 1000 }' "$W/lat.txt"
