#!/usr/bin/env bash
# The agent's REST API answers loopback peers only (PROTOCOL.md section 6):
# any other peer gets 403, whatever the endpoint. Listening on a
# non-loopback address needs a network: this test makes its own, a network
# namespace with a veth pair (10.213.7.1 <-> 10.213.7.2) that exists only
# inside this test and carries no traffic off the machine. Skipped (77) where
# namespaces cannot be created (not root, no iproute2).
set -uo pipefail
bin=${COFFER_BIN_DIR:?COFFER_BIN_DIR not set}
ns=coffer-nl-$$
pass=0 fail=0
check() {
  if [ "$1" = "$2" ]; then pass=$((pass + 1)); echo "ok   $3"
  else fail=$((fail + 1)); echo "FAIL $3 (got $1, want $2)"; fi
}
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns add "$ns" 2>/dev/null; then
  echo "SKIPPED: cannot create a network namespace here"
  exit 77
fi
work=$(mktemp -d)
agent=""
cleanup() {
  # every process left in the namespace (the agent), then the namespace
  for p in $(ip netns pids "$ns" 2>/dev/null); do kill "$p" 2>/dev/null; done
  [ -n "$agent" ] && wait "$agent" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
in_ns() { ip netns exec "$ns" "$@"; }
ip -n "$ns" link set lo up
ip -n "$ns" link add va type veth peer name vb
ip -n "$ns" addr add 10.213.7.1/24 dev va
ip -n "$ns" addr add 10.213.7.2/24 dev vb
ip -n "$ns" link set va up
ip -n "$ns" link set vb up

# all addresses of the namespace; the broker is never reached by these calls
in_ns "$bin/coffer-agent" --broker http://127.0.0.1:9 --tee sample \
  --listen 0.0.0.0:8006 --port-file "$work/port" 2>"$work/agent.log" &
agent=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "FAIL agent did not start"; cat "$work/agent.log"; exit 1; }

code() { in_ns curl -s --max-time 10 -o "$work/body" -w '%{http_code}' "$@"; }
check "$(code http://127.0.0.1:8006/info)" 200 "loopback peer: /info answered"
check "$(code --interface 10.213.7.2 http://10.213.7.1:8006/info)" 403 \
  "peer 10.213.7.2: /info refused"
check "$(code --interface 10.213.7.2 http://10.213.7.1:8006/cdh/resource/default/key/k)" 403 \
  "peer 10.213.7.2: /cdh/resource refused before any broker call"
check "$(code --interface 10.213.7.2 -X POST --data '{}' http://10.213.7.1:8006/aa/aael)" 403 \
  "peer 10.213.7.2: /aa/aael refused"
check "$(code --interface 10.213.7.1 http://10.213.7.1:8006/aa/evidence?runtime_data=aa)" 403 \
  "peer 10.213.7.1 (the host's own non-loopback address): refused"
grep -q "loopback" "$work/body" && pass=$((pass + 1)) && echo "ok   the refusal says why" ||
  { fail=$((fail + 1)); echo "FAIL the refusal does not say why: $(cat "$work/body")"; }
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
