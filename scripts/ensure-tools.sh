#!/usr/bin/env bash
# Makes sure the tools `make run` / `make test` need are installed on a Debian/Ubuntu machine:
# Go (>= go.mod's), Node >= 20 + npm, git, make, curl + CA certificates, gcc + libc headers (cgo:
# sqlc's parser and -race), and Debian's Chromium at /usr/bin/chromium (the browser half of the
# TypeScript client's journey test, internal/journey, driven by playwright-core). Silent, fast no-op when everything is there; otherwise installs what is
# missing (as root, or with sudo) and says so on stderr.
#
# Where Go goes: the official toolchain, i.e. the module zip golang.org/toolchain@v0.0.1-go<ver>.
# linux-<arch> from the Go module proxy (what `go` itself fetches when it switches toolchains),
# checked against the checksum database, unpacked to <prefix>/go-<ver> and symlinked as
# <prefix>/bin/go and gofmt (prefix /usr/local). Why symlinks in /usr/local/bin: that directory
# precedes /usr/bin (Debian's golang-go) on Debian/Ubuntu's default PATH for root and users alike,
# so the Makefile's plain `GO ?= go`, shells and editors find it with no PATH edit or re-exec, and
# `go` finds its GOROOT through the symlink. An existing go >= 1.21 is kept even when older than
# go.mod: with GOTOOLCHAIN=go<ver> (exported here, by the Makefile and by every script that runs
# go) it downloads and runs that toolchain itself.
#
# Where Node goes: Debian's nodejs when its version is >= 20 (Debian 13); Debian 12 and Ubuntu
# 24.04 ship 18, so then the official binaries from the npm registry's node-linux-<arch> package
# plus npm's own package (integrity-checked), in <prefix>/lib/node-v<ver>, linked from <prefix>/bin.
#
# Knobs: CCB_GO_VERSION, CCB_NODE_VERSION, CCB_NPM_VERSION (what to install), CCB_TOOLS_PREFIX
# (default /usr/local), CCB_TOOLS_FORCE="go node" (install even if present: for testing this script).
set -euo pipefail
# The project's Go, as in the Makefile: an older installed go (>= 1.21) switches to it itself.
export GOTOOLCHAIN=go1.27.3

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${CCB_TOOLS_PREFIX:-/usr/local}
FORCE=" ${CCB_TOOLS_FORCE:-} "
GO_VERSION=${CCB_GO_VERSION:-1.27.3}
NODE_VERSION=${CCB_NODE_VERSION:-20.20.2}
NPM_VERSION=${CCB_NPM_VERSION:-11.19.1}
NODE_MIN=20

log() { printf 'ensure-tools: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
# ver_ge A B: dotted version A >= B, in plain bash (this script's no-op path must stay fast).
ver_ge() {
  local IFS=. i x y a b
  read -ra a <<<"$1"
  read -ra b <<<"$2"
  for i in 0 1 2; do
    x=${a[i]:-0} y=${b[i]:-0}
    x=${x%%[!0-9]*} y=${y%%[!0-9]*}
    ((10#${x:-0} == 10#${y:-0})) || { ((10#${x:-0} > 10#${y:-0})); return; }
  done
}
forced() { [[ $FORCE == *" $1 "* ]]; }

# versitygw: the real S3-compatible server the files tests run against (internal/testutil's
# StartS3), built once into the project's .tools/bin (~70 s; cached after) with the Go just
# ensured. Apache-2.0; MinIO is AGPL and not used.
VERSITYGW_VERSION=v1.8.0
ensure_versitygw() {
  local bin=$ROOT/.tools/bin/versitygw stamp=$ROOT/.tools/bin/.versitygw-$VERSITYGW_VERSION
  [ -x "$bin" ] && [ -f "$stamp" ] && return 0
  log "building versitygw $VERSITYGW_VERSION into .tools/bin (once)"
  mkdir -p "$ROOT/.tools/bin"
  (cd / && GOBIN=$ROOT/.tools/bin GOFLAGS=-mod=mod go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION") >&2
  touch "$stamp"
}

# --- what is needed -------------------------------------------------------------------------
# go.mod's `go` line, raised by a `toolchain` line if there is one.
need_go='' tc=''
while read -r k v _; do
  case $k in go) need_go=$v ;; toolchain) tc=${v#go} ;; esac
done <"$ROOT/go.mod"
[ -n "$need_go" ] || die "no go line in go.mod"
[ -z "$tc" ] || ! ver_ge "$tc" "$need_go" || need_go=$tc
ver_ge "$GO_VERSION" "$need_go" || GO_VERSION=$need_go
[[ $GO_VERSION == *.*.* ]] || GO_VERSION+=.0 # `go 1.27` means the release go1.27.0

# go_version BIN: "1.26.8", from GOROOT/VERSION (no exec) or, failing that, `go env GOVERSION`.
go_version() {
  local v root
  root=$(readlink -f "$1")
  root=${root%/bin/go}
  { read -r v <"$root/VERSION"; } 2>/dev/null || v=$(cd / && GOTOOLCHAIN=local "$1" env GOVERSION)
  echo "${v#go}"
}

go_ok() {
  local bin v
  forced go && return 1
  bin=$(command -v go) || return 1
  v=$(go_version "$bin")
  ver_ge "$v" "$need_go" && return 0
  # Too old, but able to switch to the required toolchain itself (unless told not to).
  ver_ge "$v" 1.21 && [[ $(cd / && "$bin" env GOTOOLCHAIN) != local* ]]
}

node_ok() {
  forced node && return 1
  command -v npm >/dev/null || return 1
  local v
  v=$(node --version 2>/dev/null) || return 1
  v=${v#v}
  [ "${v%%.*}" -ge "$NODE_MIN" ]
}

missing_pkgs=()
command -v git >/dev/null || missing_pkgs+=(git)
command -v make >/dev/null || missing_pkgs+=(make)
command -v curl >/dev/null || missing_pkgs+=(curl)
[ -f /etc/ssl/certs/ca-certificates.crt ] || missing_pkgs+=(ca-certificates)
command -v gcc >/dev/null || missing_pkgs+=(gcc)
[ -f /usr/include/stdio.h ] || missing_pkgs+=(libc6-dev)
# The distribution's build, never a browser download of playwright's own (`playwright install`).
[ -x /usr/bin/chromium ] || missing_pkgs+=(chromium)
# promtool (Debian package prometheus; only the tool is used, no daemon is started) checks the
# alert rules and the dashboard queries under deploy/ in make test.
command -v promtool >/dev/null || missing_pkgs+=(prometheus)
# redis-server and redis-cli (Debian package redis-server) start the private Redis Cluster and
# Sentinel of the topology tests (scripts/redis-cluster.sh), whatever Redis REDIS_URL names.
{ command -v redis-server >/dev/null && command -v redis-cli >/dev/null; } || missing_pkgs+=(redis-server)
# PgBouncer (Debian's 1.18, in /usr/sbin): `make test-pgbouncer` runs the store's tests through one
# in transaction pooling mode, started by the tests themselves (testutil.StartPgBouncer).
[ -x /usr/sbin/pgbouncer ] || command -v pgbouncer >/dev/null || missing_pkgs+=(pgbouncer)
# pg_dump, pg_restore and psql (Debian postgresql-client): scripts/backup.sh and restore.sh, and
# their drill test (internal/backupdrill), whatever server DATABASE_URL names.
{ command -v pg_dump >/dev/null && command -v pg_restore >/dev/null && command -v psql >/dev/null; } || missing_pkgs+=(postgresql-client)
need_go_install=0
go_ok || need_go_install=1
need_node_install=0
node_ok || need_node_install=1

if [ ${#missing_pkgs[@]} -eq 0 ] && [ $need_go_install = 0 ] && [ $need_node_install = 0 ]; then
  ensure_versitygw
  exit 0
fi

# --- installing ------------------------------------------------------------------------------
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "not root and no sudo; install: ${missing_pkgs[*]} go node"
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_install() {
  if [ $apt_updated = 0 ]; then "${SUDO[@]}" apt-get update -qq >&2; apt_updated=1; fi
  log "installing Debian packages: $*"
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
}

# b64_of_hex HEX: hex digest to base64 (no xxd/openssl needed).
# shellcheck disable=SC2001 # a backreference: not doable with ${//}
b64_of_hex() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")" | base64 -w0; }

case "$(uname -m)" in
  x86_64) goarch=amd64 nodearch=x64 ;;
  aarch64 | arm64) goarch=arm64 nodearch=arm64 ;;
  *) goarch='' nodearch='' ;;
esac

# The packages the downloads below need come first.
[ $need_go_install = 0 ] || command -v unzip >/dev/null || missing_pkgs+=(unzip)
[ ${#missing_pkgs[@]} -eq 0 ] || apt_install "${missing_pkgs[@]}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

install_go() {
  [ -n "$goarch" ] || die "no Go toolchain download for $(uname -m); install Go >= $need_go"
  local proxy=https://proxy.golang.org p mod="golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-$goarch"
  # The first real proxy of GOPROXY (entries are separated by , or |).
  local gp=${GOPROXY:-}
  for p in ${gp//[,|]/ }; do
    case $p in direct | off) ;; *) proxy=${p%/}; break ;; esac
  done
  log "downloading Go $GO_VERSION from $proxy"
  curl -fsSL --retry 3 -o "$tmp/go.zip" "$proxy/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-$goarch.zip"
  (cd "$tmp" && unzip -q go.zip)
  # Verify like `go` does: the zip's h1: hash (sha256 over the sorted "sha256  name" lines of its
  # files) against the checksum database's record, reached through the proxy or directly.
  if [ "${GOSUMDB:-}" != off ]; then
    local want got
    want=$( (curl -fsS "$proxy/sumdb/sum.golang.org/lookup/$mod" ||
      curl -fsS "https://sum.golang.org/lookup/$mod") | sed -n "s|^${mod/@/ } \(h1:.*\)|\1|p")
    [ -n "$want" ] || die "no checksum database record for $mod (GOSUMDB=off skips the check)"
    got=h1:$(b64_of_hex "$(cd "$tmp" && find golang.org -type f -print0 | LC_ALL=C sort -z |
      xargs -0 sha256sum | sha256sum | cut -c1-64)")
    [ "$got" = "$want" ] || die "checksum mismatch for $mod: got $got, want $want"
  fi
  # Module zips do not record file modes.
  chmod +x "$tmp/$mod"/bin/* "$tmp/$mod"/pkg/tool/*/*
  "${SUDO[@]}" mkdir -p "$PREFIX/bin"
  "${SUDO[@]}" rm -rf "$PREFIX/go-$GO_VERSION"
  "${SUDO[@]}" mv "$tmp/$mod" "$PREFIX/go-$GO_VERSION"
  "${SUDO[@]}" ln -sfn "$PREFIX/go-$GO_VERSION/bin/go" "$PREFIX/bin/go"
  "${SUDO[@]}" ln -sfn "$PREFIX/go-$GO_VERSION/bin/gofmt" "$PREFIX/bin/gofmt"
  rm -rf "$tmp/go.zip" "$tmp/golang.org"
  log "installed $("$PREFIX/bin/go" version) in $PREFIX/go-$GO_VERSION, linked from $PREFIX/bin"
}

# npm_fetch PACKAGE VERSION DEST: the registry's tarball, checked against its sha512 integrity.
npm_fetch() {
  local reg=${npm_config_registry:-https://registry.npmjs.org} meta want got
  reg=${reg%/}
  meta=$(curl -fsSL --retry 3 "$reg/$1/$2")
  want=$(grep -oE '"integrity": *"sha512-[^"]+"' <<<"$meta" | head -n1 | sed 's/.*"sha512-//; s/"$//')
  [ -n "$want" ] || die "no integrity for $1@$2 in the registry's answer"
  curl -fsSL --retry 3 -o "$3" "$reg/$1/-/${1##*/}-$2.tgz"
  got=$(b64_of_hex "$(sha512sum "$3" | cut -c1-128)")
  [ "$got" = "$want" ] || die "integrity mismatch for $1@$2"
}

install_node() {
  local cand
  if ! forced node; then
    [ $apt_updated = 1 ] || { "${SUDO[@]}" apt-get update -qq >&2; apt_updated=1; }
    cand=$(apt-cache policy nodejs | sed -n 's/^ *Candidate: *\([0-9]*\).*/\1/p')
    if [ -n "$cand" ] && [ "$cand" -ge "$NODE_MIN" ]; then
      apt_install nodejs npm
      return
    fi
    log "Debian's nodejs is ${cand:-missing} (< $NODE_MIN); using the npm registry's Node $NODE_VERSION"
  fi
  [ -n "$nodearch" ] || die "no Node download for $(uname -m); install Node >= $NODE_MIN"
  local dir=$PREFIX/lib/node-v$NODE_VERSION
  npm_fetch "node-linux-$nodearch" "$NODE_VERSION" "$tmp/node.tgz"
  npm_fetch npm "$NPM_VERSION" "$tmp/npm.tgz"
  mkdir -p "$tmp/node/lib/node_modules/npm"
  tar -xzf "$tmp/node.tgz" -C "$tmp/node" --strip-components=1
  tar -xzf "$tmp/npm.tgz" -C "$tmp/node/lib/node_modules/npm" --strip-components=1
  # The layout of nodejs.org's tarballs, so that npm finds itself and its global prefix.
  mkdir -p "$tmp/node/bin"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/node/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/node/bin/npx"
  "${SUDO[@]}" mkdir -p "$PREFIX/bin" "$PREFIX/lib"
  "${SUDO[@]}" rm -rf "$dir"
  "${SUDO[@]}" mv "$tmp/node" "$dir"
  local b
  for b in node npm npx; do "${SUDO[@]}" ln -sfn "$dir/bin/$b" "$PREFIX/bin/$b"; done
  log "installed Node $("$dir/bin/node" --version) and npm $("$dir/bin/node" "$dir/bin/npm" --version) in $dir, linked from $PREFIX/bin"
}

[ $need_go_install = 0 ] || install_go
[ $need_node_install = 0 ] || install_node
ensure_versitygw

# Links in $PREFIX/bin only help when it is on PATH (it is by default on Debian/Ubuntu).
case ":$PATH:" in
  *":$PREFIX/bin:"*) ;;
  *) log "add $PREFIX/bin to PATH: export PATH=$PREFIX/bin:\$PATH" ;;
esac
