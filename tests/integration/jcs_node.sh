#!/usr/bin/env bash
# `coffer jcs` against JavaScript itself (RFC 8785 is defined by ES6 number
# formatting and UTF-16 key order): node generates random doubles (random bit
# patterns, powers of two and their neighbours, short decimals) and objects
# with random keys across all planes, writes them in a non-canonical form, and
# computes the expected canonical text with Number.prototype.toString and
# Array.prototype.sort. Skipped (77) without node or the coffer binary.
set -uo pipefail

bin="${COFFER_BIN_DIR:-}/coffer"
[ -x "$bin" ] || { echo "SKIPPED: $bin not built" >&2; exit 77; }
node=$(command -v node || command -v nodejs || true)
[ -n "$node" ] || { echo "SKIPPED: node not installed" >&2; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/gen.js" <<'EOF'
const fs = require('fs');
const dir = process.argv[2];
const b = Buffer.alloc(8);
const u32 = () => Math.floor(Math.random() * 4294967296);
const nums = [];
for (let e = -1074; e <= 1023; e++) {
  for (const k of [-1, 0, 1]) {
    b.writeDoubleBE(Math.pow(2, e), 0);
    const lo = b.readUInt32BE(4) + k;
    if (lo >= 0 && lo <= 4294967295) { b.writeUInt32BE(lo, 4); nums.push(b.readDoubleBE(0)); }
  }
}
for (let i = 0; i < 30000; i++) {
  b.writeUInt32BE(u32(), 0); b.writeUInt32BE(u32(), 4);
  const d = b.readDoubleBE(0);
  if (isFinite(d)) nums.push(d);
  nums.push(Number((Math.random() * 1e6).toFixed(Math.floor(Math.random() * 8))));
  nums.push(parseFloat(Math.floor(Math.random() * 1e6) + 'e' + (Math.floor(Math.random() * 640) - 330)));
}
const signed = nums.filter(isFinite).map((d, i) => (i % 2 ? -d : d));
// input: 17 significant digits (reads back exactly), not the canonical form
fs.writeFileSync(dir + '/nums.json', '[' + signed.map(d => d.toPrecision(17)).join(',\n') + ']');
fs.writeFileSync(dir + '/nums.want', JSON.stringify(signed));

// random keys: ASCII, controls, Latin-1, BMP above the surrogates, astral
const pick = () => {
  const r = Math.random();
  if (r < 0.3) return 0x20 + Math.floor(Math.random() * 95);
  if (r < 0.4) return 1 + Math.floor(Math.random() * 0x1f); // no NUL: refused
  if (r < 0.55) return 0x80 + Math.floor(Math.random() * 0x180);
  if (r < 0.75) return 0xe000 + Math.floor(Math.random() * 0x2000);
  return 0x10000 + Math.floor(Math.random() * 0xfffff);
};
const keys = new Set();
while (keys.size < 3000) {
  let s = '';
  const n = 1 + Math.floor(Math.random() * 4);
  for (let i = 0; i < n; i++) s += String.fromCodePoint(pick());
  keys.add(s);
}
const list = [...keys];
const input = '{' + list.map((k, i) => JSON.stringify(k) + ' : ' + i).join(',\n') + '}';
fs.writeFileSync(dir + '/keys.json', input);
const sorted = [...list].sort(); // UTF-16 code unit order
const index = new Map(list.map((k, i) => [k, i]));
fs.writeFileSync(dir + '/keys.want',
  '{' + sorted.map(k => JSON.stringify(k) + ':' + index.get(k)).join(',') + '}');
EOF
"$node" "$tmp/gen.js" "$tmp" || { echo "FAIL: node generator" >&2; exit 1; }

fail=0
for t in nums keys; do
  if ! "$bin" jcs --in "$tmp/$t.json" --out "$tmp/$t.got"; then
    echo "FAIL: coffer jcs refused $t.json" >&2
    fail=1
  elif ! cmp -s "$tmp/$t.got" "$tmp/$t.want"; then
    echo "FAIL: $t differs from JavaScript:" >&2
    tr ',' '\n' <"$tmp/$t.got" >"$tmp/a"
    tr ',' '\n' <"$tmp/$t.want" >"$tmp/b"
    diff "$tmp/a" "$tmp/b" | head -10 >&2
    fail=1
  fi
done
if [ $fail = 0 ]; then
  n=$(tr ',' '\n' <"$tmp/nums.want" | wc -l)
  echo "jcs_node: $n numbers and 3000 keys identical to JavaScript's output"
fi
exit $fail
