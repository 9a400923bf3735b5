#!/bin/sh
# coffer policy eval as CLI.md specifies it: output, undefined, bindings,
# error JSON with positions, exit codes 0/1/2.
set -u
bin="${COFFER_BIN_DIR:?}/coffer"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail=0
check() { # name expected-exit expected-stdout-substring cmd...
	name=$1 want_rc=$2 want_out=$3
	shift 3
	out=$("$@" 2>"$t/err")
	rc=$?
	if [ "$rc" != "$want_rc" ]; then
		echo "FAIL $name: exit $rc, want $want_rc; stdout: $out; stderr: $(cat "$t/err")"
		fail=1
		return
	fi
	case "$out" in
	*"$want_out"*) echo "ok   $name" ;;
	*) echo "FAIL $name: stdout $out lacks $want_out"; fail=1 ;;
	esac
}

cat >"$t/p.rego" <<'R'
package policy

default allow = false

allow {
    input["submods"]["cpu0"]["ear.status"] == "affirming"
}

refs := [{"n": 1}, {"n": 2}]
R
printf '{"submods":{"cpu0":{"ear.status":"affirming"}}}' >"$t/in.json"
printf '{"submods":{"cpu0":{"ear.status":"contraindicated"}}}' >"$t/deny.json"
printf '{"extra": true}' >"$t/data.json"

check allow 0 '{"result":[{"x":true}]}' "$bin" policy eval --input "$t/in.json" --query data.policy.allow "$t/p.rego"
check deny 0 '{"result":[{"x":false}]}' "$bin" policy eval --input "$t/deny.json" --query data.policy.allow "$t/p.rego"
check undefined 0 '{"result":[]}' "$bin" policy eval --query data.policy.nothing "$t/p.rego"
check data 0 '{"result":[{"x":true}]}' "$bin" policy eval --data "$t/data.json" --query data.extra "$t/p.rego"
check bindings 0 '{"result":[{"i":0,"n":1},{"i":1,"n":2}]}' "$bin" policy eval --query-var-output --query 'n := data.policy.refs[i].n' "$t/p.rego"
check help 0 'usage: coffer policy eval' "$bin" policy eval --help

printf 'package bad\n\nallow {\n  x := [1,\n' >"$t/bad.rego"
check parse_error 1 '"code":"rego_parse_error"' "$bin" policy eval --query data.bad.allow "$t/bad.rego"
check parse_error_position 1 'bad.rego:5:' "$bin" policy eval --query data.bad.allow "$t/bad.rego"
printf 'package c\np := 1 { true }\np := 2 { true }\n' >"$t/conflict.rego"
check conflict 1 '"code":"eval_conflict_error"' "$bin" policy eval --query data.c.p "$t/conflict.rego"
printf 'package u\np { undefined_fn(1) }\n' >"$t/undef.rego"
check compile_error 1 'undef.rego:2:5' "$bin" policy eval --query data.u.p "$t/undef.rego"
check no_query 2 '' "$bin" policy eval "$t/p.rego"
check missing_module 2 '' "$bin" policy eval --query data.x "$t/absent.rego"
printf '{not json' >"$t/broken.json"
check bad_input 2 '' "$bin" policy eval --input "$t/broken.json" --query data.x "$t/p.rego"
check unknown_sub 2 '' "$bin" policy frobnicate

aci="${COFFER_CONFORMANCE:-}/rego/aci"
if [ -d "$aci" ]; then
	check aci_mount_overlay 0 '"allowed":true' "$bin" policy eval --input "$aci/input.json" --data "$aci/data.json" --query data.policy.mount_overlay "$aci/api.rego" "$aci/framework.rego" "$aci/policy.rego"
fi
exit $fail
