#!/usr/bin/env bash
# The vulnerability gate of make test: govulncheck against a local copy of the Go vulnerability
# database, fully offline once the tools are cached, decided by cmd/vulngate against the committed
# allowlist security/vuln-allowlist.yaml. Fails on any advisory whose vulnerable symbol is
# reachable from this module's code and that the allowlist does not accept (with a reason and a
# review date that has not passed); imported-but-not-reached findings are printed, not failing.
#
# Cached in .tools/vuln (per version, built once, ~1-2 min cold on 2 cores): govulncheck, and the
# database built from the golang.org/x/vulndb module (a pinned snapshot of the advisories, fetched
# from the Go module proxy and checked against go.sum's checksum database like any module) with
# its own cmd/indexdb. The scan itself runs with GOPROXY=off: nothing leaves the machine.
#
#   scripts/vulncheck.sh                  the gate
#   VULNCHECK_JSON=out.json scripts/...   also keep govulncheck's raw output
# Bump VULNDB_VERSION to scan against newer advisories (then review the allowlist).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export GOTOOLCHAIN=go1.27.3

GOVULNCHECK_VERSION=v1.9.0
VULNDB_VERSION=v0.0.0-20261105234957-e22db6528018
ALLOWLIST=security/vuln-allowlist.yaml

log() { printf 'vulncheck: %s\n' "$*" >&2; }

# The stdlib findings are only as true as the toolchain that runs the scan: it must be go.mod's.
want=$(awk '$1 == "toolchain" { print $2 }' go.mod)
have=$(go env GOVERSION)
[ -z "$want" ] || [ "$want" = "$have" ] || { log "go is $have, go.mod's toolchain is $want: keep GOTOOLCHAIN in step"; exit 1; }

dir=$ROOT/.tools/vuln
bin=$dir/govulncheck-$GOVULNCHECK_VERSION-$have
db=$dir/db-$VULNDB_VERSION
mkdir -p "$dir"
if [ ! -x "$bin" ]; then
	log "building govulncheck $GOVULNCHECK_VERSION with $have into .tools/vuln (once)"
	tmp=$(mktemp -d "$dir/build.XXXXXX")
	(cd / && GOBIN=$tmp GOFLAGS=-mod=mod go install "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION") >&2
	mv "$tmp/govulncheck" "$bin"
	rm -rf "$tmp"
fi
if [ ! -f "$db/.complete" ]; then
	log "building the vulnerability database from golang.org/x/vulndb@$VULNDB_VERSION (once)"
	src=$(cd / && GOFLAGS=-mod=mod go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" |
		awk -F'"' '$2 == "Dir" { print $4 }')
	[ -d "$src/data/osv" ] || { log "no data/osv in the vulndb module ($src)"; exit 1; }
	tmp=$(mktemp -d "$dir/build.XXXXXX")
	(cd "$src" && GOFLAGS=-mod=mod go build -o "$tmp/indexdb" ./cmd/indexdb) >&2
	"$tmp/indexdb" -vulns "$src/data/osv" -out "$tmp/db" >&2
	rm -rf "$db"
	mv "$tmp/db" "$db"
	touch "$db/.complete"
	rm -rf "$tmp"
fi

# npm: the registry refuses audit requests here, and nothing npm installs ships (package.json has
# only devDependencies: generators, linters, the journey test's driver), so `npm audit --omit=dev`
# has nothing to audit. What keeps that true offline: fail if a shipped npm dependency appears.
node -e '
const p = require("./package.json");
const shipped = ["dependencies", "optionalDependencies", "peerDependencies"].filter((k) => Object.keys(p[k] || {}).length);
if (shipped.length) { console.error("vulncheck: package.json has " + shipped.join(", ") + ": audit them (npm audit --omit=dev) before shipping"); process.exit(1); }
'

out=${VULNCHECK_JSON:-$(mktemp)}
[ -n "${VULNCHECK_JSON:-}" ] || trap 'rm -f "$out"' EXIT
log "govulncheck $GOVULNCHECK_VERSION, $have, database golang.org/x/vulndb@$VULNDB_VERSION (offline)"
# -format json exits 0 with findings; a non-zero status is a failed scan (build error, bad database).
GOPROXY=off "$bin" -db "file://$db" -format json ./... >"$out"
go run ./cmd/vulngate "$ALLOWLIST" <"$out"
