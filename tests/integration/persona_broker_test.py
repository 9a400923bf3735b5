#!/usr/bin/python3
"""Issue 8, broker and CLI side: principals, persona scoping, sealed uploads,
versioned secrets and the audit trail, against a real cofferd (not --dev)
through the real `coffer` CLI. Every refusal is checked together with an
unchanged store. PERSONAS.md rules 1, 2, 5, 7; P14-P18, P20, P21."""
import base64
import json
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from jwcrypto import jwe, jwk  # noqa: E402

import kbs_client as kc  # noqa: E402
from cofferd_harness import Broker, Tests, bin_dir, have_binaries, workdir  # noqa: E402

T = Tests()
PAGE = 5  # admin.audit_page_max: the audit answers come in pages of 5


def coffer(*args, stdin=None):
    p = subprocess.run([os.path.join(bin_dir(), "coffer")] + list(args), input=stdin,
                       capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def write(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)
    return path


class Who:
    """A principal: its private JWK file (for --key) and public JWK file."""

    def __init__(self, wd, name, key):
        self.key = key
        self.priv = write(os.path.join(wd, name + ".jwk"), key.export_private())
        self.pub = write(os.path.join(wd, name + ".pub.jwk"), key.export_public(), 0o644)
        self.id = key.thumbprint()


def admin(b, who, method, path, body=b"", ctype="application/octet-stream"):
    h = kc.Http(b.url)
    tok = kc.admin_jwt(who.key, method, path.split("?")[0], body,
                       alg="EdDSA" if who.key.get("kty") == "OKP" else "ES256")
    try:
        return h.request(method, path, body or None,
                         {"Authorization": "Bearer " + tok, "Content-Type": ctype})
    finally:
        h.close()


def listing(b, wp):
    """The store's resource metadata as the workload provider sees it."""
    r = admin(b, wp, "GET", "/kbs/v0/admin/resources")
    return json.dumps(r.json(), sort_keys=True) if r.status == 200 else "error %d" % r.status


def tee_get(b, path):
    c = kc.KbsClient(b.url)
    c.handshake()
    r = c.get_resource(path)
    return r.status, (c.decrypt(r.body) if r.status == 200 else r.body)


def main():
    if not have_binaries():
        return 77
    wd = workdir()
    wp = Who(wd, "wp", jwk.JWK.generate(kty="EC", crv="P-256"))
    ipa = Who(wd, "ipa", jwk.JWK.generate(kty="OKP", crv="Ed25519"))
    ipb = Who(wd, "ipb", jwk.JWK.generate(kty="EC", crv="P-256"))
    do = Who(wd, "do", jwk.JWK.generate(kty="EC", crv="P-256"))
    late = Who(wd, "late", jwk.JWK.generate(kty="EC", crv="P-256"))
    b = Broker(wd, "pb", {"attestation": {"allow_sample": True,
                                          "collateral_dir": os.path.join(wd, "collateral")},
                          "policy": {"resource": "allow_all"},
                          "admin": {"bootstrap_key": wp.pub, "bootstrap_namespaces": ["wp"],
                                    "audit_checkpoint_every": 3,
                                    "audit_page_max": PAGE}}).start()
    try:
        run(b, wd, wp, ipa, ipb, do, late)
    finally:
        b.stop()
    return T.finish()


def run(b, wd, wp, ipa, ipb, do, late):
    def as_(who):
        return ["--broker", b.url, "--key", who.priv]  # the port changes on restart

    # ---- principals (rule 2) ----
    for who, persona, ns in ((ipa, "image-provider", "img-a"), (ipb, "image-provider", "img-b"),
                             (do, "data-owner", "data")):
        rc, out, err = coffer("principal", "add", "--persona", persona, "--pubkey", who.pub,
                              "--namespace", ns, *as_(wp))
        T.check("principal add %s prints its id" % persona,
                rc == 0 and out.decode().strip() == who.id, out + err)
    rc, out, err = coffer("principal", "add", "--persona", "data-owner", "--pubkey", do.pub,
                          "--namespace", "other", *as_(wp))
    T.check("enrolling the same key twice -> 1", rc == 1 and b"409" in err, err)
    before = listing(b, wp)
    for ns in ("img-a", "wp", "data"):
        rc, out, err = coffer("principal", "add", "--persona", "data-owner", "--pubkey",
                              late.pub, "--namespace", "fresh", "--namespace", ns, *as_(wp))
        T.check("handing out owned namespace %s -> 1 (409)" % ns,
                rc == 1 and b"409" in err, err)
    rc, out, err = coffer("principal", "list", "--json", *as_(wp))
    plist = json.loads(out) if rc == 0 else []
    T.check("principal list: the failed hand-outs enrolled nobody",
            rc == 0 and late.id not in [p["id"] for p in plist] and len(plist) == 4, out + err)
    rc, out, err = coffer("principal", "list", *as_(wp))
    lines = out.decode().splitlines()
    T.check("principal list text: id, persona, namespaces, state",
            rc == 0 and "%s\tdata-owner\tdata\tactive" % do.id in lines and
            "%s\tworkload-provider\twp\tactive" % wp.id in lines, out + err)
    priv = json.loads(do.key.export_private())
    rc, out, err = coffer("principal", "add", "--persona", "data-owner", "--pubkey", do.priv,
                          "--namespace", "x", *as_(wp))
    T.check("principal add sends only the public key (a private file still enrols nothing "
            "new: same id -> 1)", rc == 1 and priv["d"].encode() not in err, err)
    r = admin(b, wp, "POST", "/kbs/v0/admin/principals",
              json.dumps({"persona": "data-owner", "public_key": json.loads(
                  late.key.export_private()), "namespaces": ["n1"]}).encode(), "application/json")
    T.status("enrolment with a private key in public_key -> 400", r, 400)
    rsa = jwk.JWK.generate(kty="RSA", size=2048)
    r = admin(b, wp, "POST", "/kbs/v0/admin/principals",
              json.dumps({"persona": "data-owner", "public_key": json.loads(
                  rsa.export_public()), "namespaces": ["n2"]}).encode(), "application/json")
    T.status("enrolment with an RSA key -> 400", r, 400)
    r = admin(b, wp, "POST", "/kbs/v0/admin/principals",
              json.dumps({"persona": "orchestration-operator", "public_key": json.loads(
                  late.key.export_public()), "namespaces": []}).encode(), "application/json")
    T.status("enrolment of a persona that has no principal -> 400", r, 400)
    T.check("store unchanged by refused enrolments", listing(b, wp) == before)

    # ---- P15: an image provider sets no global policy and enrols nobody ----
    rego = write(os.path.join(wd, "allow.rego"), "package policy\ndefault allow := true\n")
    for kind in ("attestation", "resource"):
        rc, out, err = coffer("policy", "set", "--kind", kind, "--in", rego, *as_(ipa))
        T.check("P15 image provider sets the %s policy -> 1" % kind, rc == 1 and b"403" in err,
                err)
    rc, out, err = coffer("refval", "set", "--name", "m", "--value", "x", *as_(ipa))
    T.check("P15 image provider sets reference values -> 1", rc == 1, err)
    rc, out, err = coffer("principal", "add", "--persona", "data-owner", "--pubkey", late.pub,
                          "--namespace", "n3", *as_(ipa))
    T.check("P15 image provider enrols a principal -> 1", rc == 1 and b"403" in err, err)
    rc, out, err = coffer("principal", "list", *as_(do))
    T.check("a data owner lists principals -> 1", rc == 1, err)

    # ---- rule 5: sealed uploads through the real CLI ----
    v1 = b"data-owner-key-\x00\x01-v1-8842"
    rc, out, err = coffer("resource", "put", "kbs:///data/key/k1", "--in",
                          write(os.path.join(wd, "v1"), v1), *as_(do))
    T.check("sealed put prints the versioned URI", rc == 0 and
            out.decode().strip() == "kbs:///data/key/k1.v1", out + err)
    rc, out, err = coffer("policy", "set", "--kind", "release", "--namespace", "data", "--in",
                          rego, *as_(do))
    T.check("the data owner sets its release policy", rc == 0, err)
    st, val = tee_get(b, "data/key/k1")
    T.check("P22 an attested TEE gets the value that was sealed", st == 200 and val == v1,
            str(st))
    before = listing(b, wp)
    r = admin(b, do, "POST", "/kbs/v0/resource/data/key/plain", b"plaintext-secret")
    T.status("plaintext upload refused without --dev -> 415", r, 415, "UnsupportedMediaType")
    T.check("415 says how to seal", b"upload key" in r.body, r.body)
    other = jwk.JWK.generate(kty="EC", crv="P-256")
    e = jwe.JWE(b"sealed-to-someone-else", json.dumps(
        {"alg": "ECDH-ES+A256KW", "enc": "A256GCM"}))
    e.add_recipient(other)
    r = admin(b, do, "POST", "/kbs/v0/resource/data/key/plain",
              e.serialize(compact=True).encode(), "application/jose")
    T.status("a JWE to another key -> 400", r, 400)
    r = admin(b, do, "POST", "/kbs/v0/resource/data/key/plain", b"not a jwe",
              "application/jose+json")
    T.status("a malformed JWE -> 400", r, 400)
    T.check("store unchanged by refused uploads", listing(b, wp) == before)
    jwks = json.loads(kc.Http(b.url).request("GET", "/kbs/v0/jwks").body)
    enc = [k for k in jwks["keys"] if k.get("use") == "enc"]
    T.check("the JWKS publishes one upload key (use enc, kid, ECDH-ES+A256KW, no d)",
            len(enc) == 1 and enc[0].get("kid") and enc[0].get("alg") == "ECDH-ES+A256KW" and
            "d" not in enc[0], json.dumps(jwks))
    up = os.path.join(b.data, "upload.jwk")
    T.check("upload key file is 0600 in the data dir",
            os.path.exists(up) and (os.stat(up).st_mode & 0o777) == 0o600)
    pinned = write(os.path.join(wd, "pinned.jwk"), json.dumps(enc[0]) if enc else "{}", 0o644)
    v2 = b"rotated-value-v2-\xfe"
    rc, out, err = coffer("resource", "put", "kbs:///data/key/k1", "--upload-key", pinned,
                          "--in", write(os.path.join(wd, "v2"), v2), *as_(do))
    T.check("put with a pinned --upload-key (rotation) -> .v2",
            rc == 0 and out.decode().strip() == "kbs:///data/key/k1.v2", out + err)
    wrong = write(os.path.join(wd, "wrong.jwk"), other.export_public(), 0o644)
    before = listing(b, wp)
    rc, out, err = coffer("resource", "put", "kbs:///data/key/k1", "--upload-key", wrong,
                          "--in", os.path.join(wd, "v2"), *as_(do))
    T.check("a wrongly pinned upload key is refused by the broker (exit 2)", rc == 2, err)
    T.check("store unchanged", listing(b, wp) == before)

    # ---- versions: latest under the name, older ones until deleted ----
    T.check("TEE: the name is the latest version", tee_get(b, "data/key/k1") == (200, v2))
    T.check("TEE: .v1 still readable during a rollout", tee_get(b, "data/key/k1.v1") == (200, v1))
    rc, out, err = coffer("resource", "list", "--namespace", "data", *as_(do))
    T.check("resource list shows the versions, no value",
            rc == 0 and out.decode().startswith("kbs:///data/key/k1\t%d\t" % len(v2)) and
            out.decode().rstrip().endswith("\tv1,v2") and v1 not in out and v2 not in out,
            out + err)
    r = admin(b, do, "POST", "/kbs/v0/resource/data/key/k1.v7", b"x")
    T.status("putting a version name directly -> 400", r, 400)
    rc, out, err = coffer("resource", "delete", "kbs:///data/key/k1.v2", *as_(do))
    T.check("deleting the latest version is refused (409 -> 1)", rc == 1 and b"409" in err, err)
    rc, out, err = coffer("resource", "delete", "kbs:///data/key/k1.v1", *as_(do))
    T.check("deleting an old version", rc == 0, err)
    T.check("TEE: a deleted version is gone", tee_get(b, "data/key/k1.v1")[0] == 404)
    T.check("TEE: the latest still served", tee_get(b, "data/key/k1") == (200, v2))

    # ---- P14 / P16 / P18: writes outside one's own namespaces ----
    rc, out, err = coffer("resource", "put", "kbs:///img-b/key/i", "--in",
                          os.path.join(wd, "v1"), *as_(ipb))
    T.check("image provider B writes its own namespace", rc == 0, err)
    before = listing(b, wp)
    for who, name in ((ipa, "P14 image provider A"), (do, "P16 data owner"),
                      (wp, "P18 workload provider")):
        tgt = "img-b" if who is not ipb else "data"
        rc, out, err = coffer("resource", "put", "kbs:///%s/key/i" % tgt, "--in",
                              os.path.join(wd, "v2"), *as_(who))
        T.check("%s overwrites %s -> 1 (403)" % (name, tgt), rc == 1 and b"403" in err, err)
        rc, out, err = coffer("resource", "delete", "kbs:///%s/key/i" % tgt, *as_(who))
        T.check("%s deletes in %s -> 1" % (name, tgt), rc == 1 and b"403" in err, err)
        rc, out, err = coffer("policy", "set", "--kind", "release", "--namespace", tgt, "--in",
                              rego, *as_(who))
        T.check("%s sets %s's release policy -> 1" % (name, tgt), rc == 1 and b"403" in err,
                err)
    for ns in ("data", "nobody-owns-this"):
        rc, out, err = coffer("resource", "put", "kbs:///%s/key/take" % ns, "--in",
                              os.path.join(wd, "v2"), *as_(wp))
        T.check("P18 workload provider writes namespace %s it does not own -> 1" % ns,
                rc == 1, err)
    T.check("store unchanged by every refused write", listing(b, wp) == before)
    rc, out, err = coffer("resource", "list", *as_(ipa))
    T.check("image provider A lists only its own namespaces (none yet)",
            rc == 0 and out == b"", out + err)

    # ---- P17: no endpoint returns a secret value ----
    leaked = []
    for who in (wp, do):
        for path in ("/kbs/v0/admin/resources", "/kbs/v0/admin/principals",
                     "/kbs/v0/admin/audit", "/kbs/v0/admin/audit/export",
                     "/kbs/v0/release-policy/data", "/kbs/v0/resource-policy"):
            r = admin(b, who, "GET", path)
            if v1 in r.body or v2 in r.body:
                leaked.append(path)
    r = admin(b, wp, "GET", "/kbs/v0/resource/data/key/k1")
    T.check("P17 no admin endpoint returns a value; the resource GET wants attestation",
            not leaked and r.status == 401, "%s %d" % (leaked, r.status))

    # ---- orchestration operator: no principal ----
    h = kc.Http(b.url)
    T.status("orchestration: /healthz", h.request("GET", "/healthz"), 200)
    T.status("orchestration: /metrics", h.request("GET", "/metrics"), 200)
    for m, p in (("GET", "/kbs/v0/admin/principals"), ("POST", "/kbs/v0/admin/principals"),
                 ("GET", "/kbs/v0/admin/audit"), ("GET", "/kbs/v0/admin/audit/export"),
                 ("POST", "/kbs/v0/admin/principals/%s/disable" % do.id)):
        T.status("orchestration: %s %s without a token -> 401" % (m, p),
                 h.request(m, p, b"{}" if m == "POST" else None), 401)
    r = admin(b, late, "GET", "/kbs/v0/admin/audit")
    T.status("a key that was never enrolled -> 401", r, 401)
    body = b"v"
    tok = kc.admin_jwt(ipa.key, "POST", "/kbs/v0/resource/data/key/r", body, alg="EdDSA")
    hd = {"Authorization": "Bearer " + tok, "Content-Type": "application/octet-stream"}
    h = kc.Http(b.url)
    T.status("a refused write -> 403", h.request("POST", "/kbs/v0/resource/data/key/r", body,
                                                 hd), 403)
    T.status("its replay -> 401 (the refusal spent the token)",
             h.request("POST", "/kbs/v0/resource/data/key/r", body, hd), 401)
    h.close()
    h.close()

    # ---- infrastructure operator: collateral uploads, no principal ----
    col = os.path.join(wd, "collateral")

    def cached():
        return sorted(os.path.join(dp, f) for dp, _, fs in os.walk(col) for f in fs)

    junk = write(os.path.join(wd, "junk.pem"), b"-----BEGIN CERTIFICATE-----\nAAAA\n", 0o644)
    rc, out, err = coffer("collateral", "add", junk, "--broker", b.url)
    T.check("collateral upload of garbage -> 2, nothing cached", rc == 2 and cached() == [],
            err)
    r = kc.Http(b.url).request("GET", "/kbs/v0/collateral")
    T.status("collateral: GET -> 405", r, 405)
    vec = os.environ.get("COFFER_VECTORS")
    if vec and os.path.isdir(os.path.join(vec, "snp", "trustee")):
        bad = os.path.join(vec, "snp", "trustee", "test-vcek-invalid-new.der")
        good = os.path.join(vec, "snp", "trustee", "test-vcek.pem")
        rc, out, err = coffer("collateral", "add", bad, "--broker", b.url)
        T.check("collateral: a VCEK that does not chain to AMD -> 1, nothing cached",
                rc == 1 and cached() == [], err)
        rc, out, err = coffer("collateral", "add", good, "--broker", b.url)
        T.check("collateral: a genuine VCEK is verified and cached by the broker",
                rc == 0 and any("/snp" in f for f in cached()), err + str(cached()).encode())
    else:
        print("note: COFFER_VECTORS absent: genuine/foreign VCEK uploads not exercised")

    # ---- disabling freezes the namespaces ----
    rc, out, err = coffer("principal", "disable", wp.id, *as_(wp))
    T.check("the workload provider cannot disable itself (409 -> 1)", rc == 1, err)
    rc, out, err = coffer("principal", "disable", ipb.id, *as_(ipa))
    T.check("an image provider cannot disable another -> 1", rc == 1, err)
    rc, out, err = coffer("principal", "disable", ipb.id, *as_(wp))
    T.check("principal disable", rc == 0, err)
    before = listing(b, wp)
    rc, out, err = coffer("resource", "put", "kbs:///img-b/key/i", "--in",
                          os.path.join(wd, "v2"), *as_(ipb))
    T.check("a disabled principal writes nothing -> 1", rc == 1 and b"403" in err, err)
    rc, out, err = coffer("resource", "put", "kbs:///img-b/key/i", "--in",
                          os.path.join(wd, "v2"), *as_(wp))
    T.check("its namespace is frozen, not handed to the workload provider -> 1", rc == 1, err)
    rc, out, err = coffer("principal", "add", "--persona", "image-provider", "--pubkey",
                          late.pub, "--namespace", "img-b", *as_(wp))
    T.check("a frozen namespace cannot be handed out again -> 1 (409)",
            rc == 1 and b"409" in err, err)
    T.check("store unchanged while frozen", listing(b, wp) == before)
    T.check("TEE: the frozen namespace's secret is still released",
            tee_get(b, "img-b/key/i")[0] in (200, 403))
    rc, out, err = coffer("principal", "list", *as_(wp))
    T.check("principal list shows it disabled",
            "%s\timage-provider\timg-b\tdisabled" % ipb.id in out.decode(), out + err)

    # ---- rule 7: the audit trail ----
    rc, out, err = coffer("audit", "list", *as_(do))
    rows = [ln.split("\t") for ln in out.decode().splitlines()]
    T.check("audit list (data owner): only entries about its namespace",
            rc == 0 and rows and all(r[4] == "data" for r in rows), out + err)
    T.check("audit list: its puts, rotation and delete with itself as actor",
            {("resource.put", do.id), ("resource.rotate", do.id), ("resource.delete", do.id)} <=
            {(r[3], r[5]) for r in rows}, out)
    T.check("audit list: the refused writes into its namespace are recorded",
            any(r[3] == "resource.put" and r[5] == wp.id and r[7] == "error" for r in rows), out)
    T.check("audit list: no secret value", v1 not in out and v2 not in out)
    T.check("P20 audit list: the releases of its key to TEEs (tee:measurement actor)",
            any(r[2] == "release" and r[6].startswith("data/key/k1") and
                r[5].startswith("sample:") and r[7] == "allowed" for r in rows), out)
    rc, out, err = coffer("audit", "list", "--namespace", "img-a", *as_(do))
    T.check("audit list of another's namespace -> 1", rc == 1, err)
    rc, out, err = coffer("audit", "list", "--json", *as_(wp))
    allrows = json.loads(out) if rc == 0 else []
    T.check("audit list (workload provider): every namespace's metadata",
            {"data", "img-a", "img-b"} <= {e.get("namespace") for e in allrows} and
            any(e["action"] == "principal.add" for e in allrows), out[:300] + err)
    exp = os.path.join(wd, "do-export.json")
    rc, out, err = coffer("audit", "export", "--out", exp, *as_(do))
    T.check("audit export --out", rc == 0 and os.path.exists(exp), err)
    doc = json.load(open(exp)) if rc == 0 else {"entries": [], "checkpoints": []}
    full = [e for e in doc["entries"] if "action" in e]
    stubs = [e for e in doc["entries"] if "action" not in e]
    T.check("export: own entries full, the others stubs",
            full and stubs and all(e["namespace"] == "data" for e in full) and
            all(set(e) == {"seq", "digest", "hash"} for e in stubs), json.dumps(doc)[:300])
    T.check("export: checkpoints every 3 entries", len(doc["checkpoints"]) >=
            len(doc["entries"]) // 3 - 1 and doc["checkpoints"], len(doc["checkpoints"]))
    jwks_file = write(os.path.join(wd, "jwks.json"), json.dumps(
        {"keys": [k for k in jwks["keys"] if k.get("use") == "sig"]}), 0o644)
    rc, out, err = coffer("audit", "verify", "--in", exp, "--jwks", jwks_file)
    T.check("P20 the data owner's export verifies with the broker key", rc == 0, out + err)
    t = json.load(open(exp))
    t["entries"][[i for i, e in enumerate(t["entries"]) if "action" in e][0]]["resource"] = \
        "data/key/forged"
    tampered = write(os.path.join(wd, "tampered.json"), json.dumps(t), 0o644)
    rc, out, err = coffer("audit", "verify", "--in", tampered, "--jwks", jwks_file)
    T.check("P20 a tampered row is detected (exit 1)", rc == 1, out + err)

    # restart: the shutdown checkpoint covers the head and the chain continues
    n_before = len(doc["entries"])
    T.check("broker stops cleanly", b.stop(signal.SIGTERM) == 0)
    # a new bootstrap key in the configuration gets no namespace that has an owner
    b.write_config({"attestation": {"allow_sample": True,
                                    "collateral_dir": os.path.join(wd, "collateral")},
                    "policy": {"resource": "allow_all"},
                    "admin": {"bootstrap_key": late.pub,
                              "bootstrap_namespaces": ["data", "late-ns"],
                              "audit_checkpoint_every": 3,
                              "audit_page_max": PAGE}})
    b.start()
    rc, out, err = coffer("principal", "list", *as_(late))
    T.check("a bootstrap key is not granted an owned namespace",
            rc == 0 and "%s\tworkload-provider\tlate-ns\tactive" % late.id in out.decode(),
            out + err)
    rc, out, err = coffer("resource", "put", "kbs:///data/key/k1", "--in",
                          os.path.join(wd, "v2"), *as_(late))
    T.check("... and cannot write it -> 1", rc == 1, err)
    rc, out, err = coffer("resource", "put", "kbs:///data/key/after", "--in",
                          os.path.join(wd, "v1"), *as_(do))
    T.check("put after a restart", rc == 0, err)
    exp2 = os.path.join(wd, "wp-export.json")
    rc, out, err = coffer("audit", "export", "--out", exp2, *as_(wp))
    doc2 = json.load(open(exp2)) if rc == 0 else {"entries": []}
    T.check("the chain continues across the restart",
            len(doc2["entries"]) > n_before and all(
                e["seq"] == i + 1 for i, e in enumerate(doc2["entries"])), err)
    rc, out, err = coffer("audit", "verify", "--in", exp2, "--jwks", jwks_file, "--json")
    rep = json.loads(out) if rc == 0 else {}
    T.check("the workload provider's export verifies; the shutdown checkpoint anchors the "
            "pre-restart head", rc == 0 and rep.get("anchored_seq", 0) >= n_before, out + err)
    paging(b, wd, wp, do, as_, jwks_file)


def next_hdr(r):
    """The Coffer-Audit-Next header as an int, None when absent."""
    v = [val for k, val in r.headers if k.lower() == "coffer-audit-next"]
    return int(v[0]) if v else None


def pages(b, who, path, limit=None):
    """Every page of `path` by following Coffer-Audit-Next: [(seq asked, body, next)]."""
    out, frm = [], 1
    while frm is not None and len(out) < 1000:
        q = "%s%sfrom=%d" % (path, "&" if "?" in path else "?", frm)
        r = admin(b, who, "GET", q + ("&limit=%d" % limit if limit else ""))
        if r.status != 200:
            return out + [(frm, None, None)]
        out.append((frm, r.json(), next_hdr(r)))
        frm = out[-1][2]
    return out


def cp_seq(jws):
    """The seq a checkpoint signs (its payload; the signature is verify's job)."""
    part = jws.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))["seq"]


def paging(b, wd, wp, do, as_, jwks_file):
    """The audit endpoints answer in pages (docs/cofferd.md "Audit pages")."""
    rc, out, err = coffer("audit", "list", "--json", *as_(wp))
    full = json.loads(out) if rc == 0 else []
    head = len(full)
    T.check("paging: the CLI lists the whole chain across several pages (%d entries)" % head,
            rc == 0 and head > 3 * PAGE and [e["seq"] for e in full] == list(range(1, head + 1)),
            err)
    rc, out_txt, err = coffer("audit", "list", *as_(wp))
    T.check("paging: the text list has one row per entry of the chain",
            rc == 0 and [int(ln.split("\t")[0]) for ln in out_txt.decode().splitlines()] ==
            list(range(1, head + 1)), err)

    # the broker: a bare request is the first page and names the next one
    r = admin(b, wp, "GET", "/kbs/v0/admin/audit")
    T.check("paging: a list without from/limit is the first page of %d, Next: %d" %
            (PAGE, PAGE + 1), r.status == 200 and r.json() == full[:PAGE] and
            next_hdr(r) == PAGE + 1, "%d %s" % (r.status, r.headers))
    r = admin(b, wp, "GET", "/kbs/v0/admin/audit/export")
    d = r.json() if r.status == 200 else {}
    T.check("paging: an export without from/limit is the first page, Next: %d" % (PAGE + 1),
            [e["seq"] for e in d.get("entries", [])] == list(range(1, PAGE + 1)) and
            next_hdr(r) == PAGE + 1 and set(d) >= {"entries", "checkpoints"},
            "%d %s" % (r.status, r.headers))
    r = admin(b, wp, "GET", "/kbs/v0/admin/audit?from=3&limit=4")
    T.check("paging: from=3&limit=4 -> seq 3..6, Next: 7",
            r.status == 200 and r.json() == full[2:6] and next_hdr(r) == 7, r.body[:200])
    r = admin(b, wp, "GET", "/kbs/v0/admin/audit?from=%d&limit=%d" % (head - 1, PAGE))
    T.check("paging: the last page has no Next header",
            r.status == 200 and r.json() == full[head - 2:] and next_hdr(r) is None,
            "%d %s" % (r.status, r.headers))
    r = admin(b, wp, "GET", "/kbs/v0/admin/audit?from=%d" % (head + 1))
    T.check("paging: from past the head -> [] and no Next",
            r.status == 200 and r.json() == [] and next_hdr(r) is None, r.body[:200])
    walked = pages(b, wp, "/kbs/v0/admin/audit")
    T.check("paging: following Next walks the chain in pages of %d" % PAGE,
            len(walked) == (head + PAGE - 1) // PAGE and all(len(p[1] or []) <= PAGE
                                                              for p in walked) and
            sum((p[1] or [] for p in walked), []) == full, len(walked))

    # bad from/limit: 400 each, nothing changes (no entry, no answer body but the error)
    for q in ("from=0", "from=-1", "from=abc", "from=", "from", "from=01", "from=%31",
              "from=1.5", "from=99999999999999999", "from=1&from=2", "limit=0", "limit=-3",
              "limit=x", "limit=", "limit=%d" % (PAGE + 1), "limit=1e3", "limit=2&limit=3",
              "from=2&limit=+3"):
        for ep in ("/kbs/v0/admin/audit", "/kbs/v0/admin/audit/export"):
            r = admin(b, wp, "GET", "%s?%s" % (ep, q))
            T.status("paging: %s?%s -> 400" % (ep, q), r, 400, "InvalidRequestPath")
            T.check("paging: %s?%s names the argument" % (ep, q),
                    (b"from" in r.body or b"limit" in r.body), r.body[:200])
    r = admin(b, do, "GET", "/kbs/v0/admin/audit?namespace=data&limit=0")
    T.status("paging: a scoped principal's bad limit -> 400", r, 400)
    rc, out, err = coffer("audit", "list", "--json", *as_(wp))
    T.check("paging: the refused requests changed nothing (no audit entry)",
            rc == 0 and json.loads(out) == full, err)

    # a namespace-scoped principal pages over its own entries only
    rc, out, err = coffer("audit", "list", "--json", *as_(do))
    own = json.loads(out) if rc == 0 else []
    T.check("paging: the data owner's CLI list is every entry of its namespace",
            len(own) > 2 * PAGE and own == [e for e in full if e["namespace"] == "data"], err)
    for path in ("/kbs/v0/admin/audit", "/kbs/v0/admin/audit?namespace=data"):
        r = admin(b, do, "GET", path + ("&" if "?" in path else "?") + "limit=2")
        T.check("paging: %s limit=2 -> its first 2 entries, Next: the seq of its third" % path,
                r.status == 200 and r.json() == own[:2] and next_hdr(r) == own[2]["seq"],
                "%d %s %s" % (r.status, r.body[:200], r.headers))
        r = admin(b, do, "GET", path + ("&" if "?" in path else "?") +
                  "from=%d&limit=3" % own[2]["seq"])
        T.check("paging: %s from=<its third> limit=3 -> its entries 3..5" % path,
                r.status == 200 and r.json() == own[2:5] and next_hdr(r) == own[5]["seq"],
                r.body[:200])
        walked = pages(b, do, path)
        T.check("paging: %s walked in pages of %d is its whole list" % (path, PAGE),
                all(len(p[1] or []) == PAGE for p in walked[:-1]) and
                sum((p[1] or [] for p in walked), []) == own, len(walked))

    # range exports: [from, last] with exactly the checkpoints at from-1..last
    rc, out, err = coffer("audit", "export", *as_(wp))
    whole = json.loads(out) if rc == 0 else {"entries": [], "checkpoints": []}
    cps = {cp_seq(c): c for c in whole["checkpoints"]}
    walked = pages(b, wp, "/kbs/v0/admin/audit/export")
    cat = {"entries": sum((p[1]["entries"] for p in walked if p[1]), []), "checkpoints": []}
    for p in walked:
        for c in (p[1] or {}).get("checkpoints", []):
            if c not in cat["checkpoints"]:
                cat["checkpoints"].append(c)
    T.check("paging: the CLI export (no flags) is the pages' entries concatenated and "
            "checkpoints deduplicated", len(walked) > 2 and
            whole["entries"] == cat["entries"] and whole["checkpoints"] == cat["checkpoints"] and
            [e["seq"] for e in whole["entries"]] == list(range(1, head + 1)), err)
    anchors = sorted(s for s in cps if 2 <= s and s + PAGE <= head)
    c = anchors[0] if anchors else 2
    frm, last = c + 1, c + PAGE
    want_cps = sorted(s for s in cps if frm - 1 <= s <= last)
    for who, name in ((wp, "wp"), (do, "do")):
        r = admin(b, who, "GET", "/kbs/v0/admin/audit/export?from=%d&limit=%d" % (frm, PAGE))
        rng = r.json() if r.status == 200 else {"entries": [], "checkpoints": []}
        mine = whole if who is wp else json.loads(coffer("audit", "export", *as_(do))[1] or "{}")
        T.check("paging: %s's export from=%d limit=%d is seq %d..%d of its whole export" %
                (name, frm, PAGE, frm, last), r.status == 200 and
                rng["entries"] == mine["entries"][frm - 1:last], r.body[:200])
        T.check("paging: %s's range export carries exactly the checkpoints at %d..%d %s" %
                (name, frm - 1, last, want_cps),
                sorted(cp_seq(x) for x in rng["checkpoints"]) == want_cps and anchors,
                [cp_seq(x) for x in rng["checkpoints"]])
        if who is do:
            T.check("paging: do's range export: own entries full, the others stubs",
                    all(e.get("namespace") == "data" if "action" in e else
                        set(e) == {"seq", "digest", "hash"} for e in rng["entries"]),
                    json.dumps(rng)[:300])
        f = write(os.path.join(wd, "range-%s.json" % name), json.dumps(rng), 0o644)
        rc, out, err = coffer("audit", "verify", "--in", f, "--jwks", jwks_file,
                              "--allow-partial", "--json")
        rep = json.loads(out) if rc == 0 else {}
        T.check("paging: %s's range export verifies, its head anchored by the checkpoint at "
                "%d" % (name, frm - 1), rc == 0 and rep.get("head_anchored") is True and
                rep.get("first_seq") == frm and rep.get("last_seq") == last, out + err)
        cut = dict(rng, checkpoints=[x for x in rng["checkpoints"] if cp_seq(x) != frm - 1])
        f = write(os.path.join(wd, "range-%s-cut.json" % name), json.dumps(cut), 0o644)
        rc, out, err = coffer("audit", "verify", "--in", f, "--jwks", jwks_file,
                              "--allow-partial", "--json")
        rep = json.loads(out) if rc == 0 else {}
        T.check("paging: without that checkpoint the range verifies but is not anchored",
                rc == 0 and rep.get("head_anchored") is False, out + err)
        rc, out, err = coffer("audit", "verify", "--in", f, "--jwks", jwks_file,
                              "--allow-partial", "--json", "--checkpoint", cps.get(frm - 1, "x"))
        rep = json.loads(out) if rc == 0 else {}
        T.check("paging: ... and --checkpoint with it anchors it again",
                rc == 0 and rep.get("head_anchored") is True, out + err)

    # the CLI with --from/--limit: the range
    rc, out, err = coffer("audit", "list", "--json", "--from", "3", "--limit", "4", *as_(wp))
    T.check("paging: audit list --from 3 --limit 4 -> seq 3..6; stderr names seq 7",
            rc == 0 and json.loads(out) == full[2:6] and b"--from 7" in err, out + err)
    rc, out, err = coffer("audit", "list", "--from", str(head - 6), *as_(wp))
    T.check("paging: audit list --from H-6 (no --limit) -> seq H-6..H over two pages",
            rc == 0 and [int(ln.split("\t")[0]) for ln in out.decode().splitlines()] ==
            list(range(head - 6, head + 1)) and out.decode().splitlines() ==
            out_txt.decode().splitlines()[head - 7:], out + err)
    rc, out, err = coffer("audit", "list", "--json", "--namespace", "data", "--from",
                          str(own[1]["seq"]), "--limit", "2", *as_(do))
    T.check("paging: audit list --namespace data --from <its 2nd> --limit 2 -> its 2nd, 3rd",
            rc == 0 and json.loads(out) == own[1:3], out + err)
    f = os.path.join(wd, "cli-range.json")
    rc, out, err = coffer("audit", "export", "--out", f, "--from", str(frm), "--limit",
                          str(PAGE), *as_(wp))
    got = json.load(open(f)) if rc == 0 else {}
    T.check("paging: audit export --from %d --limit %d is the broker's range export" %
            (frm, PAGE), rc == 0 and got.get("entries") == whole["entries"][frm - 1:last] and
            sorted(cp_seq(x) for x in got.get("checkpoints", [])) == want_cps, out + err)
    rc, out, err = coffer("audit", "export", "--from", str(frm), *as_(wp))
    got = json.loads(out) if rc == 0 else {}
    T.check("paging: audit export --from %d (no --limit) merges the pages up to the head" % frm,
            rc == 0 and got.get("entries") == whole["entries"][frm - 1:] and
            sorted(cp_seq(x) for x in got.get("checkpoints", [])) ==
            sorted(s for s in cps if s >= frm - 1), err)
    # usage errors: exit 2, nothing printed, and the message naming the argument
    # (--limit last: a --limit before the broker flags would take --broker as
    # its value)
    for args, msg in ((["--limit", "0"], b"--limit: '0' is not a positive count"),
                      (["--from", "x"], b"--from: 'x' is not a seq"),
                      (["--from", "-2"], b"--from: '-2' is not a seq")):
        rc, out, err = coffer("audit", "list", *args, *as_(wp))
        T.check("paging: audit list %s -> usage (2): %s" % (" ".join(args), msg.decode()),
                rc == 2 and out == b"" and msg in err, err)
    rc, out, err = coffer("audit", "list", *as_(wp), "--limit")
    T.check("paging: audit list --limit without a value -> usage (2): unexpected argument",
            rc == 2 and out == b"" and b"unexpected argument '--limit'" in err, err)
    f = os.path.join(wd, "usage-export.json")
    for v in ("0", "01", "1" * 17, "x"):
        rc, out, err = coffer("audit", "export", "--out", f, "--from", v, *as_(wp))
        T.check("paging: audit export --from %s -> usage (2), no file" % v,
                rc == 2 and out == b"" and not os.path.exists(f) and
                b"--from: '%s' is not a seq" % v.encode() in err, err)
    rc, out, err = coffer("audit", "export", "--out", f, *as_(wp), "--from")
    T.check("paging: audit export --from without a value -> usage (2), no file",
            rc == 2 and out == b"" and not os.path.exists(f) and
            b"unexpected argument '--from'" in err, err)
    rc, out, err = coffer("audit", "export", "--limit", str(PAGE + 1), *as_(wp))
    T.check("paging: audit export --limit over the broker's page max -> 400, exit 2",
            rc == 2 and b"limit" in err, err)


if __name__ == "__main__":
    sys.exit(main())
