#!/usr/bin/env bash
# make demo: Coffer's trust model, played end to end on one machine.
#
#   scripts/demo.sh [BUILD_DIR]      (default: build)
#
# Five parties share a confidential AI service. The WORKLOAD PROVIDER runs
# the key broker (cofferd) and decides which workload images are approved.
# An IMAGE PROVIDER owns the model key; a DATA OWNER owns the key of its
# data. The ORCHESTRATION OPERATOR runs the pods and the network, the
# INFRASTRUCTURE OPERATOR the hosts; neither may ever see a key.
#
# This machine has no TEE hardware, so the confidential VMs are simulated:
# `coffer-sim` signs AMD SEV-SNP reports with a test certificate hierarchy
# that this broker (and only this broker) is told to trust, and a fake of
# the kernel's configfs-tsm interface hands them to the real guest agent
# (coffer-agent). Everything else - the broker, the CLI, the agent, the
# policies, the audit chain - is the real thing. Everything runs in a
# temporary directory that is removed at the end.
set -euo pipefail

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
case "$build" in /*) ;; *) build="$here/$build" ;; esac
bin="$build/bin"
fake_tsm="$build/tests/fake_tsm"
for p in "$bin/cofferd" "$bin/coffer" "$bin/coffer-agent" "$bin/coffer-sim" "$fake_tsm"; do
  if [ ! -x "$p" ]; then
    echo "demo: $p is missing; run 'make' first" >&2
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
note() { printf '   %s\n' "$@"; }
die() {
  echo "demo: FAILED: $*" >&2
  echo "--- broker log (last lines) ---" >&2
  tail -20 "$work/cofferd.log" >&2 || true
  exit 1
}

wait_file() { # FILE WHAT LOG [-e: exists is enough]
  for _ in $(seq 1 500); do
    [ -s "$1" ] && return 0
    [ "${4:-}" = -e ] && [ -e "$1" ] && return 0
    sleep 0.02
  done
  echo "demo: $2 did not start; its log:" >&2
  cat "$3" >&2
  exit 3
}

coffer() { "$bin/coffer" "$@"; }
as_wp() { coffer "$@" --broker "$broker" --key "$work/keys/provider.jwk"; }
as_ip() { coffer "$@" --broker "$broker" --key "$work/keys/image-provider.jwk"; }
as_do() { coffer "$@" --broker "$broker" --key "$work/keys/data-owner.jwk"; }

V1=$(printf 'a1%.0s' $(seq 48))   # launch measurement of workload v1
V2=$(printf 'b2%.0s' $(seq 48))   # ... of workload v2

# A confidential VM: a fake configfs-tsm whose reports come from coffer-sim
# with this VM's launch measurement and guest policy.
# start_tee NAME MEASUREMENT [extra coffer-sim options...]
start_tee() {
  local name=$1 meas=$2
  shift 2
  local d="$work/tee-$name"
  mkdir -p "$d/tsm"
  {
    echo '#!/bin/sh'
    printf 'exec "%s" snp-report --dir "%s" --report-data "$2" --out "$3" --auxblob "$4" --measurement %s %s\n' \
      "$bin/coffer-sim" "$work/sim" "$meas" "$*"
  } >"$d/gen.sh"
  chmod +x "$d/gen.sh"
  "$fake_tsm" --root "$d/tsm" --provider sev_guest --gen "$d/gen.sh" --ready "$d/ready" &
  pids+=($!)
  wait_file "$d/ready" "the simulated TEE $name" /dev/null -e
}

# The agent inside TEE NAME asks for URI. Prints one result line and keeps
# the decision for the summary. fetch NAME URI LABEL
results=()
fetch() {
  local name=$1 uri=$2 label=$3 out err rc=0
  local d="$work/tee-$name"
  out=$("$bin/coffer-agent" --broker "$broker" --tee snp-sim --tsm-root "$d/tsm" \
    --sev-guest "$d/no-device" --ccel "$d/no-ccel" --retries 1 get-resource "$uri" \
    2>"$d/err") || rc=$?
  err=$(sed -e 's/^coffer-agent: //' -e "s|broker $broker: ||" "$d/err" | tr -d '\n')
  if [ $rc -eq 0 ]; then
    note "$(printf '%-22s %-34s RECEIVED  "%s"' "$label" "$uri" "$out")"
    results+=("$(printf '%-22s %-34s RECEIVED' "$label" "$uri")")
  else
    note "$(printf '%-22s %-34s REFUSED' "$label" "$uri")" "      reason: ${err#"$uri: "}"
    results+=("$(printf '%-22s %-34s REFUSED   %s' "$label" "$uri" "${err#"$uri: "}")")
  fi
}

mkdir -p "$work/keys" "$work/policies"

say "The workload provider starts the key broker (cofferd)" \
    "The broker keeps the secrets and hands one out only to a workload that" \
    "proves, with hardware-signed attestation evidence, that it runs approved" \
    "code inside a TEE. The workload provider owns it with its own key pair."
coffer jose keygen --kty OKP --crv Ed25519 --out "$work/keys/provider.jwk" \
  --pub "$work/keys/provider.pub.jwk" >/dev/null
"$bin/coffer-sim" init --dir "$work/sim" >/dev/null
cat >"$work/cofferd.toml" <<EOF
[server]
listen = "127.0.0.1:0"
port_file = "$work/broker.port"
[storage]
data_dir = "$work/broker"
[attestation]
# the simulated AMD root; a real deployment trusts AMD's and Intel's roots
sim_root = "$work/sim/snp/ark.pem"
[policy]
resource = "default"
release = "default"
[admin]
audit_checkpoint_every = 4
bootstrap_key = "$work/keys/provider.pub.jwk"
bootstrap_namespaces = ["provider"]
EOF
"$bin/cofferd" --config "$work/cofferd.toml" >"$work/cofferd.log" 2>&1 &
pids+=($!)
wait_file "$work/broker.port" cofferd "$work/cofferd.log"
broker="http://127.0.0.1:$(cat "$work/broker.port")"
note "broker at $broker (SQLite in a temporary directory; plain HTTP on loopback)"
note "it trusts the simulated SEV-SNP root only because its configuration names it"

say "The workload provider enrols an image provider and a data owner" \
    "Each gets its own key and a namespace it owns for good. Nobody else," \
    "not even the workload provider, can write or re-assign that namespace."
for who in image-provider data-owner; do
  coffer jose keygen --kty OKP --crv Ed25519 --out "$work/keys/$who.jwk" \
    --pub "$work/keys/$who.pub.jwk" >/dev/null
done
ip_id=$(as_wp principal add --persona image-provider --pubkey "$work/keys/image-provider.pub.jwk" \
  --namespace models) || die "enrol the image provider"
do_id=$(as_wp principal add --persona data-owner --pubkey "$work/keys/data-owner.pub.jwk" \
  --namespace hospital) || die "enrol the data owner"
note "image provider  $ip_id  owns namespace 'models'"
note "data owner      $do_id  owns namespace 'hospital'"

say "The workload provider approves workload v1" \
    "Its attestation policy accepts a launch measurement only if it is in the" \
    "reference values; its resource policy releases to affirming TEEs only."
cat >"$work/policies/attestation.rego" <<'EOF'
package policy
import rego.v1

default executables := 33

executables := 3 if input.snp.measurement in data.reference.snp_launch_measurement

default configuration := 36

configuration := 2 if input.snp.policy_debug_allowed == false

trust_claims := {"executables": executables, "hardware": 2, "configuration": configuration}
EOF
cat >"$work/policies/resource.rego" <<'EOF'
package policy
import rego.v1

default allow := false

allow if input.submods.cpu0["ear.status"] == "affirming"
EOF
as_wp policy set --kind attestation --in "$work/policies/attestation.rego" >/dev/null ||
  die "attestation policy"
as_wp policy set --kind resource --in "$work/policies/resource.rego" >/dev/null || die "resource policy"
as_wp refval set --name snp_launch_measurement --value "$V1" >/dev/null || die "reference values"
note "reference values: snp_launch_measurement = [v1: ${V1:0:12}...]"

say "The image provider uploads its model key; the data owner its data key" \
    "'coffer resource put' seals each value to the broker's upload key, so a" \
    "TLS-terminating proxy run by the operator would see ciphertext only." \
    "The data owner also sets a release policy that pins the measurement of" \
    "workload v1, the code it reviewed."
printf 'model-key-%s' "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" |
  as_ip resource put kbs:///models/key/llm >/dev/null || die "model key upload"
printf 'data-key-%s' "$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')" |
  as_do resource put kbs:///hospital/key/records >/dev/null || die "data key upload"
cat >"$work/policies/pin-v1.rego" <<EOF
package policy
import rego.v1

default allow := false

allow if {
	input.submods.cpu0["ear.status"] == "affirming"
	input.submods.cpu0["ear.veraison.annotated-evidence"].snp.measurement == "$V1"
}
EOF
as_do policy set --kind release --namespace hospital --in "$work/policies/pin-v1.rego" >/dev/null ||
  die "release policy"
note "kbs:///models/key/llm       owned by the image provider (release: the default, affirming TEEs)"
note "kbs:///hospital/key/records owned by the data owner     (release: workload v1 only)"
note "What the workload provider can see of them (metadata only, never a value):"
as_wp resource list | sed 's/^/     /'

say "Workload v1 starts in a confidential VM and asks for both keys" \
    "The agent gets a nonce, binds it and a fresh key pair into the SEV-SNP" \
    "report, the broker verifies the report's signature chain and policies" \
    "and returns each key encrypted to that key pair."
start_tee v1 "$V1"
fetch v1 kbs:///models/key/llm "workload v1"
fetch v1 kbs:///hospital/key/records "workload v1"

say "The workload provider approves workload v2 too" \
    "It adds v2's measurement to the reference values: that is its right."
as_wp refval set --name snp_launch_measurement --value "$V1" --value "$V2" >/dev/null ||
  die "reference values v2"
start_tee v2 "$V2"
fetch v2 kbs:///models/key/llm "workload v2"
fetch v2 kbs:///hospital/key/records "workload v2"
note "v2 gets the model key, but the data owner never approved v2: the release"
note "policy it owns still says v1 only, and the workload provider cannot change it."

say "Attempts that must fail" \
    "A VM launched with debugging allowed (the host could read its memory)," \
    "the orchestration operator asking the broker directly with no TEE (or a" \
    "fake one), and the workload provider touching the data owner's key."
start_tee debug "$V1" --policy $((0x30000 | 1 << 19))
fetch debug kbs:///hospital/key/records "debug VM (v1 image)"
fetch debug kbs:///models/key/llm "debug VM (v1 image)"
code=$(/usr/bin/python3 -c 'import sys,urllib.request,urllib.error
try:
    urllib.request.urlopen(sys.argv[1]); print(200)
except urllib.error.HTTPError as e:
    print(e.code)' "$broker/kbs/v0/resource/hospital/key/records")
note "$(printf '%-22s %-34s REFUSED' "operator, no TEE" "kbs:///hospital/key/records")" \
     "      reason: HTTP $code (no attested session or token)"
results+=("$(printf '%-22s %-34s REFUSED   HTTP %s, no attested session or token' \
  "operator, no TEE" "kbs:///hospital/key/records" "$code")")
out=$("$bin/coffer-agent" --broker "$broker" --tee sample --retries 1 get-resource \
  kbs:///models/key/llm 2>&1) && die "sample evidence was accepted"
out=$(printf '%s\n' "$out" | tail -1 | sed "s|broker $broker: ||")
note "$(printf '%-22s %-34s REFUSED' "operator, fake TEE" "kbs:///models/key/llm")" \
     "      reason: ${out#coffer-agent: kbs:///models/key/llm: }"
results+=("$(printf '%-22s %-34s REFUSED   %s' "operator, fake TEE" "kbs:///models/key/llm" \
  "${out#coffer-agent: kbs:///models/key/llm: }")")
as_wp resource put kbs:///hospital/key/records </dev/null >/dev/null 2>"$work/wp.err" &&
  die "the workload provider overwrote the data owner's key"
note "$(printf '%-22s %s' "workload provider" "tries to overwrite the data owner's key: REFUSED")" \
     "      reason: $(sed 's/^coffer resource: //' "$work/wp.err")"

say "Who received what"
printf '   %s\n' "${results[@]}"

say "The data owner's audit view" \
    "Every release decision about its namespace, allowed or refused, with the" \
    "TEE, its measurement and the policy that decided (seq, time, kind, action," \
    "namespace, actor, resource, outcome, reason):"
as_do audit list --namespace hospital | grep -E $'\trelease\t' |
  awk -F'\t' '{ m = $6; sub(/:.*/, "", m); printf "     #%s %s %s measurement %s... %s (%s)\n", $1, $7, m, substr($6, index($6, ":") + 1, 12), toupper($8), $9 }'

say "The data owner verifies the audit chain offline" \
    "It exports the trail (entries outside its namespaces are hash-only stubs)" \
    "and checks every hash link and the broker's signed checkpoints itself."
/usr/bin/python3 -c 'import sys,urllib.request; sys.stdout.buffer.write(urllib.request.urlopen(sys.argv[1]).read())' \
  "$broker/kbs/v0/jwks" >"$work/jwks.json"
as_do audit export --out "$work/audit.json" >/dev/null || die "audit export"
if coffer audit verify --in "$work/audit.json" --jwks "$work/jwks.json" >"$work/verify.out" 2>&1; then
  note "coffer audit verify: the chain verifies" "$(cat "$work/verify.out")"
else
  cat "$work/verify.out" >&2
  die "audit chain"
fi

say "Stop everything and clean up" "Removing $work"
echo
echo "demo: done. The data owner's key went only to the workload it approved."
