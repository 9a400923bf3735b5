#!/usr/bin/python3
"""Admin changes are audited before they are made (PERSONAS.md rule 7,
docs/audit.md): while the audit log cannot be written, every admin change
is refused with 500 and the store is unchanged; a change whose store write
fails after its entry was written gets a second entry, outcome "error",
saying it was not made; once the log works again the chain verifies.

The faults are real SQLite errors: a trigger that aborts inserts into the
broker's audit (or resources, principals) table, installed in the live
database file by this test."""
import base64
import json
import os
import sqlite3
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from jwcrypto import jwk  # noqa: E402

import kbs_client as kc  # noqa: E402
from cofferd_harness import (Broker, Tests, admin, admin_key, audit_export,  # noqa: E402
                             audit_verify, have_binaries, release_all_settings, workdir)

T = Tests()


def sql(b, stmt):
    db = sqlite3.connect(b.db(), timeout=10)
    try:
        db.execute(stmt)
        db.commit()
    finally:
        db.close()


def fail_inserts(b, table, on=True, op="INSERT"):
    name = "test_fail_%s_%s" % (table, op.lower())
    if on:
        sql(b, "CREATE TRIGGER %s BEFORE %s ON %s BEGIN SELECT RAISE(ABORT, "
               "'test: %s refused'); END" % (name, op, table, table))
    else:
        sql(b, "DROP TRIGGER %s" % name)


def snapshot(b, key):
    """Everything the admin changes below could touch, as the API shows it."""
    out = {}
    for path in ("/kbs/v0/admin/resources", "/kbs/v0/admin/principals",
                 "/kbs/v0/resource-policy", "/kbs/v0/release-policy/ns",
                 "/kbs/v0/reference-value/rv_keep", "/kbs/v0/reference-value/rv_new"):
        r = admin(b, key, "GET", path)
        out[path] = (r.status, r.body)
    return out


def refval_body(name):
    payload = base64.b64encode(json.dumps({name: ["v1"]}).encode()).decode()
    return json.dumps({"version": "0.1.0", "type": "sample", "payload": payload}).encode()


def policy_body(text):
    return json.dumps({"policy": kc.b64url(text.encode())}).encode()


def main():
    if not have_binaries():
        return 77
    wd = workdir()
    key, pub = admin_key(wd)
    other = jwk.JWK.generate(kty="EC", crv="P-256")
    b = Broker(wd, "aa", release_all_settings(pub)).start()
    try:
        run(b, wd, key, other)
    finally:
        b.stop()
    return T.finish()


def run(b, wd, key, other):
    T.status("put ns/key/keep", admin(b, key, "POST", "/kbs/v0/resource/ns/key/keep", b"v1"), 200)
    T.status("set rv_keep", admin(b, key, "POST", "/kbs/v0/reference-value",
                                  refval_body("rv_keep")), 200)
    r = admin(b, key, "POST", "/kbs/v0/admin/principals",
              json.dumps({"persona": "image-provider",
                          "public_key": json.loads(other.export_public()),
                          "namespaces": ["img"]}).encode())
    T.status("enrol an image provider", r, 201)
    pid = json.loads(r.body)["id"] if r.status == 201 else "none"
    tee = kc.KbsClient(b.url)
    tee.handshake()
    r = tee.get_resource("ns/key/keep")
    T.check("a TEE fetches ns/key/keep", r.status == 200 and tee.decrypt(r.body) == b"v1",
            str(r.status))
    before = snapshot(b, key)
    n_before = len(audit_export(b, key)["entries"])

    # ---- the audit log refuses every insert ----
    fail_inserts(b, "audit")
    newkey = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    changes = [
        ("resource put", "POST", "/kbs/v0/resource/ns/key/new", b"v2"),
        ("resource rotate", "POST", "/kbs/v0/resource/ns/key/keep", b"v3"),
        ("resource delete", "DELETE", "/kbs/v0/resource/ns/key/keep", b""),
        ("resource policy", "POST", "/kbs/v0/resource-policy",
         policy_body("package policy\ndefault allow = false\n")),
        ("release policy", "POST", "/kbs/v0/release-policy/ns",
         policy_body("package policy\ndefault allow = true\n")),
        ("reference value", "POST", "/kbs/v0/reference-value", refval_body("rv_new")),
        ("principal add", "POST", "/kbs/v0/admin/principals",
         json.dumps({"persona": "data-owner", "public_key": json.loads(newkey.export_public()),
                     "namespaces": ["d1", "d2"]}).encode()),
        ("principal disable", "POST", "/kbs/v0/admin/principals/%s/disable" % pid, b""),
    ]
    for name, method, path, body in changes:
        r = admin(b, key, method, path, body)
        T.check("audit log down: %s -> 500, the change not made" % name,
                r.status == 500 and b"audit log unavailable" in r.body,
                "%d %r" % (r.status, r.body[:200]))
    T.check("audit log down: the store is unchanged", snapshot(b, key) == before,
            json.dumps({k: [v[0], v[1][:80].decode(errors="replace")]
                        for k, v in snapshot(b, key).items()}))
    T.check("audit log down: the chain did not move", len(audit_export(b, key)["entries"]) == n_before)

    # releases: no secret leaves without its record, alone (written on the
    # request's thread) or in parallel (queued for the writer)
    r = tee.get_resource("ns/key/keep")
    T.check("audit log down: a release -> 500, no JWE",
            r.status == 500 and b"audit log unavailable" in r.body and
            not r.body.startswith(b"{\"protected\""), "%d %r" % (r.status, r.body[:120]))
    got = []

    def fetch():
        c = kc.KbsClient(b.url)
        c.handshake()
        for _ in range(5):
            got.append(c.get_resource("ns/key/keep").status)

    threads = [threading.Thread(target=fetch) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    T.check("audit log down: 60 parallel releases -> all 500", got == [500] * 60,
            str(sorted(set(got))))
    T.check("... and the chain did not move", len(audit_export(b, key)["entries"]) == n_before)
    fail_inserts(b, "audit", on=False)
    r = tee.get_resource("ns/key/keep")
    T.check("audit log back: the release -> 200", r.status == 200 and
            tee.decrypt(r.body) == b"v1", str(r.status))
    n_before += 1

    # ---- the audit entry is written, then the store write fails ----
    fail_inserts(b, "resources")
    r = admin(b, key, "POST", "/kbs/v0/resource/ns/key/late", b"v4")
    T.status("store refuses a resource put -> 500", r, 500)
    fail_inserts(b, "resources", on=False)
    fail_inserts(b, "principals", on=True, op="UPDATE")
    r = admin(b, key, "POST", "/kbs/v0/admin/principals/%s/disable" % pid)
    T.status("store refuses a principal disable -> 500", r, 500)
    fail_inserts(b, "principals", on=False, op="UPDATE")
    entries = audit_export(b, key)["entries"][n_before:]
    got = [(e.get("action"), e.get("outcome"), e.get("reason", "")[:15]) for e in entries]
    T.check("each failed change: its entry, then one saying it was not made",
            got == [("resource.put", "ok", ""),
                    ("resource.put", "error", "change not made"),
                    ("principal.disable", "ok", pid[:15]),
                    ("principal.disable", "error", "change not made")], str(got))
    T.check("... and nothing was stored", snapshot(b, key) == before)

    # ---- a rotation and a delete touch several rows: all or none ----
    fail_inserts(b, "resources", op="UPDATE")  # the latest value cannot be replaced
    r = admin(b, key, "POST", "/kbs/v0/resource/ns/key/keep", b"v5")
    T.status("store refuses half a rotation -> 500", r, 500)
    fail_inserts(b, "resources", on=False, op="UPDATE")
    T.check("... and stored no orphan version", snapshot(b, key) == before)
    sql(b, "CREATE TRIGGER test_keep_v1 BEFORE DELETE ON resources WHEN "
           "OLD.path = 'ns/key/keep.v1' BEGIN SELECT RAISE(ABORT, 'test: refused'); END")
    r = admin(b, key, "DELETE", "/kbs/v0/resource/ns/key/keep")
    T.status("store refuses deleting one version -> 500", r, 500)
    sql(b, "DROP TRIGGER test_keep_v1")
    T.check("... and deleted nothing", snapshot(b, key) == before)
    sql(b, "CREATE TRIGGER test_no_rv_b BEFORE INSERT ON reference_values WHEN "
           "NEW.name = 'rv_b' BEGIN SELECT RAISE(ABORT, 'test: refused'); END")
    payload = base64.b64encode(json.dumps({"rv_a": ["x"], "rv_b": ["y"]}).encode()).decode()
    r = admin(b, key, "POST", "/kbs/v0/reference-value", json.dumps(
        {"version": "0.1.0", "type": "sample", "payload": payload}).encode())
    T.status("store refuses one of two reference values -> 500", r, 500)
    sql(b, "DROP TRIGGER test_no_rv_b")
    r = admin(b, key, "GET", "/kbs/v0/reference-value/rv_a")
    T.status("... and set neither", r, 404)
    acts = [(e.get("action"), e.get("outcome")) for e in
            audit_export(b, key)["entries"][n_before + 4:]]
    T.check("each with its entry and its error twin",
            acts == [("resource.rotate", "ok"), ("resource.rotate", "error"),
                     ("resource.delete", "ok"), ("resource.delete", "error"),
                     ("refval.set", "ok"), ("refval.set", "ok"),
                     ("refval.set", "error"), ("refval.set", "error")], str(acts))

    # ---- the log works again: changes go through, the chain verifies ----
    for name, method, path, body in changes:
        if name == "principal disable":
            continue  # keep the principal to check below
        r = admin(b, key, method, path, body)
        T.check("audit log back: %s -> 2xx" % name, r.status in (200, 201),
                "%d %r" % (r.status, r.body[:200]))
    doc = audit_export(b, key)
    acts = [(e.get("action"), e.get("outcome")) for e in doc["entries"][n_before + 12:]]
    T.check("audit log back: one entry per change, grants included",
            acts == [("resource.put", "ok"), ("resource.rotate", "ok"),
                     ("resource.delete", "ok"), ("policy.resource", "ok"),
                     ("policy.release", "ok"), ("refval.set", "ok"), ("principal.add", "ok"),
                     ("namespace.grant", "ok"), ("namespace.grant", "ok")], str(acts))
    r = admin(b, key, "DELETE", "/kbs/v0/resource/ns/key/nothing")
    T.status("deleting what is not there -> 404", r, 404)
    T.check("... and writes no entry", len(audit_export(b, key)["entries"]) == len(doc["entries"]))

    # ---- a change with several entries whose later entry fails ----
    n0 = len(doc["entries"])
    sql(b, "CREATE TRIGGER test_no_grant BEFORE INSERT ON audit WHEN NEW.action = "
           "'namespace.grant' BEGIN SELECT RAISE(ABORT, 'test: refused'); END")
    late = jwk.JWK.generate(kty="EC", crv="P-256")
    r = admin(b, key, "POST", "/kbs/v0/admin/principals",
              json.dumps({"persona": "data-owner", "public_key": json.loads(late.export_public()),
                          "namespaces": ["g1"]}).encode())
    T.check("a grant's entry fails -> 500, nobody enrolled",
            r.status == 500 and b"audit log unavailable" in r.body and
            late.thumbprint() not in admin(b, key, "GET", "/kbs/v0/admin/principals").body.decode(),
            "%d %r" % (r.status, r.body[:120]))
    sql(b, "DROP TRIGGER test_no_grant")
    sql(b, "CREATE TRIGGER test_no_rv_y BEFORE INSERT ON audit WHEN NEW.action = 'refval.set' "
           "AND NEW.record LIKE '%rv_y%' BEGIN SELECT RAISE(ABORT, 'test: refused'); END")
    payload = base64.b64encode(json.dumps({"rv_x": ["1"], "rv_y": ["2"]}).encode()).decode()
    r = admin(b, key, "POST", "/kbs/v0/reference-value", json.dumps(
        {"version": "0.1.0", "type": "sample", "payload": payload}).encode())
    T.check("the second name's entry fails -> 500, neither set",
            r.status == 500 and
            admin(b, key, "GET", "/kbs/v0/reference-value/rv_x").status == 404,
            "%d %r" % (r.status, r.body[:120]))
    sql(b, "DROP TRIGGER test_no_rv_y")
    # the rows vanish between the look and the delete (as when another
    # broker on the store deletes them first): RAISE(IGNORE) skips them
    T.status("put ns/key/gone", admin(b, key, "POST", "/kbs/v0/resource/ns/key/gone", b"g"),
             200)
    sql(b, "CREATE TRIGGER test_gone BEFORE DELETE ON resources WHEN OLD.path GLOB "
           "'ns/key/gone*' BEGIN SELECT RAISE(IGNORE); END")
    r = admin(b, key, "DELETE", "/kbs/v0/resource/ns/key/gone")
    T.status("a delete that finds nothing left to delete -> 404", r, 404)
    sql(b, "DROP TRIGGER test_gone")
    got = [(e.get("action"), e.get("outcome"), e.get("reason", "")) for e in
           audit_export(b, key)["entries"][n0:]]
    T.check("... each entry that was written has its error twin",
            got == [("principal.add", "ok", late.thumbprint()),
                    ("principal.add", "error",
                     "change not made: audit log unavailable (principal %s)" %
                     late.thumbprint()),
                    ("refval.set", "ok", "rv_x"),
                    ("refval.set", "error", "change not made: audit log unavailable (rv_x)"),
                    ("resource.put", "ok", ""),
                    ("resource.delete", "ok", ""),
                    ("resource.delete", "error", "change not made: already gone")], str(got))
    doc = audit_export(b, key)
    rc, rep, out = audit_verify(b, wd, doc)
    T.check("coffer audit verify accepts the chain", rc == 0 and rep.get("result") == "ok", out)


if __name__ == "__main__":
    sys.exit(main())
