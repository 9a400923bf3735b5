#!/usr/bin/env bash
# coffer evidence verify --tee tdx|tdx-sim|sgx, coffer collateral add and
# coffer-sim tdx-quote as processes: real vectors (COFFER_VECTORS/tdx, README
# values), collateral from a directory, and the simulated TDX refusals, each
# for its own reason (exit codes per CLI.md).
set -uo pipefail
bin=${COFFER_BIN_DIR:?}
V=${COFFER_VECTORS:-}/tdx
if [ -z "${COFFER_VECTORS:-}" ] || [ ! -f "$V/trustee/tdx_quote_6.dat" ]; then
  echo "SKIPPED: COFFER_VECTORS/tdx is absent"
  exit 77
fi
if [ ! -x "$bin/coffer" ] || [ ! -x "$bin/coffer-sim" ]; then
  echo "SKIPPED: coffer / coffer-sim not built"
  exit 77
fi
tmp=$(mktemp -d /tmp/tdx-cli-XXXXXX)
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
  if [ "$rc" != "$want" ] || { [ -n "$pat" ] && ! grep -q -- "$pat" "$tmp/out" "$tmp/err"; }; then
    echo "FAIL ($rc, wanted $want, '$pat'): $*"
    sed 's/^/  | /' "$tmp/err" | head -5
    fail=1
  fi
}

ev() { "$bin/coffer" evidence verify "$@"; }
opts() { printf '%s' "$1" >"$tmp/opts.json"; echo "$tmp/opts.json"; }

# real quotes: verified without collateral, TCB status unknown, exit 0
expect 0 21e8dead92d6c69d7cbba79816686c03a48485c7df0c11f6f04792d5e1d378f6b8c46615ba6946adccac6becffbb1e88 \
  ev --tee tdx --quote "$V/trustee/tdx_quote_6.dat"
expect 0 '"tcb_status": "unknown"' ev --tee tdx --quote "$V/trustee/tdx_quote_6.dat"
expect 0 dfba221b48a22af8511542ee796603f37382800840dcd978703909bf8e64d4c8a1e9de86e7c9638bfcba422f3886400a \
  ev --tee tdx --quote "$V/trustee/tdx_quote_5.dat"
expect 0 '"rtmr_2": "4969684dc87381fc' ev --tee tdx --quote "$V/go-tdx-guest/ccel/cos-113-tdx-quote.dat"
# a policy that requires a TCB status refuses when there is no collateral
expect 1 'no collateral' ev --tee tdx --quote "$V/trustee/tdx_quote_6.dat" \
  --options "$(opts '{"min_tcb_status":"OutOfDate"}')"
# debug TD refused by default
expect 1 debug ev --tee tdx --quote "$V/trustee/tdx_quote_4.dat"
expect 0 '"debug": true' ev --tee tdx --quote "$V/trustee/tdx_quote_4.dat" \
  --options "$(opts '{"allow_debug":true}')"
# negative vectors
expect 2 'quote format not supported' ev --tee tdx --quote "$V/negative/SPR_E4.version_byte0_eq3.dat"
expect 2 'size of certification data' ev --tee tdx --quote "$V/negative/SPR_E4.sigdata_size_0x278_eq0x10.dat"
expect 1 'chain invalid' ev --tee tdx --quote "$V/negative/SPR_E4.certchain_0x1343_eq0x32.dat"
expect 1 'not a trusted root' ev --tee tdx --quote "$V/negative/SPR_E4.rootcert_0x1329_eq0x32.dat"
expect 1 'depth 1' ev --tee tdx --quote "$V/negative/SPR_E4.intermediate_0xF5F_eq0x32.dat"
expect 1 'depth 0' ev --tee tdx --quote "$V/negative/SPR_E4.pckcert_0xB77_eq0x32.dat"
expect 1 'quote signature' ev --tee tdx --quote "$V/negative/SPR_E4.header_0x1E_eq0x32.dat"
expect 1 'quote signature' ev --tee tdx --quote "$V/negative/SPR_E4.body_0x3C_eq0x32.dat"

# collateral: signed JSON needs its signing chain first
C=$tmp/coll
expect 1 'signature does not verify' "$bin/coffer" collateral add "$V/trustee/tcbInfo.json" --collateral "$C"
expect 0 'stored' "$bin/coffer" collateral add "$V/go-tdx-guest/tcbinfo_issuer_chain.pem" --collateral "$C"
expect 0 'stored' "$bin/coffer" collateral add "$V/trustee/tcbInfo.json" --collateral "$C"
expect 0 'stored' "$bin/coffer" collateral add "$V/trustee/enclaveIdentity.json" --collateral "$C"
expect 0 'stored' "$bin/coffer" collateral add "$V/go-tdx-guest/rootcrl.der" --collateral "$C"
expect 0 '"tcb_status": "OutOfDate"' ev --tee tdx --quote "$V/trustee/tdx_quote_6.dat" \
  --collateral "$C" --at 2025-11-01T00:00:00Z
expect 1 'does not meet the minimum UpToDate' ev --tee tdx --quote "$V/trustee/tdx_quote_6.dat" \
  --collateral "$C" --at 2025-11-01T00:00:00Z --options "$(opts '{"min_tcb_status":"UpToDate"}')"
expect 0 '"collateral_expiration_status": "1"' ev --tee tdx --quote "$V/trustee/tdx_quote_6.dat" \
  --collateral "$C"

# SGX v3 (bonus)
expect 0 8f173e4613ff05c52aaf04162d234edae8c9977eae47eb2299ae16a553011c68 \
  ev --tee sgx --quote "${COFFER_VECTORS}/sgx/trustee/occlum_quote.dat" --options "$(opts '{"allow_debug":true}')"

# simulated TDX
S=$tmp/sim
expect 0 '' "$bin/coffer-sim" init --dir "$S"
RD=$(printf 'ab%.0s' $(seq 48))
MRTD=$(printf '11%.0s' $(seq 48))
CFG=$(printf '22%.0s' $(seq 48))
sim() { "$bin/coffer-sim" tdx-quote --dir "$S" --report-data "$RD" --mrtd "$MRTD" --mr-config-id "$CFG" "$@"; }
simev() { ev --quote "$tmp/q.dat" --sim-root "$S/tdx/root.pem" --collateral "$S/tdx/collateral" "$@"; }
expect 0 '' sim --out "$tmp/q.dat"
expect 0 '"tcb_status": "UpToDate"' simev --tee tdx --report-data "$RD" --init-data "$CFG"
expect 0 '"root": "sim"' simev --tee tdx-sim --options "$(opts "{\"mr_td\":[\"$MRTD\"],\"min_tcb_status\":\"UpToDate\"}")"
# not trusted without the simulated root
expect 1 'not a trusted root' ev --tee tdx --quote "$tmp/q.dat"
expect 1 'no simulated root' ev --tee tdx-sim --quote "$tmp/q.dat"
# the refusals, each for its reason
expect 1 'REPORT_DATA' simev --tee tdx --report-data "00$RD"
expect 1 'MR_CONFIG_ID' simev --tee tdx --init-data "$(printf '33%.0s' $(seq 48))"
expect 1 'MRTD' simev --tee tdx --options "$(opts '{"mr_td":["'"$(printf '12%.0s' $(seq 48))"'"]}')"
expect 0 '' sim --debug --out "$tmp/q.dat"
expect 1 'debug' simev --tee tdx
expect 0 '' sim --tee-tcb-svn 010005 --out "$tmp/q.dat"
expect 0 '"tcb_status": "OutOfDate"' simev --tee tdx
expect 1 'OutOfDate does not meet the minimum UpToDate' simev --tee tdx \
  --options "$(opts '{"min_tcb_status":"UpToDate"}')"
expect 0 '' sim --v5 --evidence --out "$tmp/ev.json"
expect 0 '"version": "0500"' ev --tee tdx --evidence "$tmp/ev.json" --sim-root "$S/tdx/root.pem"
expect 0 'tdx-quote' "$bin/coffer-sim" tdx-quote --help
expect 2 'hex bytes' "$bin/coffer-sim" tdx-quote --report-data zz --dir "$S"

echo "tdx_cli: $n checks, $([ $fail = 0 ] && echo all passed || echo FAILURES)"
exit $fail
