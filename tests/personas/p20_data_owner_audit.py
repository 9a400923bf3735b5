#!/usr/bin/python3
"""P20 (data owner): list who received its key (the releases, with TEE type,
measurement, chip id and policy ids, and the refusals with the policy that
refused), nothing about other namespaces; export the audit trail and verify
its hash chain and the broker's signed checkpoints offline; then detect
tampering: a release record edited in the database by whoever runs the
broker, and an edited export."""
import json
import os
import sqlite3

import harness as h

V1 = "a1" * 48
V2 = "b2" * 48
PIN_V1 = """package policy
import rego.v1

default allow := false

allow if input.submods.cpu0["ear.veraison.annotated-evidence"].snp.measurement == "%s"
""" % V1


def test(T, work):
    sim = h.sim_init(os.path.join(work, "sim"))
    br, who = h.scoped_setup(work, sim=sim)
    kd = who["D"][1]
    rc, _, err = br.coffer("policy", "set", "--kind", "release", "--namespace", "data-d",
                           "--in", h.rego_file(br, "pin", PIN_V1), key=kd)
    T.check("setup: the data owner pins v1", rc == 0, err)
    v1 = h.SimTee(work, "v1", sim, "snp", ("--measurement", V1))
    v2 = h.SimTee(work, "v2", sim, "snp", ("--measurement", V2))
    T.check("v1 receives the key", v1.get(br, "kbs:///data-d/key/k")[0] == 0)
    T.check("v2 is refused", v2.get(br, "kbs:///data-d/key/k")[0] == 1)
    T.check("v1 receives the image key (someone else's release)",
            v1.get(br, "kbs:///img-a/key/k")[0] == 0)
    v1.stop()
    v2.stop()
    chip = h.snp_chip_id(sim, work)

    rc, out, err = br.coffer("audit", "list", "--namespace", "data-d", "--json", key=kd)
    T.check("the data owner lists its audit entries", rc == 0, err)
    entries = json.loads(out) if rc == 0 else []
    rel = [e for e in entries if e.get("kind") == "release"]
    ok = [e for e in rel if e["outcome"] == "allowed"]
    no = [e for e in rel if e["outcome"] != "allowed"]
    T.check("one release to v1, with TEE, measurement, chip id and policy ids",
            len(ok) == 1 and ok[0]["actor"]["measurement"] == V1 and
            ok[0]["actor"]["tee"].startswith("snp") and ok[0]["actor"]["chip_id"] == chip and
            "release:data-d" in ok[0]["actor"]["policy_ids"] and
            ok[0]["resource"] == "data-d/key/k", json.dumps(ok)[:600])
    T.check("one refusal to v2, naming the release policy",
            len(no) == 1 and no[0]["actor"]["measurement"] == V2 and
            "release" in no[0]["reason"], json.dumps(no)[:600])
    T.check("nothing about other namespaces", all(e.get("namespace") == "data-d"
                                                   for e in entries), entries)
    rc, out, err = br.coffer("audit", "list", "--namespace", "img-a", key=kd)
    T.check("another namespace's entries are refused to it", rc == 1 and "403" in err, err)

    jwks = os.path.join(work, "jwks.json")
    with open(jwks, "wb") as f:
        f.write(h.kc.Http(br.url).request("GET", "/kbs/v0/jwks").body)
    exp = os.path.join(work, "export.json")
    rc, _, err = br.coffer("audit", "export", "--out", exp, key=kd)
    T.check("the data owner exports the trail", rc == 0, err)
    doc = open(exp, "rb").read()
    T.check("the export does not show other namespaces' releases in clear",
            b"img-a/key/k" not in doc, doc[:300])
    rc, out, err = h.run([h.b("coffer"), "audit", "verify", "--in", exp, "--jwks", jwks])
    T.check("the chain and checkpoints verify offline (exit 0)", rc == 0, err + out.decode())

    # an edited export
    bad = json.loads(doc)
    edited = False
    for e in bad.get("entries", []):
        if isinstance(e.get("actor"), dict) and e["actor"].get("measurement") == V2:
            e["actor"]["measurement"] = V1
            edited = True
    tampered = os.path.join(work, "tampered-export.json")
    with open(tampered, "w") as f:
        json.dump(bad, f)
    rc, out, err = h.run([h.b("coffer"), "audit", "verify", "--in", tampered, "--jwks", jwks])
    T.check("an edited export is detected (exit 1)", edited and rc == 1, err)

    # the operator edits the stored release record
    br.stop()
    db = sqlite3.connect(os.path.join(br.data, "cofferd.db"))
    n = db.execute("UPDATE audit SET record = replace(record, ?, ?) WHERE action = 'release' "
                   "AND record LIKE ?", (V2, V1, "%" + V2 + "%")).rowcount
    db.commit()
    db.close()
    T.check("the stored refusal record was rewritten to look like v1", n == 1, n)
    br.start()
    exp2 = os.path.join(work, "export2.json")
    rc, _, err = br.coffer("audit", "export", "--out", exp2, key=kd)
    rc, out, err = h.run([h.b("coffer"), "audit", "verify", "--in", exp2, "--jwks", jwks])
    T.check("the edited database row is detected (exit 1, the seq named)",
            rc == 1 and "seq" in err, err)
    print("     verify: %s" % err.strip()[-300:])
    br.stop()


if __name__ == "__main__":
    h.main(test, "P20", "coffer-agent", "coffer-sim", "fake_tsm")
