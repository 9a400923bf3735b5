#!/usr/bin/env bash
# `coffer audit verify` through the real binary, on exports written by an
# independent implementation of docs/audit.md in Python (JCS by json.dumps,
# SHA-256 by hashlib, ES256 by jwcrypto): a clean chain, a scoped view with
# stubs, and every kind of tampering, each with its exit code (CLI.md: 0 valid,
# 1 verification failed, 2 usage or malformed input) and the seq it names.
set -uo pipefail

bin="${COFFER_BIN_DIR:-}/coffer"
py="${PYTHON:-/usr/bin/python3}"
if [ ! -x "$bin" ]; then
  echo "SKIPPED: $bin not built" >&2
  exit 77
fi
if ! "$py" -c 'import jwcrypto' 2>/dev/null; then
  echo "SKIPPED: $py has no jwcrypto" >&2
  exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

"$py" - "$tmp" <<'EOF' || { echo "FAIL: generator failed" >&2; exit 1; }
import copy, hashlib, json, os, sys
from jwcrypto import jwk, jws

out = sys.argv[1]
ZERO = "0" * 64

def jcs(v):
    # RFC 8785 for what entries hold (ASCII keys, integers, strings, null)
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

def digest(e):
    return hashlib.sha256(jcs({k: v for k, v in e.items() if k != "hash"})).digest()

def link(prev_hex, d):
    return hashlib.sha256(bytes.fromhex(prev_hex) + d).hexdigest()

def rehash(entries, start):
    for i in range(start, len(entries)):
        e = entries[i]
        if i > 0:
            e["prev"] = entries[i - 1]["hash"]
        e["hash"] = link(e["prev"], digest(e))

def checkpoint(key, seq, h):
    payload = jcs({"seq": seq, "hash": h, "time": "2026-11-27T11:00:00Z",
                   "type": "coffer-audit-checkpoint"})
    s = jws.JWS(payload)
    s.add_signature(key, alg="ES256", protected=json.dumps({"alg": "ES256"}))
    return s.serialize(compact=True)

key = jwk.JWK.generate(kty="EC", crv="P-256")
other = jwk.JWK.generate(kty="EC", crv="P-256")
with open(os.path.join(out, "pub.jwk"), "w") as f:
    f.write(key.export_public())
with open(os.path.join(out, "other.jwk"), "w") as f:
    f.write(other.export_public())
with open(os.path.join(out, "jwks.json"), "w") as f:
    json.dump({"keys": [json.loads(other.export_public()), json.loads(key.export_public())]}, f)

entries = []
for i in range(1, 51):
    t = "2026-11-27T10:00:%02dZ" % (i % 60)
    if i % 3 == 0:
        e = {"kind": "admin", "action": "resource.put", "namespace": "alpha",
             "actor": "p-alice", "resource": "kbs:///alpha/key/k1", "outcome": "ok",
             "reason": ""}
    elif i % 3 == 1:
        e = {"kind": "release", "action": "release", "namespace": "beta",
             "actor": {"tee": "snp", "measurement": "aa%02d" % i, "chip_id": "cc",
                       "init_data": None, "policy_ids": ["default", "beta-rel"]},
             "resource": "kbs:///beta/key/k2", "outcome": "allowed" if i % 2 else "denied",
             "reason": "r\u00e9lease policy"}
    else:
        e = {"kind": "admin", "action": "policy.set", "namespace": None, "actor": "p-wp",
             "resource": None, "outcome": "ok", "reason": "attestation"}
    e = dict(seq=i, time=t, **e)
    e["prev"] = entries[-1]["hash"] if entries else ZERO
    e["salt"] = os.urandom(16).hex()
    e["hash"] = link(e["prev"], digest(e))
    entries.append(e)

def cps_for(es, k=key, every=10):
    return [checkpoint(k, e["seq"], e["hash"]) for e in es if e["seq"] % every == 0]

def write(name, es, cps, **extra):
    doc = dict(version=1, entries=es, checkpoints=cps, **extra)
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)

good_cps = cps_for(entries)
write("good", entries, good_cps)
write("tail", entries + [], good_cps[:4])               # 41..50 unanchored
with open(os.path.join(out, "last_cp.txt"), "w") as f:
    f.write(good_cps[-1] + "\n")

es = copy.deepcopy(entries); es[16]["outcome"] = "denied"
write("edit", es, good_cps)                             # seq 17 edited
es = copy.deepcopy(entries); es[21]["actor"]["measurement"] = "ffff"
write("edit_claim", es, good_cps)                       # seq 22
es = copy.deepcopy(entries); es[16]["reason"] = "x"; rehash(es, 16)
write("rewrite", es, good_cps)                          # checkpoint at 20
es = copy.deepcopy(entries); es[16]["reason"] = "x"; es[16]["hash"] = link(es[16]["prev"], digest(es[16]))
write("edit_rehash_one", es, good_cps)                  # seq 18 prev mismatch
es = copy.deepcopy(entries); del es[22]
write("drop", es, good_cps)                             # seq 23 missing
es = copy.deepcopy(entries); es[30], es[31] = es[31], es[30]
write("swap", es, good_cps)                             # seq 31
es = copy.deepcopy(entries)
forged = dict(es[25]); forged["reason"] = "forged"; forged["salt"] = os.urandom(16).hex()
forged["hash"] = link(forged["prev"], digest(forged))
es.insert(25, forged)
write("insert", es, good_cps)                           # seq 27 duplicated
write("forged_cp", entries, good_cps + [checkpoint(other, 45, entries[44]["hash"])])
write("truncate", entries[:45], good_cps)               # cp at 50, ends at 45
write("truncate_clean", entries[:45], good_cps[:4])     # consistent prefix
write("head", entries[12:], good_cps[1:])               # starts at 13
write("range", entries[10:], good_cps)                  # 11..50, checkpoint at 10

# the reader "alpha": its entries in full, the rest as stubs
def stub(e):
    return {"seq": e["seq"], "digest": digest(e).hex(), "hash": e["hash"]}
view = [copy.deepcopy(e) if e["namespace"] == "alpha" else stub(e) for e in entries]
write("scoped", view, good_cps, scope={"namespaces": ["alpha"]})
v = copy.deepcopy(view); v[3]["hash"] = "0" * 64
write("scoped_stub_edit", v, good_cps)                  # seq 4
v = copy.deepcopy(view); v[5]["reason"] = "hidden"
write("scoped_edit", v, good_cps)                       # seq 6

with open(os.path.join(out, "notjson.json"), "w") as f:
    f.write("{not json")
write("version2", [], [])
with open(os.path.join(out, "version2.json"), "w") as f:
    f.write('{"version":2,"entries":[],"checkpoints":[]}')
EOF

# expect RC ARGS...: run `coffer audit ARGS`
expect() {
  local want=$1; shift
  "$bin" audit "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ "$rc" = "$want" ] || bad "audit $* -> exit $rc, want $want ($(cat "$tmp/err"))"
}
has_out() { grep -q -- "$1" "$tmp/out" || bad "stdout lacks '$1': $(cat "$tmp/out")"; }
has_err() { grep -q -- "$1" "$tmp/err" || bad "stderr lacks '$1': $(cat "$tmp/err")"; }

k=(--key "$tmp/pub.jwk")

# a clean chain
expect 0 verify --in "$tmp/good.json" "${k[@]}"
has_out "50 entries (50 full, 0 stubs)"
has_out "5 checkpoints verified"
has_out "anchored up to seq 50"
expect 0 verify --in "$tmp/good.json" --jwks "$tmp/jwks.json"
has_out "anchored up to seq 50"
expect 0 verify "${k[@]}" <"$tmp/good.json" # stdin
"$bin" audit verify "${k[@]}" <"$tmp/good.json" >/dev/null 2>&1 || bad "stdin input"
expect 0 verify --in "$tmp/good.json" "${k[@]}" --json
"$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["result"]=="ok" and r["entries"]==50 and r["anchored_seq"]==50 and r["unanchored_tail"] is False, r' "$tmp/out" ||
  bad "--json report: $(cat "$tmp/out")"

# entries after the last checkpoint
expect 0 verify --in "$tmp/tail.json" "${k[@]}"
has_out "anchored up to seq 40"
has_out "entries 41..50 come after the last checkpoint"

# no key: the chain is checked, nothing anchored, a warning says so
expect 0 verify --in "$tmp/good.json"
has_err "WARNING: no broker key"
has_out "anchored up to seq 0"
expect 1 verify --in "$tmp/edit.json"

# tampering: exit 1, the seq and the cause on stderr
tamper() {
  local file=$1 seq=$2 why=$3
  expect 1 verify --in "$tmp/$file.json" "${k[@]}"
  has_err "TAMPERED"
  has_err "seq $seq"
  has_err "$why"
  [ -s "$tmp/out" ] && bad "$file: wrote a summary on failure"
}
tamper edit 17 "edited"
tamper edit_claim 22 "edited"
tamper rewrite 20 "rewritten"
tamper edit_rehash_one 18 "not the hash of entry 17"
tamper drop 23 "missing"
tamper swap 31 "reordered"
tamper insert 27 "inserted"
tamper forged_cp 45 "forged"
tamper truncate 46 "truncated"
tamper head 1 "dropped"
tamper scoped_stub_edit 4 "stub"
tamper scoped_edit 6 "edited"
expect 1 verify --in "$tmp/forged_cp.json" "${k[@]}" --json
"$py" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["result"]=="tampered" and r["bad_seq"]==45, r' "$tmp/out" ||
  bad "--json tampered report: $(cat "$tmp/out")"
# only the other key: every checkpoint is forged
expect 1 verify --in "$tmp/good.json" --key "$tmp/other.jwk"
has_err "forged"

# a consistent prefix verifies... unless a kept checkpoint says otherwise
expect 0 verify --in "$tmp/truncate_clean.json" "${k[@]}"
has_out "anchored up to seq 40"
expect 1 verify --in "$tmp/truncate_clean.json" "${k[@]}" --checkpoint "@$tmp/last_cp.txt"
has_err "earlier checkpoint"
has_err "seq 46"
expect 1 verify --in "$tmp/truncate_clean.json" "${k[@]}" --checkpoint "$(cat "$tmp/last_cp.txt")"
expect 0 verify --in "$tmp/good.json" "${k[@]}" --checkpoint "@$tmp/last_cp.txt"

# a partial head when the reader accepts it
expect 0 verify --in "$tmp/head.json" "${k[@]}" --allow-partial
has_out "seq 13..50"
has_out "nothing ties its first entry"
# a range export that continues what the checkpoint before it signed
expect 0 verify --in "$tmp/range.json" "${k[@]}" --allow-partial
has_out "seq 11..50"
has_out "its first entry continues the chain a checkpoint signed"
expect 1 verify --in "$tmp/range.json" "${k[@]}"
has_err "entries 1..10 were dropped"

# the reader's scoped view
expect 0 verify --in "$tmp/scoped.json" "${k[@]}"
has_out "50 entries (16 full, 34 stubs)"
has_out "anchored up to seq 50"

# malformed input and usage: exit 2
expect 2 verify --in "$tmp/notjson.json" "${k[@]}"
has_err "audit export"
expect 2 verify --in "$tmp/version2.json" "${k[@]}"
has_err "version 2"
expect 2 verify --in "$tmp/missing.json" "${k[@]}"
expect 2 verify --in "$tmp/good.json" --key "$tmp/missing.jwk"
expect 2 verify --in "$tmp/good.json" --jwks "$tmp/good.json"
expect 2 verify --in "$tmp/good.json" --bogus
expect 2 verify --in
expect 2
expect 2 list
has_err "no broker"  # list and export talk to a broker
expect 2 export --out x
has_err "no broker"  # list and export talk to a broker
expect 0 --help
has_out "usage: coffer audit verify"
expect 0 verify --help
"$bin" --help 2>&1 | grep -q "audit" || bad "coffer --help does not list audit"

if [ $fail = 0 ]; then
  echo "audit_cli: all checks passed"
fi
exit $fail
