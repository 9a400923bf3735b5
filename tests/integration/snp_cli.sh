#!/usr/bin/env bash
# coffer evidence verify / coffer collateral add / coffer-sim snp-report as
# processes: real vectors (COFFER_VECTORS/snp, README values) and the
# simulated SNP refusals, each for its own reason (exit codes per CLI.md).
set -uo pipefail
bin=${COFFER_BIN_DIR:?}
V=${COFFER_VECTORS:-}/snp
if [ -z "${COFFER_VECTORS:-}" ] || [ ! -f "$V/trustee/test-report.bin" ]; then
  echo "SKIPPED: COFFER_VECTORS/snp is absent"
  exit 77
fi
tmp=$(mktemp -d /tmp/snp-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
n=0

# expect RC SUBSTRING-IN-OUTPUT command...
expect() {
  local want=$1 pat=$2
  shift 2
  n=$((n + 1))
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" != "$want" ] || ! grep -q -- "$pat" "$tmp/out" "$tmp/err"; then
    echo "FAIL ($rc, wanted $want, '$pat'): $*"
    sed 's/^/  | /' "$tmp/err" | head -5
    fail=1
  fi
}

ev() { "$bin/coffer" evidence verify "$@"; }

# real vectors
expect 0 a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c \
  ev --tee snp --report "$V/trustee/test-report.bin" --vcek "$V/trustee/test-vcek.der" \
  --report-data ec6c52d7533cc2c4f45be7849cf112ab82b2009fe7bd43e71ed08c14400ad7e2
expect 0 7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f \
  ev --tee snp --report "$V/virtee-sev/report_milan.bin" --vcek "$V/virtee-sev/vcek_milan.pem" \
  --cert-chain "$V/virtee-sev/cert_chain_milan"
expect 0 '"reported_tcb_bootloader": 10' \
  ev --tee snp --evidence "$V/trustee-e2e-genoa/evidence.json"
expect 0 '"policy_debug_allowed": true' \
  ev --tee snp --report "$V/go-sev-guest/attestation.bin" --vcek "$V/go-sev-guest/vcek.testcer" \
  --options <(echo '{"allow_debug":true}')
expect 1 'allows debugging' \
  ev --tee snp --report "$V/go-sev-guest/attestation.bin" --vcek "$V/go-sev-guest/vcek.testcer"
expect 1 'VLEK certificate expired' \
  ev --tee snp --report "$V/trustee/test-vlek-report.bin" --vcek "$V/trustee/test-vlek.der"
expect 0 '"signing_key": "VLEK"' \
  ev --tee snp --report "$V/trustee/test-vlek-report.bin" --vcek "$V/trustee/test-vlek.pem" \
  --at 2025-06-01T00:00:00Z
for f in "$V"/negative/*.bin; do
  case $f in
    *vlek*) vek=$V/trustee/test-vlek.der ;;
    *virtee*) vek=$V/virtee-sev/vcek_milan.der ;;
    *go-sev-guest*) vek=$V/go-sev-guest/vcek.testcer ;;
    *) vek=$V/trustee/test-vcek.der ;;
  esac
  expect 1 'not valid' ev --tee snp --report "$f" --vcek "$vek" --at 2025-06-01T00:00:00Z \
    --options <(echo '{"allow_debug":true}')
done
expect 1 'is for Milan but the report comes from a Genoa CPU' \
  ev --tee snp --report "$V/trustee-e2e-genoa/report.bin" --vcek "$V/trustee/test-vcek.der"
expect 1 'REPORT_DATA does not match' \
  ev --tee snp --report "$V/trustee/test-report.bin" --vcek "$V/trustee/test-vcek.der" --report-data 00
expect 2 '1184 bytes' ev --tee snp --report "$V/trustee/test-vcek.der"
expect 2 'RFC 3339' ev --tee snp --report "$V/trustee/test-report.bin" --at yesterday
expect 2 'exactly one' ev --tee snp
expect 2 'no verifier' ev --tee nope --report "$V/trustee/test-report.bin"
expect 0 'usage' "$bin/coffer" evidence verify --help

# collateral: anyone may add, only what chains to AMD is stored
col=$tmp/collateral
expect 1 'not signed' "$bin/coffer" collateral add "$V/trustee/test-vcek-invalid-new.der" --collateral "$col"
expect 0 'stored' "$bin/coffer" collateral add "$V/trustee/test-vcek.pem" --collateral "$col"
expect 0 '"vmpl": 0' ev --tee snp --report "$V/trustee/test-report.bin" --collateral "$col"
expect 1 'collateral cache' ev --tee snp --report "$V/virtee-sev/report_milan.bin" --collateral "$col"

# a KDS on loopback: serves the VCEK only for the exact chip and TCB query
kdsroot=$tmp/kds
mkdir -p "$kdsroot"
cp "$V/trustee/test-vcek.der" "$kdsroot/vcek.der"
cat >"$tmp/kds.py" <<'PY'
import http.server, sys, os
root, portfile = sys.argv[1], sys.argv[2]
want = ("/vcek/v1/Milan/c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f"
        "8e8c0bcd9a5d9286612bad4aadfb4426205a3b9e4fea82301135a170e477524e"
        "?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(os.path.join(root, "log"), "a") as f:
            f.write(self.path + "\n")
        if self.path != want:
            self.send_response(404); self.end_headers(); return
        data = open(os.path.join(root, "vcek.der"), "rb").read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers(); self.wfile.write(data)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
/usr/bin/python3 "$tmp/kds.py" "$kdsroot" "$tmp/kds.port" &
kdspid=$!
for _ in $(seq 50); do [ -s "$tmp/kds.port" ] && break; sleep 0.1; done
kds=http://127.0.0.1:$(cat "$tmp/kds.port")
kcol=$tmp/kcol
expect 0 '"vmpl": 0' ev --tee snp --report "$V/trustee/test-report.bin" --collateral "$kcol" --kds "$kds"
[ -f "$kcol/snp/vcek/c38427a30d4c7af9d96f7a15b97269825a64cb76a2352ffd5d18115d89ad473f8e8c0bcd9a5d9286612bad4aadfb4426205a3b9e4fea82301135a170e477524e-7308000000000003.der" ] ||
  { echo "FAIL: KDS VCEK not cached"; fail=1; }
expect 3 'HTTP status 404' "$bin/coffer" collateral fetch --kds "$kds" --report "$V/go-sev-guest/attestation.bin" --collateral "$kcol"
# a KDS that serves a certificate AMD did not sign: nothing is stored
cp "$V/trustee/test-vcek-invalid-legacy.der" "$kdsroot/vcek.der"
expect 1 'not signed by any trusted ASK' "$bin/coffer" collateral fetch --kds "$kds" \
  --report "$V/trustee/test-report.bin" --collateral "$tmp/kcol2"
[ ! -d "$tmp/kcol2/snp/vcek" ] || [ -z "$(ls "$tmp/kcol2/snp/vcek")" ] || { echo "FAIL: stored a bad VCEK"; fail=1; }
kill "$kdspid" 2>/dev/null
wait "$kdspid" 2>/dev/null
# the cache answers without the KDS
expect 0 '"vmpl": 0' ev --tee snp --report "$V/trustee/test-report.bin" --collateral "$kcol" --kds "$kds"
expect 2 'needs --tee snp and --collateral' ev --tee snp --report "$V/trustee/test-report.bin" --kds "$kds"

# simulated SNP
sim=$tmp/sim
"$bin/coffer-sim" init --dir "$sim" || { echo "FAIL: coffer-sim init"; exit 1; }
root=$sim/snp/ark.pem
M=$(printf '42%.0s' $(seq 48))
rep() { "$bin/coffer-sim" snp-report --dir "$sim" --measurement "$M" --host-data aa "$@"; }
rep --report-data 0102 --evidence "$tmp/good.json" --out "$tmp/good.bin" --auxblob "$tmp/aux.bin" \
  --vcek-out "$tmp/vcek.der"
expect 0 '"simulated": true' ev --tee snp-sim --evidence "$tmp/good.json" --sim-root "$root" \
  --report-data 0102 --init-data aa --options <(echo "{\"measurements\":[\"$M\"],\"allowed_vmpl\":[0]}")
expect 1 'not signed by a trusted ARK' ev --tee snp --evidence "$tmp/good.json"
expect 1 'no simulated root' ev --tee snp-sim --evidence "$tmp/good.json"
expect 0 '"simulated": true' ev --tee snp-sim --report "$tmp/good.bin" --vcek "$tmp/vcek.der" \
  --cert-chain "$sim/snp/cert_chain.pem" --sim-root "$root"
[ "$(stat -c %s "$tmp/good.bin")" = 1184 ] || { echo "FAIL: report size"; fail=1; }
rep --policy 0xb0000 --evidence "$tmp/debug.json"
expect 1 'allows debugging' ev --tee snp-sim --evidence "$tmp/debug.json" --sim-root "$root"
rep --tcb 3,0,5,115 --evidence "$tmp/old.json"
expect 1 'rollback refused' ev --tee snp-sim --evidence "$tmp/old.json" --sim-root "$root" \
  --options <(echo '{"min_tcb":{"bootloader":3,"tee":0,"snp":8,"microcode":115}}')
rep --tcb 3,0,8,115 --vcek-tcb 3,0,9,115 --evidence "$tmp/tcb.json"
expect 1 'differs from the report' ev --tee snp-sim --evidence "$tmp/tcb.json" --sim-root "$root"
"$bin/coffer-sim" snp-report --dir "$sim" --measurement "$(printf '43%.0s' $(seq 48))" --evidence "$tmp/m.json"
expect 1 'measurement is not in the allowed' ev --tee snp-sim --evidence "$tmp/m.json" --sim-root "$root" \
  --options <(echo "{\"measurements\":[\"$M\"]}")
expect 1 'not in allowed_chip_ids' ev --tee snp-sim --evidence "$tmp/good.json" --sim-root "$root" \
  --options <(echo "{\"allowed_chip_ids\":[\"$(printf '00%.0s' $(seq 64))\"]}")
expect 1 'HOST_DATA does not match' ev --tee snp-sim --evidence "$tmp/good.json" --sim-root "$root" --init-data bb
rep --json-report --evidence "$tmp/upstream.json"
expect 0 '"report_version": 3' ev --tee snp-sim --evidence "$tmp/upstream.json" --sim-root "$root"
expect 2 'bad value' "$bin/coffer-sim" snp-report --dir "$sim" --version 4 --out "$tmp/x.bin"

echo "snp_cli: $n checks, $([ $fail = 0 ] && echo all passed || echo FAILURES)"
exit $fail
