#!/usr/bin/python3
"""cofferd when signing fails: nothing is answered with a signature it could
not make, nothing half-made is kept, and signing works again afterwards.
cofferd runs with the tests/fault/openssl_fail.c shim preloaded; while the
flag file named by $COFFER_TEST_SIGN_FAIL exists OpenSSL's EVP_PKEY_sign and
EVP_DigestSign fail (and a context that failed stays unusable), while
verification works. Then:
  - attest answers 500 and issues no token, and the session stays
    unattested;
  - admin requests (ES256 JWTs the broker verifies) are served;
  - releases and an admin change past an admin.audit_checkpoint_every
    boundary are answered and recorded without a checkpoint, and every
    batch past the boundary logs "audit checkpoint failed" (docs/audit.md:
    the next batch tries again);
  - a stop cannot sign its final checkpoint: it logs so and exits 0;
and once signing works again, attests (more of them, in parallel, than the
pool of ES256 signing contexts holds) get tokens that verify with the
published JWKS, so no failed context was pooled again; the next batch
carries the checkpoint, and `coffer audit verify` accepts the whole chain.

    cofferd_sign_fail_test.py PATH/TO/libcoffer_openssl_fail.so"""
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from jwcrypto import jwk, jws, jwt  # noqa: E402

import kbs_client as kc  # noqa: E402
from cofferd_harness import (Broker, Tests, admin, admin_key, audit_export,  # noqa: E402
                             audit_verify, bin_dir, fault_shim, release_all_settings)

T = Tests()
EVERY = 4             # admin.audit_checkpoint_every
POOL = 8              # JOSE_SIGN_CTX_POOL, src/lib/jose/jose_internal.h
THREADS = 4           # the harness's server.threads
ATTESTS = 2 * POOL + THREADS
CP_FAILED = "audit checkpoint failed"


def main():
    setup = fault_shim(sys.argv, "COFFER_TEST_SIGN_FAIL", "sign-fails")
    if setup is None:
        return 77
    wd, flag = setup
    key, pub = admin_key(wd)
    shim(wd, flag)
    b = Broker(wd, "sf", release_all_settings(pub, audit_checkpoint_every=EVERY)).start()
    try:
        run(b, wd, key, flag)
    finally:
        b.stop()
    return T.finish()


def head(doc):
    return doc["entries"][-1]["seq"] if doc["entries"] else 0


def anchored(doc):
    """The seq of the newest checkpoint in `doc`, 0 when there is none."""
    return max([kc.token_claims(c)["seq"] for c in doc["checkpoints"]] or [0])


def logged(b, msg):
    """How many of the broker's log lines (JSON, one a line) carry `msg`."""
    n = 0
    for line in b.read_log().splitlines():
        try:
            n += json.loads(line).get("msg") == msg
        except (ValueError, AttributeError):
            pass  # ASan's report or another non-JSON line
    return n


def parallel(fn, items):
    with ThreadPoolExecutor(max_workers=len(items)) as ex:
        return list(ex.map(fn, items))


def verifies(token, keys):
    try:
        jwt.JWT(jwt=token, key=keys, algs=["ES256"])
        return True
    except Exception:  # jwcrypto raises several types for a bad token
        return False


def shim(wd, flag):
    """Each of the shim's signing calls fails on the flag and only then:
    ES256 is EVP_PKEY_sign, EdDSA EVP_DigestSign (through the coffer CLI:
    the broker signs ES256 only)."""
    for kty, crv, alg in (("EC", "P-256", "ES256"), ("OKP", "Ed25519", "EdDSA")):
        k = jwk.JWK.generate(kty=kty, crv=crv)
        path = os.path.join(wd, alg + ".jwk")
        with open(path, "w") as f:
            f.write(k.export_private())
        cmd = [os.path.join(bin_dir(), "coffer"), "jose", "sign", "--key", path, "--alg", alg]
        open(flag, "w").close()
        bad = subprocess.run(cmd, input=b"payload", capture_output=True, timeout=30)
        os.unlink(flag)
        good = subprocess.run(cmd, input=b"payload", capture_output=True, timeout=30)
        try:
            t = jws.JWS()
            t.deserialize(good.stdout.decode().strip(), key=k, alg=alg)
            ok = t.payload == b"payload"
        except Exception:  # jwcrypto raises several types for a bad JWS
            ok = False
        T.check("the shim: coffer jose sign %s fails on the flag (exit 3, no JWS), "
                "and signs without it" % alg,
                bad.returncode == 3 and bad.stdout == b"" and good.returncode == 0 and ok,
                "%d %r / %d %r" % (bad.returncode, bad.stdout + bad.stderr, good.returncode,
                                   good.stdout + good.stderr))


def run(b, wd, key, flag):
    T.status("put ns/key/one", admin(b, key, "POST", "/kbs/v0/resource/ns/key/one", b"v1"), 200)
    keys = jwk.JWKSet.from_json(kc.Http(b.url).request("GET", "/kbs/v0/jwks").body)
    tee = kc.KbsClient(b.url)
    tee.handshake()
    rs = [tee.get_resource("ns/key/one") for _ in range(EVERY)]
    T.check("the shim passes through: a token that verifies, and releases",
            verifies(tee.token, keys) and
            all(r.status == 200 and tee.decrypt(r.body) == b"v1" for r in rs),
            str([r.status for r in rs]))
    waiting = [kc.KbsClient(b.url) for _ in range(ATTESTS)]
    T.check("%d TEEs get their nonces" % ATTESTS,
            all(c.auth().status == 200 for c in waiting))
    doc = audit_export(b, key)
    seq0, cp0, cps0 = head(doc), anchored(doc), doc["checkpoints"]
    failed0 = logged(b, CP_FAILED)
    T.check("before the fault: a checkpoint within the last %d entries, nothing failed" % EVERY,
            seq0 >= 2 and cp0 > 0 and seq0 - cp0 < EVERY and failed0 == 0,
            "head %d, checkpoint %d, %d failures" % (seq0, cp0, failed0))

    open(flag, "w").close()
    # a. a token that was not signed is not sent, and the session is not
    # attested with it; run in parallel so that several signing contexts fail
    rs = parallel(lambda c: c.attest(c.attest_body()), waiting)
    bad = [(r.status, r.body[:160]) for r in rs
           if r.status != 500 or not r.error_type().endswith("/PluginInternalError") or
           b"token: JWS: ES256 signing failed" not in r.body or b"eyJ" in r.body or
           "set-cookie" in {k.lower() for k, _ in r.headers}]
    T.check("no signing: %d parallel attests -> 500, no token, no cookie" % ATTESTS,
            not bad, str(bad[:3]))
    T.status("... and the session is not attested: a release by its cookie -> 401",
             waiting[0].get_resource("ns/key/one"), 401, "TokenNotFound")
    T.status("no signing: an admin request still verifies (ES256 JWT)",
             admin(b, key, "GET", "/kbs/v0/admin/resources"), 200)

    # b. releases past the checkpoint boundary: the last two each try to
    # sign it (the first that crosses, and the next batch that tries again)
    n = cp0 + EVERY - seq0 + 1
    want_failed = sum(1 for s in range(seq0 + 1, seq0 + n + 1) if s - cp0 >= EVERY)
    bad = []
    for _ in range(n):
        r = tee.get_resource("ns/key/one")
        if r.status != 200 or tee.decrypt(r.body) != b"v1":
            bad.append((r.status, r.body[:120]))
    T.check("no signing: %d releases past checkpoint %d -> 200, the secret" % (n, cp0 + EVERY),
            not bad, str(bad[:3]))
    doc = audit_export(b, key)
    T.check("... each recorded", [e["seq"] for e in doc["entries"]][-n - 1:] ==
            list(range(seq0, seq0 + n + 1)) and head(doc) == seq0 + n, str(head(doc)))
    T.check("... no checkpoint was stored", doc["checkpoints"] == cps0,
            "%d checkpoints, were %d" % (len(doc["checkpoints"]), len(cps0)))
    got = logged(b, CP_FAILED) - failed0
    T.check("... '%s' logged for each batch past the boundary (%d)" % (CP_FAILED, want_failed),
            want_failed == 2 and got == want_failed, "%d logged" % got)

    # c. an admin change past the boundary is audited first; its checkpoint
    # fails like a release's and the change goes through
    T.status("no signing: an admin change -> 200",
             admin(b, key, "POST", "/kbs/v0/resource/ns/key/two", b"v2"), 200)
    r = admin(b, key, "GET", "/kbs/v0/admin/resources")
    paths = [x.get("path") for x in json.loads(r.body)] if r.status == 200 else None
    T.check("... stored", paths is not None and "ns/key/two" in paths, str(paths))
    doc = audit_export(b, key)
    T.check("... recorded, without a checkpoint, and the failure logged",
            head(doc) == seq0 + n + 1 and doc["entries"][-1].get("action") == "resource.put" and
            str(doc["entries"][-1].get("resource")).startswith("ns/key/two.") and
            doc["checkpoints"] == cps0 and logged(b, CP_FAILED) - failed0 == want_failed + 1,
            "head %d, last entry %r, %d checkpoints, %d failures logged" % (
                head(doc), doc["entries"][-1], len(doc["checkpoints"]),
                logged(b, CP_FAILED) - failed0))
    failed1 = logged(b, CP_FAILED)
    os.unlink(flag)

    # a. a context that failed and went back to the pool fails every
    # signature it makes, or makes bad ones: more attests than the pool
    # holds, in parallel, all get tokens that verify with the JWKS
    def attest(c):
        r = c.auth()
        if r.status == 200:
            r = c.attest(c.attest_body())
        return r.status, c.token
    done = [kc.KbsClient(b.url) for _ in range(ATTESTS)]
    rs = parallel(attest, done)
    bad = [s for s, tok in rs if s != 200 or tok is None or not verifies(tok, keys)]
    T.check("signing back: %d parallel attests -> 200, each token verifies with the JWKS" %
            ATTESTS, not bad, str(bad[:5]))

    # b. the next batch carries the checkpoint over its own entry
    r = tee.get_resource("ns/key/one")
    T.check("signing back: a release", r.status == 200 and tee.decrypt(r.body) == b"v1",
            str(r.status))
    doc = audit_export(b, key)
    new = [kc.token_claims(c) for c in doc["checkpoints"] if c not in cps0]
    last = doc["entries"][-1]
    T.check("... carries the checkpoint over its entry",
            len(doc["checkpoints"]) == len(cps0) + 1 and len(new) == 1 and
            last["seq"] == seq0 + n + 2 and new[0]["seq"] == last["seq"] and
            new[0]["hash"] == last["hash"], "%r, head %d" % (new, last["seq"]))
    T.check("... and logs no failure", logged(b, CP_FAILED) == failed1)
    rc, rep, out = audit_verify(b, wd, doc)
    T.check("coffer audit verify accepts the whole chain, anchored at its head",
            rc == 0 and rep.get("result") == "ok" and
            rep.get("checkpoints") == len(doc["checkpoints"]) and
            rep.get("anchored_seq") == rep.get("last_seq") == last["seq"], out)
    rs = parallel(lambda c: c.get_resource("ns/key/two"), done)
    T.check("the new tokens' sessions fetch ns/key/two",
            all(r.status == 200 and c.decrypt(r.body) == b"v2" for r, c in zip(rs, done)))

    # the checkpoint signed on stop: fails, is logged, and the broker exits
    # 0 having stored nothing; the stop after the next start signs it
    doc = audit_export(b, key)
    if head(doc) == anchored(doc):
        T.status("a release the stop's checkpoint would anchor",
                 tee.get_resource("ns/key/one"), 200)
        doc = audit_export(b, key)
    failed2 = logged(b, CP_FAILED)
    open(flag, "w").close()
    rc = b.stop()
    os.unlink(flag)
    T.check("no signing: a stop exits 0 and logs '%s'" % CP_FAILED,
            rc == 0 and logged(b, CP_FAILED) == failed2 + 1,
            "exit %d, %d failures logged\n%s" % (rc, logged(b, CP_FAILED) - failed2,
                                                  b.read_log()[-3000:] if rc else ""))
    b.start()
    again = audit_export(b, key)
    T.check("... and stored no checkpoint: same entries, same checkpoints",
            again["entries"] == doc["entries"] and again["checkpoints"] == doc["checkpoints"] and
            head(again) > anchored(again), "head %d, checkpoint %d" % (head(again),
                                                                      anchored(again)))
    rc = b.stop()
    b.start()
    doc = audit_export(b, key)
    T.check("signing back: the next stop signs the head",
            rc == 0 and len(doc["checkpoints"]) == len(again["checkpoints"]) + 1 and
            anchored(doc) == head(doc) == head(again), "exit %d, head %d, checkpoint %d" % (
                rc, head(doc), anchored(doc)))
    rc, rep, out = audit_verify(b, wd, doc, "final.json")
    T.check("coffer audit verify accepts the final chain",
            rc == 0 and rep.get("result") == "ok" and rep.get("anchored_seq") == head(doc), out)


if __name__ == "__main__":
    sys.exit(main())
