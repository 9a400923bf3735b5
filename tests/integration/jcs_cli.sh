#!/usr/bin/env bash
# `coffer jcs` through the real binary: every case of $COFFER_CONFORMANCE/jcs
# byte for byte (stdin -> stdout and --in/--out), then the failure paths and
# their exit codes (CLI.md: 2 = usage or input error).
set -uo pipefail

bin="${COFFER_BIN_DIR:-}/coffer"
if [ ! -x "$bin" ]; then
  echo "SKIPPED: $bin not built" >&2
  exit 77
fi
suite="${COFFER_CONFORMANCE:-}/jcs"
if [ ! -d "$suite/input" ]; then
  echo "SKIPPED: no jcs suite under COFFER_CONFORMANCE" >&2
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# expect RC CMD...: run with stdin from $in (default /dev/null)
expect() {
  local want=$1; shift
  "$@" >"$tmp/out" 2>"$tmp/err" <"${in:-/dev/null}"
  local rc=$?
  [ "$rc" = "$want" ] || bad "$* -> exit $rc, want $want ($(cat "$tmp/err"))"
}

n=0
for f in "$suite"/input/*.json; do
  name=$(basename "$f" .json)
  want="$suite/output/$name.json"
  in="$f" expect 0 "$bin" jcs
  cmp -s "$tmp/out" "$want" || bad "$name: stdout differs from output/$name.json"
  # outhex: the same bytes as hex pairs
  hex=$(od -An -v -tx1 "$tmp/out" | tr -s ' \n' '\n\n' | grep -v '^$' | tr '\n' ' ')
  wanthex=$(tr -s ' \n' '\n\n' <"$suite/outhex/$name.txt" | grep -v '^$' | tr 'A-F\n' 'a-f ')
  [ "$hex" = "$wanthex" ] || bad "$name: output differs from outhex/$name.txt"
  rm -f "$tmp/file.json"
  expect 0 "$bin" jcs --in "$f" --out "$tmp/file.json"
  cmp -s "$tmp/file.json" "$want" || bad "$name: --out file differs"
  [ -s "$tmp/out" ] && bad "$name: --out also wrote to stdout"
  n=$((n + 1))
done
[ "$n" -gt 0 ] || bad "no conformance cases found"

# the canonical form is a fixed point
in="$suite/output/values.json" expect 0 "$bin" jcs
cmp -s "$tmp/out" "$suite/output/values.json" || bad "canonical input is not a fixed point"

# failure paths: exit 2 and a message naming the problem
check_err() {
  local what=$1 needle=$2
  grep -q -- "$needle" "$tmp/err" || bad "$what: stderr lacks '$needle': $(cat "$tmp/err")"
  [ -s "$tmp/out" ] && bad "$what: wrote to stdout on failure"
}
printf '{"a":1,"a":2}' >"$tmp/dup.json"
in="$tmp/dup.json" expect 2 "$bin" jcs;            check_err duplicate "duplicate"
printf '{"a":1} x' >"$tmp/trail.json"
in="$tmp/trail.json" expect 2 "$bin" jcs;          check_err trailing "line 1"
printf '["\xc3\x28"]' >"$tmp/utf8.json"
in="$tmp/utf8.json" expect 2 "$bin" jcs;           check_err utf8 "coffer jcs: JSON"
printf '[NaN]' >"$tmp/nan.json"
in="$tmp/nan.json" expect 2 "$bin" jcs;            check_err nan "coffer jcs: JSON"
printf '[1e999]' >"$tmp/inf.json"
in="$tmp/inf.json" expect 2 "$bin" jcs;            check_err overflow "overflow"
printf '' >"$tmp/empty.json"
in="$tmp/empty.json" expect 2 "$bin" jcs;          check_err empty "empty input"
head -c 200 /dev/zero | tr '\0' '[' >"$tmp/deep.json"
in="$tmp/deep.json" expect 2 "$bin" jcs;           check_err deep "nesting"
expect 2 "$bin" jcs --in "$tmp/does-not-exist.json"; check_err missing "does-not-exist"
expect 2 "$bin" jcs --bogus;                       check_err usage "unexpected argument"
expect 2 "$bin" jcs --in;                          check_err usage "unexpected argument"

# scalars are JSON texts too; big integers are rounded as doubles, like JavaScript
printf ' 12345678901234567890 ' >"$tmp/big.json"
in="$tmp/big.json" expect 0 "$bin" jcs
[ "$(cat "$tmp/out")" = "12345678901234567000" ] || bad "big integer: $(cat "$tmp/out")"

expect 0 "$bin" jcs --help
grep -q "usage: coffer jcs" "$tmp/out" || bad "--help prints no usage"

if [ $fail = 0 ]; then
  echo "jcs_cli: $n/$n conformance cases byte-identical through $bin; failure paths ok"
fi
exit $fail
