#!/usr/bin/env bash
# make demo: the trust model, played end to end on one machine.
#
# A broker (cofferd, development mode) stands for the key broker the workload
# provider runs outside the TEE. The agent (coffer-agent) stands for the guest
# side inside a confidential pod; here it uses the `sample` TEE because this
# machine has no TEE hardware. A secret is stored, the agent proves what it
# is (attestation), and a "container" reads the secret from the agent's local
# REST API. Everything runs in a temporary directory that is removed at the end.
set -euo pipefail

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$here/$build" ;; esac
bin="$build/bin"
for p in cofferd coffer coffer-agent; do
  if [ ! -x "$bin/$p" ]; then
    echo "demo: $bin/$p is missing; run 'make' first" >&2
    exit 2
  fi
done

work=$(mktemp -d "${TMPDIR:-/tmp}/coffer-demo.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

step=0
bold='' plain=''
if [ -t 1 ]; then bold=$'\033[1m' plain=$'\033[0m'; fi
say() {
  step=$((step + 1))
  printf '\n%s%d. %s%s\n' "$bold" "$step" "$1" "$plain"
  shift
  for line in "$@"; do printf '   %s\n' "$line"; done
}

wait_file() {
  for _ in $(seq 1 500); do
    [ -s "$1" ] && return 0
    sleep 0.02
  done
  echo "demo: $2 did not start; its log:" >&2
  cat "$3" >&2
  exit 3
}

http_get() { # URL -> body on stdout
  if command -v curl >/dev/null; then
    curl -sS --fail-with-body "$1"
  else
    /usr/bin/python3 -c 'import sys,urllib.request;sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' "$1"
  fi
}

say "Start the key broker (cofferd)" \
    "The workload provider runs the broker outside the TEE. It keeps secrets" \
    "and hands one out only to a workload that proves, with attestation" \
    "evidence, that it runs the approved code inside a TEE."
"$bin/cofferd" --dev --listen 127.0.0.1:0 --data-dir "$work/broker" \
  --port-file "$work/broker.port" >"$work/cofferd.log" 2>&1 &
pids+=($!)
wait_file "$work/broker.port" cofferd "$work/cofferd.log"
broker="http://127.0.0.1:$(cat "$work/broker.port")"
echo "   broker listening at $broker (development mode: plain HTTP, loopback only)"

say "Store a secret as the workload provider" \
    "The provider signs its request with its own key ($work/broker/admin.jwk)." \
    "The secret is write-only: no request can read it back from the broker."
secret="the launch code is $(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
printf '%s' "$secret" | "$bin/coffer" resource put kbs:///default/demo/greeting \
  --broker "$broker" --key "$work/broker/admin.jwk"
echo "   stored kbs:///default/demo/greeting = \"$secret\""

say "Start the agent inside the (pretend) confidential pod" \
    "coffer-agent runs in every confidential pod. It attests to the broker and" \
    "serves secrets to the pod's containers on a loopback-only REST API." \
    "This machine has no TEE, so it uses the 'sample' TEE: DEVELOPMENT ONLY," \
    "it protects nothing. On real hardware it reads SEV-SNP or TDX evidence."
"$bin/coffer-agent" --broker "$broker" --tee sample --listen 127.0.0.1:0 \
  --port-file "$work/agent.port" 2>"$work/agent.log" &
pids+=($!)
wait_file "$work/agent.port" coffer-agent "$work/agent.log"
agent="http://127.0.0.1:$(cat "$work/agent.port")"
echo "   agent REST API at $agent"

say "A container asks the agent for the secret" \
    "GET $agent/cdh/resource/default/demo/greeting" \
    "Behind this one request the agent: gets a fresh nonce from the broker," \
    "makes a new key pair, binds nonce + public key into its TEE evidence," \
    "sends the evidence; the broker verifies it, applies its policies and" \
    "returns the secret encrypted to that key; the agent decrypts it."
got=$(http_get "$agent/cdh/resource/default/demo/greeting")
echo "   the container received: \"$got\""
if [ "$got" != "$secret" ]; then
  echo "demo: FAILED: the secret that came back is not the one stored" >&2
  exit 1
fi

say "What the agent reports about itself" "GET $agent/info"
http_get "$agent/info" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("   TEE: %s; attestations so far: %d; /aa/token (hands out the TEE key): %s" % (d["evidence_source"], d["attestations"], "on" if d["tee_key_served"] else "off"))'

say "What the broker logged" "One line per attestation and per release, with the TEE type and status:"
grep -E '"msg":"(attested|release|resource)' "$work/cofferd.log" | head -4 | sed 's/^/   /' || true

say "Stop everything and clean up" "Removing $work"
echo
echo "demo: done. The secret travelled from the provider, through attestation, to the container."
