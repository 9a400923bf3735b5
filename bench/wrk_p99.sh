#!/usr/bin/env bash
# Issue #3's p99 target measured with wrk, the tool its baseline figure comes
# from (run by `make bench`, never by `make test`). Five interleaved pairs of
# `wrk -t2 -c64 --latency` on loopback: the trivial libmicrohttpd handler
# (bench_kbs --trivial-server, the bench's own baseline) and bearer-token
# resource GETs on a cofferd with bench_kbs's configuration. Prints each
# pair's p99 and the ratio; docs/PERFORMANCE.md has the figures.
#   bench/wrk_p99.sh [BUILD_DIR] [SECONDS_PER_RUN]
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$here/$build" ;; esac
bin=${COFFER_BIN_DIR:-$build/bin}

if ! command -v wrk >/dev/null 2>&1; then
  echo "wrk_p99: skipped: wrk is not installed (scripts/deps.sh installs it)"
  exit 0
fi

dir=$(mktemp -d /tmp/wrk-p99-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

cat >"$dir/cofferd.toml" <<EOF
[server]
listen = "127.0.0.1:0"
threads = 4
max_connections = 2048
[storage]
data_dir = "$dir/data"
[attestation]
allow_sample = true
token_lifetime = 3600
session_lifetime = 3600
[policy]
resource = "allow_all"
release = "allow_all"
[admin]
bootstrap_namespaces = ["bench"]
[log]
level = "warn"
EOF

"$bin/cofferd" --dev --config "$dir/cofferd.toml" --port-file "$dir/port" \
  >"$dir/cofferd.log" 2>&1 &
pids+=($!)
"$build/bench/bench_kbs" --trivial-server --threads 4 >"$dir/trivial" &
pids+=($!)
for _ in $(seq 250); do
  [ -s "$dir/port" ] && [ -s "$dir/trivial" ] && break
  sleep 0.02
done
broker_port=$(cat "$dir/port")
trivial_port=$(awk '$1 == "port" { print $2 }' "$dir/trivial")
if [ -z "$broker_port" ] || [ -z "$trivial_port" ]; then
  echo "wrk_p99: the servers did not start" >&2
  cat "$dir/cofferd.log" >&2
  exit 1
fi

# a resource, and a token from one RCAR handshake (the interop test client)
token=$(/usr/bin/python3 - "$here/tests/interop" "$broker_port" "$dir/data/admin.jwk" <<'EOF'
import sys
sys.path.insert(0, sys.argv[1])
import kbs_client as kc
from jwcrypto import jwk

base = "http://127.0.0.1:" + sys.argv[2]
key = jwk.JWK.from_json(open(sys.argv[3]).read())
r, _ = kc.admin_request(base, key, "POST", "/kbs/v0/resource/bench/key/k1", b"0123456789abcdef")
if r.status != 200:
    sys.exit("resource put: %d" % r.status)
c = kc.KbsClient(base)
tok = c.handshake()
if c.get_resource("bench/key/k1", bearer=tok, cookie=False).status != 200:
    sys.exit("bearer GET failed")
print(tok)
EOF
)

# the token goes to wrk in a script (0600 in the run's directory), not on
# its command line, where any local user could read it
(umask 077 && printf 'wrk.headers["Authorization"] = "Bearer %s"\n' "$token" >"$dir/bearer.lua")
unset token

# wrk's "99%" line: a number and a unit (us, ms, s); in milliseconds
p99_ms() {
  awk '$1 == "99%" {
         v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
         f = (u == "us") ? 0.001 : (u == "s") ? 1000 : 1;
         printf "%.2f", v * f }'
}
rate() { awk '$1 == "Requests/sec:" { printf "%.0f", $2 }'; }
errors() { awk '/Non-2xx|Socket errors/ { print }'; }

echo "wrk $(wrk -v 2>&1 | head -n1 | awk '{print $2}'): -t2 -c64 -d${seconds}s, 5 interleaved pairs"
printf "%-5s %14s %12s %14s %12s %7s\n" pair "trivial req/s" "trivial p99" "bearer GETs/s" "bearer p99" ratio
status=0
for i in 1 2 3 4 5; do
  t=$(wrk -t2 -c64 -d"${seconds}s" --latency "http://127.0.0.1:$trivial_port/")
  b=$(wrk -t2 -c64 -d"${seconds}s" --latency -s "$dir/bearer.lua" \
    "http://127.0.0.1:$broker_port/kbs/v0/resource/bench/key/k1")
  if [ -n "$(errors <<<"$t$b")" ]; then
    echo "wrk_p99: pair $i had errors:" >&2
    errors <<<"$t$b" >&2
    status=1
  fi
  tp=$(p99_ms <<<"$t")
  bp=$(p99_ms <<<"$b")
  printf "%-5s %14s %9s ms %14s %9s ms %6.2fx\n" "$i" "$(rate <<<"$t")" "$tp" \
    "$(rate <<<"$b")" "$bp" "$(awk -v a="$bp" -v b="$tp" 'BEGIN { print (b > 0) ? a / b : 0 }')"
done
echo "target: bearer p99 <= 2x the trivial handler's (issue #3)"
exit $status
