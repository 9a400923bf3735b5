#!/usr/bin/env bash
# Compare cofferd builds or settings on the handshake phase alone (not part
# of `make bench`). On this VM one run's rate moves by about 5% from run to
# run and more from day to day, so a change of a few percent shows only in
# runs interleaved with the thing it is compared with. Each ROUND runs
# `bench_kbs --handshakes-only` once per variant, in turn, and the summary
# gives each variant's median and range.
#   scripts/ab_handshakes.sh ROUNDS 'LABEL|BIN_DIR|BENCH ARGS|ENV' ...
# e.g.
#   scripts/ab_handshakes.sh 6 'd250|build/bin|--audit-commit-delay 250|' \
#                              'd1000|build/bin|--audit-commit-delay 1000|'
# BENCH (default build/bench/bench_kbs) and SECONDS_PER_RUN (default 4)
# may be set in the environment.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
rounds=$1
shift
here=$(cd "$(dirname "$0")/.." && pwd)
bench=${BENCH:-$here/build/bench/bench_kbs}
out=$(mktemp /tmp/ab-handshakes-XXXXXX)
trap 'rm -f "$out"' EXIT

for _ in $(seq "$rounds"); do
  for spec in "$@"; do
    IFS='|' read -r label bin args envs <<<"$spec"
    # shellcheck disable=SC2086 # ARGS and ENV are word lists
    line=$(env $envs COFFER_BIN_DIR="$bin" "$bench" --seconds "${SECONDS_PER_RUN:-4}" \
      --handshakes-only $args 2>&1 | tail -n 1)
    echo "$label $line" | tee -a "$out"
  done
done

/usr/bin/python3 - "$out" <<'EOF'
import re, statistics, sys
runs = {}
pat = re.compile(r"(\S+) handshakes: (\d+)/s = ([\d.]+) of floor ([\d.]+) us; CPU per "
                 r"handshake broker (\d+) us, generator (\d+) us; efficiency ([\d.]+); "
                 r"unexpected errors (\d+)")
bad = 0
for line in open(sys.argv[1]):
    m = pat.match(line)
    if not m:
        bad += 1
        continue
    label, *vals = m.groups()
    runs.setdefault(label, []).append([float(v) for v in vals])
print("variant       runs  of floor: median [range]   broker us  generator us  errors")
for label, rows in runs.items():
    col = list(zip(*rows))
    print("%-12s %5d  %.3f [%.3f-%.3f]  %9.0f  %12.0f  %6d" % (
        label, len(rows), statistics.median(col[1]), min(col[1]), max(col[1]),
        statistics.median(col[3]), statistics.median(col[4]), sum(col[6])))
if bad:
    print("%d run(s) did not finish (see above)" % bad)
    sys.exit(1)
EOF
