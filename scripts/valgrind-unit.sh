#!/usr/bin/env bash
# Runs every cmocka unit test of BUILD under valgrind (STYLE.md: the suite
# runs once under valgrind): uninitialised reads and definite leaks fail.
# Tests see COFFER_UNDER_VALGRIND=1; exhaustive loops (every-offset mutation)
# may sample with a stride there, since ASan and release builds run them whole.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
case $build in /*) bdir=$build ;; *) bdir=$here/$build ;; esac
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}

export COFFER_VECTORS=${COFFER_VECTORS:-$here/../shared/vectors}
export COFFER_CONFORMANCE=${COFFER_CONFORMANCE:-$here/../shared/conformance}
export COFFER_SOURCE_DIR=$here COFFER_BIN_DIR=$bdir/bin PYTHON=/usr/bin/python3
export COFFER_UNDER_VALGRIND=1

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

run_one() {
  t=$1 logs=$2
  name=$(basename "$t")
  start=$(date +%s)
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$t" >"$logs/$name.log" 2>&1
  rc=$?
  echo "$rc $(( $(date +%s) - start ))" >"$logs/$name.rc"
}
export -f run_one

ls "$bdir"/tests/*_test 2>/dev/null | xargs -r -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$logs"

pass=0 fail=0 skip=0
failed=()
for f in "$logs"/*.rc; do
  [ -e "$f" ] || continue
  name=$(basename "$f" .rc)
  read -r rc secs <"$f"
  case $rc in
    0) pass=$((pass + 1)); echo "valgrind: $name ok (${secs}s)" ;;
    77) skip=$((skip + 1)); echo "valgrind: $name skipped" ;;
    *) fail=$((fail + 1)); failed+=("$name"); echo "valgrind: $name FAILED (exit $rc, ${secs}s)"
       tail -n 40 "$logs/$name.log" ;;
  esac
done
echo "valgrind: $pass passed, $fail failed, $skip skipped"
if ((fail)); then
  printf 'valgrind failures: %s\n' "${failed[*]}"
  exit 1
fi
