#!/usr/bin/python3
"""cofferd when its random source fails: nothing is answered with a nonce,
session, key or salt it could not draw. cofferd runs with the
tests/fault/openssl_fail.c shim preloaded; while the flag file named by
$COFFER_TEST_RAND_FAIL exists OpenSSL's RAND_bytes fails. Then:
  - auth answers 500 and sets no cookie (no session id, no nonce);
  - attest answers 500 and issues no token (no token id);
  - a release answers 500 and sends no JWE (no content key);
  - an admin change answers 500 and changes nothing (its audit entry has no
    salt, and admin changes are audited first);
and once the source works again everything does, and the audit chain holds
no entry for what failed and verifies.

    cofferd_rand_fail_test.py PATH/TO/libcoffer_openssl_fail.so"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import kbs_client as kc  # noqa: E402
from cofferd_harness import (Broker, Tests, admin, admin_key, audit_export,  # noqa: E402
                             audit_verify, fault_shim, release_all_settings)

T = Tests()


def main():
    setup = fault_shim(sys.argv, "COFFER_TEST_RAND_FAIL", "rand-fails")
    if setup is None:
        return 77
    wd, flag = setup
    key, pub = admin_key(wd)
    b = Broker(wd, "rf", release_all_settings(pub)).start()
    try:
        run(b, wd, key, flag)
    finally:
        b.stop()
    return T.finish()


def run(b, wd, key, flag):
    T.status("put ns/key/one", admin(b, key, "POST", "/kbs/v0/resource/ns/key/one", b"v1"), 200)
    tee = kc.KbsClient(b.url)
    tee.handshake()
    r = tee.get_resource("ns/key/one")
    T.check("the shim passes through: a TEE fetches ns/key/one",
            r.status == 200 and tee.decrypt(r.body) == b"v1", str(r.status))
    n_before = len(audit_export(b, key)["entries"])
    late = kc.KbsClient(b.url)
    T.status("a second TEE gets its nonce", late.auth(), 200)

    open(flag, "w").close()
    r = late.attest(late.attest_body())
    T.check("no randomness: attest -> 500, no token (no jti)",
            r.status == 500 and b"token: no randomness" in r.body and b"eyJ" not in r.body,
            "%d %r" % (r.status, r.body[:160]))
    c = kc.KbsClient(b.url)
    r = c.auth()
    T.check("no randomness: auth -> 500, no cookie, no nonce",
            r.status == 500 and "set-cookie" not in {k.lower() for k, _ in r.headers} and
            b"nonce" not in r.body, "%d %r %r" % (r.status, r.headers, r.body[:120]))
    r = tee.get_resource("ns/key/one")
    T.check("no randomness: a release -> 500, no JWE",
            r.status == 500 and b"protected" not in r.body, "%d %r" % (r.status, r.body[:120]))
    r = admin(b, key, "POST", "/kbs/v0/resource/ns/key/two", b"v2")
    T.check("no randomness: an admin change -> 500 (its audit entry has no salt)",
            r.status == 500 and b"audit log unavailable" in r.body,
            "%d %r" % (r.status, r.body[:120]))
    os.unlink(flag)

    r = admin(b, key, "GET", "/kbs/v0/admin/resources")
    paths = [x.get("path") for x in json.loads(r.body)] if r.status == 200 else None
    T.check("... and stored nothing", paths is not None and "ns/key/two" not in paths,
            str(paths))
    T.check("... and the chain did not move", len(audit_export(b, key)["entries"]) == n_before)

    c = kc.KbsClient(b.url)
    c.handshake()
    r = c.get_resource("ns/key/one")
    T.check("randomness back: handshake and release", r.status == 200 and
            c.decrypt(r.body) == b"v1", str(r.status))
    T.status("randomness back: the admin change",
             admin(b, key, "POST", "/kbs/v0/resource/ns/key/two", b"v2"), 200)
    doc = audit_export(b, key)
    rc, rep, out = audit_verify(b, wd, doc)
    T.check("coffer audit verify accepts the chain", rc == 0 and rep.get("result") == "ok", out)


if __name__ == "__main__":
    sys.exit(main())
