#!/usr/bin/env bash
# ctest `demo`: run scripts/demo.sh against this build directory and check
# the lines a first-time reader relies on, so the demo cannot silently rot.
set -uo pipefail
build=$PWD
[ -x "$build/bin/coffer-sim" ] && [ -x "$build/tests/fake_tsm" ] || {
  echo "SKIPPED: demo needs coffer-sim and fake_tsm in $build" >&2
  exit 77
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
start=$(date +%s)
bash "${COFFER_SOURCE_DIR:?}/scripts/demo.sh" "$build" >"$out" 2>&1
rc=$?
cat "$out"
echo "--- demo took $(($(date +%s) - start)) s, exit $rc"
fail=0
expect() { # REGEX WHAT
  if grep -Eq -- "$1" "$out"; then echo "ok   demo: $2"; else echo "FAIL demo: $2 ($1)"; fail=1; fi
}
[ $rc -eq 0 ] && echo "ok   demo: exit 0" || { echo "FAIL demo: exit $rc"; fail=1; }
summary=$(sed -n '/Who received what/,/audit view/p' "$out")
check_sum() { # REGEX WHAT
  if grep -Eq -- "$1" <<<"$summary"; then echo "ok   demo: $2"; else echo "FAIL demo: $2 ($1)"; fail=1; fi
}
check_sum 'workload v1 +kbs:///models/key/llm +RECEIVED' "v1 receives the model key"
check_sum 'workload v1 +kbs:///hospital/key/records +RECEIVED' "v1 receives the data key"
check_sum 'workload v2 +kbs:///models/key/llm +RECEIVED' "v2 receives the model key"
check_sum 'workload v2 +kbs:///hospital/key/records +REFUSED +.*403.*release policy of hospital' \
  "v2 is refused the data key by the data owner's release policy"
check_sum 'debug VM.*hospital/key/records +REFUSED .*401.*debug' "the debug VM gets no data key"
check_sum 'debug VM.*models/key/llm +REFUSED .*401.*debug' "the debug VM gets no model key"
check_sum 'operator, no TEE .*REFUSED +HTTP 401' "the operator without attestation gets nothing"
check_sum 'operator, fake TEE .*REFUSED .*sample evidence is not accepted' \
  "sample evidence is refused"
[ "$(grep -c 'RECEIVED$' <<<"$summary")" -eq 3 ] && echo "ok   demo: exactly three releases" ||
  { echo "FAIL demo: not exactly three releases"; fail=1; }
expect 'tries to overwrite the data owner.s key: REFUSED' "the provider cannot overwrite the data key"
expect '#[0-9]+ hospital/key/records snp measurement a1a1a1a1a1a1\.\.\. ALLOWED' \
  "the audit view shows the release to v1"
expect '#[0-9]+ hospital/key/records snp measurement b2b2b2b2b2b2\.\.\. DENIED \(the owner.s release policy' \
  "the audit view shows the refusal of v2 and the policy"
expect 'audit chain OK: .*[1-9][0-9]* checkpoints verified' "the audit chain and checkpoints verify"
expect '^demo: done\.' "the demo ends"
dir=$(sed -n 's/^ *Removing \(.*\)$/\1/p' "$out")
if [ -n "$dir" ] && [ ! -e "$dir" ]; then echo "ok   demo: $dir was removed"; else
  echo "FAIL demo: temporary directory '$dir' left behind"; fail=1; fi
if grep -Eq 'model-key-[0-9a-f]+"' "$out" && ! sed -n '/audit view/,$p' "$out" | grep -q 'key-[0-9a-f]\{8\}'; then
  echo "ok   demo: no key value in the audit part"; else echo "FAIL demo: key values"; fail=1; fi
exit $fail
