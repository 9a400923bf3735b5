#!/usr/bin/python3
"""cofferd against an independent client (kbs_client.py, jwcrypto).

Happy paths: RCAR with sample evidence, resources by cookie and by bearer
token, JWE decryption with EC P-256, EC P-521 and RSA keys, JWKS, init-data,
sessions surviving a restart, admin writes. Bad input, one check each: the
documented status (PROTOCOL.md section 3) and an unchanged store.
"""
import base64
import hashlib
import json
import os
import signal
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from jwcrypto import jwk, jwt  # noqa: E402

import kbs_client as kc  # noqa: E402
from cofferd_harness import Broker, Tests, workdir  # noqa: E402

T = Tests()


def snapshot(db):
    """Everything an attacker must not be able to change."""
    c = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        out = {}
        for table in ("resources", "policies", "reference_values", "principals", "audit"):
            out[table] = sorted(c.execute("SELECT * FROM %s" % table).fetchall())
        return out
    finally:
        c.close()


def admin(b, key, method, path, body=b"", **kw):
    r, _ = kc.admin_request(b.url, key, method, path, body, **kw)
    return r


def raw(b, method, path, body=None, headers=None):
    h = kc.Http(b.url)
    try:
        return h.request(method, path, body, headers or {})
    finally:
        h.close()


def test_happy(b, key):
    r = admin(b, key, "POST", "/kbs/v0/resource/default/key/k1", b"secret-one")
    T.status("admin put resource", r, 200)
    r = admin(b, key, "POST", "/kbs/v0/resource/default/key/bin", bytes(range(256)) * 8)
    T.status("admin put binary resource", r, 200)

    for kind in ("ec256", "ec521", "rsa"):
        c = kc.KbsClient(b.url)
        c.handshake(kind)
        r = c.get_resource("default/key/k1")
        T.status("cookie GET (%s)" % kind, r, 200)
        T.check("cookie JWE decrypts (%s)" % kind, r.status == 200 and
                c.decrypt(r.body) == b"secret-one")
        r = c.get_resource("default/key/bin", bearer=c.token, cookie=False)
        T.status("bearer GET (%s)" % kind, r, 200)
        T.check("bearer JWE decrypts (%s)" % kind, r.status == 200 and
                c.decrypt(r.body) == bytes(range(256)) * 8)

    # attesting an attested session returns its token again
    c = kc.KbsClient(b.url)
    c.handshake()
    first, first_pub, first_key = c.token, c.pub, c.key
    r = c.attest(c.attest_body())
    T.check("re-attest returns the same token", r.status == 200 and r.json()["token"] == first)
    c.pub, c.key = first_pub, first_key

    # the token verifies with the published JWKS, and carries the binding
    r = raw(b, "GET", "/kbs/v0/jwks")
    T.status("jwks", r, 200)
    ks = jwk.JWKSet.from_json(r.body)
    t = jwt.JWT(jwt=c.token, key=ks, algs=["ES256"])
    claims = json.loads(t.claims)
    cpu0 = claims["submods"]["cpu0"]
    ae = cpu0["ear.veraison.annotated-evidence"]
    T.check("token verifies with JWKS (ES256)", t.token.jose_header["alg"] == "ES256"
            and "jwk" in t.token.jose_header)
    T.check("token claims", claims["eat_profile"] == "tag:github.com,2023:veraison/ear" and
            claims["exp"] - claims["iat"] == 300 and
            ae["runtime_data_claims"]["tee-pubkey"] == c.pub and
            ae["runtime_data_claims"]["nonce"] == c.nonce and "sample" in ae)
    T.check("ear.status from the worst trust claim (sample: configuration 36 -> warning)",
            cpu0["ear.status"] == "warning" and
            cpu0["ear.trustworthiness-vector"] == {"configuration": 36, "executables": 3,
                                                   "hardware": 2})

    # init-data: the digest of the raw TOML with its algorithm
    toml = 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = "x = 1"\n'
    c = kc.KbsClient(b.url)
    c.auth()
    r = c.attest(c.attest_body(init_data=toml))
    T.status("attest with init-data", r, 200)
    if r.status == 200:
        ae = kc.token_claims(c.token)["submods"]["cpu0"]["ear.veraison.annotated-evidence"]
        T.check("init_data digest", ae.get("init_data") ==
                hashlib.sha384(toml.encode()).hexdigest(), str(ae.get("init_data")))
        T.check("init_data_claims", ae.get("init_data_claims", {}).get("data", {}).get(
            "aa.toml") == "x = 1")

    # hash negotiation: the upstream guest's list gets the default (no
    # announcement); a list without sha384 gets the strongest in common, named
    c = kc.KbsClient(b.url)
    r = c.auth()
    T.check("auth: upstream hash list -> extra-params \"\"", r.json()["extra-params"] == "")
    r = c.auth(body=json.dumps({"version": "0.4.0", "tee": "sample", "extra-params": {
        "supported-hash-algorithms": ["sha256", "sm3"]}}))
    T.check("auth: only sha256 supported -> selected-hash-algorithm sha256",
            r.status == 200 and r.json()["extra-params"] ==
            {"selected-hash-algorithm": "sha256"}, r.body)
    T.status("attest with the sha256 binding", c.attest(c.attest_body()), 200)
    c = kc.KbsClient(b.url)
    c.auth(body=json.dumps({"version": "0.4.0", "tee": "sample", "extra-params": {
        "supported-hash-algorithms": ["sha256"]}}))
    T.status("attest bound with another hash than selected",
             c.attest(c.attest_body(hash_name="sha384")), 401, "AttestationError")

    # additional evidence for another device binds H(JCS({nonce, tee-pubkey}))
    c = kc.KbsClient(b.url)
    c.auth()
    key_, pub = kc.new_tee_key()
    dev_rd = kc.binding_digest(c.nonce, pub, None)
    add = json.dumps({"sample": c.sample_evidence(dev_rd)})
    rd = kc.binding_digest(c.nonce, pub, add)
    body = {"runtime-data": {"nonce": c.nonce, "tee-pubkey": pub},
            "tee-evidence": {"primary_evidence": c.sample_evidence(rd),
                             "additional_evidence": add}}
    c.key, c.pub = key_, pub
    T.status("attest with additional device evidence", c.attest(body), 200)

    # admin reference values and policies (upstream-compatible bodies)
    payload = base64.b64encode(json.dumps({"launch_digest": ["abcde"]}).encode()).decode()
    rv = json.dumps({"version": "0.1.0", "type": "sample", "payload": payload}).encode()
    T.status("admin set reference value", admin(b, key, "POST", "/kbs/v0/reference-value",
                                                rv), 200)
    r = admin(b, key, "GET", "/kbs/v0/reference-value/launch_digest")
    T.check("admin get reference value", r.status == 200 and
            r.json() == {"launch_digest": ["abcde"]}, "%d %s" % (r.status, r.body[:300]))
    pol = kc.b64url(b"package policy\ndefault allow = true\n")
    r = admin(b, key, "POST", "/kbs/v0/resource-policy", json.dumps({"policy": pol}).encode())
    T.status("admin set resource policy", r, 200)
    r = admin(b, key, "GET", "/kbs/v0/resource-policy")
    T.check("admin list resource policies", r.status == 200 and r.json() == ["default"],
            "%d %s" % (r.status, r.body[:300]))
    body = json.dumps({"type": "rego", "policy_id": "default_cpu", "policy": pol}).encode()
    T.status("admin set attestation policy",
             admin(b, key, "POST", "/kbs/v0/attestation-policy", body), 200)
    body = json.dumps({"policy": kc.b64url(b"package policy\nallow if { input.x == 1 }\n")})
    T.status("admin set release policy (namespace owner)",
             admin(b, key, "POST", "/kbs/v0/release-policy/default", body.encode()), 200)
    r = admin(b, key, "GET", "/kbs/v0/release-policy/default")
    T.check("admin get release policy", r.status == 200 and b"input.x == 1" in r.body)
    T.status("admin release policy of a namespace it does not own",
             admin(b, key, "POST", "/kbs/v0/release-policy/other", body.encode()), 403)
    # policies are in force as soon as they are stored: put permissive ones
    # back (an attestation policy must set trust claims) for what follows
    tc = kc.b64url(b"package policy\ntrust_claims := {\"executables\": 3, \"hardware\": 2}\n")
    T.status("admin set attestation policy with trust claims", admin(
        b, key, "POST", "/kbs/v0/attestation-policy",
        json.dumps({"type": "rego", "policy_id": "default_cpu", "policy": tc}).encode()), 200)
    body = json.dumps({"policy": kc.b64url(b"package policy\ndefault allow := true\n")})
    T.status("admin set an allowing release policy (namespace owner)",
             admin(b, key, "POST", "/kbs/v0/release-policy/default", body.encode()), 200)
    r = admin(b, key, "GET", "/kbs/v0/admin/resources?namespace=default")
    T.check("admin list resources (metadata only)", r.status == 200 and
            [e["path"] for e in r.json()] == ["default/key/bin", "default/key/k1"] and
            b"secret-one" not in r.body, r.body[:200])
    T.status("admin delete resource",
             admin(b, key, "DELETE", "/kbs/v0/resource/default/key/bin"), 200)
    T.status("admin delete again", admin(b, key, "DELETE", "/kbs/v0/resource/default/key/bin"),
             404)
    c = kc.KbsClient(b.url)
    c.handshake()
    T.status("GET a deleted resource", c.get_resource("default/key/bin"), 404)

    # an Ed25519 principal signs with EdDSA
    r = raw(b, "GET", "/healthz")
    T.check("healthz", r.status == 200 and r.json() == {"status": "ok"})


def test_trusted_issuer(b, trusted, other):
    """A bearer token from a configured trusted issuer (passport model)."""
    tee_key, tee_pub = kc.new_tee_key()
    now = int(time.time())
    claims = {"iss": "other-as", "iat": now, "exp": now + 60, "submods": {"cpu0": {
        "ear.status": "affirming", "ear.veraison.annotated-evidence": {
            "runtime_data_claims": {"tee-pubkey": tee_pub}}}}}
    t = jwt.JWT(header={"alg": "ES256"}, claims=claims)
    t.make_signed_token(trusted)
    c = kc.KbsClient(b.url)
    r = c.get_resource("default/key/k1", bearer=t.serialize(), cookie=False)
    T.check("bearer token from a trusted_jwks issuer", r.status == 200 and
            c.decrypt(r.body, key=tee_key) == b"secret-one", "%d %s" % (r.status, r.body[:200]))
    claims.pop("exp")
    t = jwt.JWT(header={"alg": "ES256"}, claims=claims)
    t.make_signed_token(trusted)
    T.status("trusted issuer's token without exp", c.get_resource(
        "default/key/k1", bearer=t.serialize(), cookie=False), 401)
    claims["exp"] = now + 60
    t = jwt.JWT(header={"alg": "ES256"}, claims=claims)
    t.make_signed_token(other)
    T.status("same token signed by an untrusted key", c.get_resource(
        "default/key/k1", bearer=t.serialize(), cookie=False), 401)


def test_bad_input(b, key, other_key):
    before = snapshot(b.db())

    # --- auth ---
    c = kc.KbsClient(b.url)
    T.status("auth: wrong version", c.auth(version="0.3.0"), 400, "ProtocolVersion")
    T.status("auth: version as number", c.auth(body='{"version":4,"tee":"sample",'
                                                 '"extra-params":""}'), 400, "SerdeError")
    T.status("auth: not JSON", c.auth(body="{nope"), 400, "SerdeError")
    T.status("auth: JSON array", c.auth(body="[]"), 400, "SerdeError")
    T.status("auth: empty body", c.auth(body=""), 400, "SerdeError")
    T.status("auth: no tee", c.auth(body='{"version":"0.4.0","extra-params":""}'), 400,
             "SerdeError")
    T.status("auth: no extra-params", c.auth(body='{"version":"0.4.0","tee":"sample"}'), 400,
             "SerdeError")
    T.status("auth: duplicate key", c.auth(body='{"version":"0.4.0","version":"0.4.0",'
                                           '"tee":"sample","extra-params":""}'), 400)
    c.tee = "nosuchtee"
    T.status("auth: unknown tee", c.auth(), 400, "UnsupportedTee")
    # the detail quotes 32 bytes of the tee: cut inside the "é", it once
    # left the answer with no body (fuzz_cofferd_request)
    c.tee = "a" * 31 + "\u00e9"
    T.status("auth: unknown tee cut inside a character", c.auth(), 400, "UnsupportedTee")
    c.tee = "sample"
    T.status("auth: GET", raw(b, "GET", "/kbs/v0/auth"), 405)
    T.status("auth: no hash in common", c.auth(body=json.dumps({
        "version": "0.4.0", "tee": "sample", "extra-params": {
            "supported-hash-algorithms": ["sm3"]}})), 400)
    T.status("auth: supported-hash-algorithms not a list", c.auth(body=json.dumps({
        "version": "0.4.0", "tee": "sample", "extra-params": {
            "supported-hash-algorithms": "sha384"}})), 400)

    # --- attest ---
    c = kc.KbsClient(b.url)
    c.auth()
    good = c.attest_body()
    nocookie = kc.KbsClient(b.url)
    nocookie.nonce = c.nonce
    T.status("attest: no cookie", nocookie.attest(good), 401)
    nocookie.cookie = "0" * 32
    T.status("attest: unknown cookie", nocookie.attest(good), 401)
    nocookie.cookie = "../../etc/passwd"
    T.status("attest: garbage cookie", nocookie.attest(good), 401)

    def attest_variant(name, mutate, want=400, want_type="SerdeError"):
        body = json.loads(json.dumps(good))
        mutate(body)
        T.status("attest: " + name, c.attest(body), want, want_type)

    attest_variant("runtime-data missing", lambda x: x.pop("runtime-data"))
    attest_variant("runtime-data not object", lambda x: x.update({"runtime-data": "x"}))
    attest_variant("nonce missing", lambda x: x["runtime-data"].pop("nonce"))
    attest_variant("nonce not string", lambda x: x["runtime-data"].update({"nonce": 5}))
    attest_variant("tee-pubkey missing", lambda x: x["runtime-data"].pop("tee-pubkey"))
    attest_variant("tee-pubkey not object",
                   lambda x: x["runtime-data"].update({"tee-pubkey": "k"}))
    attest_variant("tee-pubkey bad point", lambda x: x["runtime-data"]["tee-pubkey"].update(
        {"x": kc.b64url(b"\x01" * 32)}))
    attest_variant("tee-pubkey bad kty", lambda x: x["runtime-data"]["tee-pubkey"].update(
        {"kty": "oct"}))
    attest_variant("tee-pubkey bad alg", lambda x: x["runtime-data"]["tee-pubkey"].update(
        {"alg": "A128KW"}))
    attest_variant("tee-evidence missing", lambda x: x.pop("tee-evidence"))
    attest_variant("primary_evidence missing",
                   lambda x: x["tee-evidence"].pop("primary_evidence"))
    attest_variant("additional_evidence not string",
                   lambda x: x["tee-evidence"].update({"additional_evidence": {}}))
    attest_variant("init-data not object", lambda x: x.update({"init-data": 7}))
    attest_variant("init-data format", lambda x: x.update(
        {"init-data": {"format": "json", "body": "{}"}}))
    attest_variant("init-data body not string", lambda x: x.update(
        {"init-data": {"format": "toml", "body": 1}}))
    attest_variant("init-data bad TOML", lambda x: x.update(
        {"init-data": {"format": "toml", "body": "algorithm = "}}))
    attest_variant("init-data unknown algorithm", lambda x: x.update(
        {"init-data": {"format": "toml", "body": 'algorithm = "md5"'}}))
    T.status("attest: not JSON", raw(b, "POST", "/kbs/v0/attest", "{x", c.headers()), 400,
             "SerdeError")
    attest_variant("nonce mismatch", lambda x: x["runtime-data"].update(
        {"nonce": base64.b64encode(os.urandom(32)).decode()}), 401, "AttestationError")
    # none of the above spent the nonce: the good body still works
    T.status("attest: good body after bad ones", c.attest(good), 200)

    # report_data bound to a different tee-pubkey
    c = kc.KbsClient(b.url)
    c.auth()
    _, other_pub = kc.new_tee_key()
    body = c.attest_body(bind_pub=other_pub)
    T.status("attest: report_data bound to another tee-pubkey", c.attest(body), 401,
             "AttestationError")
    # that attempt spent the nonce: using it again is refused
    T.status("attest: nonce used twice", c.attest(c.attest_body()), 401, "AttestationError")
    # captured evidence replayed in a new session (new nonce)
    c2 = kc.KbsClient(b.url)
    c2.auth()
    body["runtime-data"]["nonce"] = c2.nonce
    T.status("attest: evidence replayed in a new session", c2.attest(body), 401,
             "AttestationError")
    # malformed sample evidence
    c3 = kc.KbsClient(b.url)
    c3.auth()
    body = c3.attest_body()
    body["tee-evidence"]["primary_evidence"] = {"svn": "1"}
    T.status("attest: malformed sample evidence", c3.attest(body), 401, "AttestationError")

    # --- resource ---
    c = kc.KbsClient(b.url)
    T.status("resource: no cookie, no token", c.get_resource("default/key/k1"), 401)
    c.cookie = "f" * 32
    T.status("resource: unknown cookie", c.get_resource("default/key/k1"), 401)
    c = kc.KbsClient(b.url)
    c.auth()
    T.status("resource: session not attested", c.get_resource("default/key/k1"), 401)
    c.handshake()
    for p in ("default/key/..", "../key/k1", "default/../k1", "%2e%2e/key/k1",
              "default/%2E%2E/k1", "default/key%2Fk1/x", "default%2fkey/k1", "default//k1",
              "default/key/", "/default/key/k1", "default/key", "default/key/k1/extra",
              ".hidden/key/k1", "default/key/k%001", "default/key/k%20"):
        T.status("resource path %r" % p, c.get_resource(p), 404, "InvalidRequestPath")
    T.status("resource: unknown", c.get_resource("default/key/nope"), 404)

    # bearer tokens: another signer, alg none, garbage, tampered
    claims = kc.token_claims(c.token)
    forged = jwt.JWT(header={"alg": "ES256", "typ": "JWT"}, claims=claims)
    forged.make_signed_token(other_key)
    T.status("bearer: signed by another key", c.get_resource("default/key/k1",
                                                             bearer=forged.serialize(),
                                                             cookie=False), 401,
             "TokenVerifierError")
    none_tok = kc.b64url(b'{"alg":"none","typ":"JWT"}') + "." + \
        kc.b64url(json.dumps(claims).encode()) + "."
    T.status("bearer: alg none", c.get_resource("default/key/k1", bearer=none_tok,
                                                cookie=False), 401, "TokenVerifierError")
    h, p_, s = c.token.split(".")
    claims2 = dict(claims)
    claims2["exp"] = claims["exp"] + 3600
    tampered = h + "." + kc.b64url(json.dumps(claims2).encode()) + "." + s
    T.status("bearer: tampered claims", c.get_resource("default/key/k1", bearer=tampered,
                                                       cookie=False), 401)
    T.status("bearer: garbage", c.get_resource("default/key/k1", bearer="abc",
                                               cookie=False), 401)
    hdrs = {"Authorization": "Basic Zm9vOmJhcg=="}
    T.status("bearer: wrong scheme", raw(b, "GET", "/kbs/v0/resource/default/key/k1", None,
                                         hdrs), 401)

    # body limit (2 MiB default)
    sock = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    sock.sendall(b"POST /kbs/v0/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                 b"\r\nContent-Length: %d\r\n\r\n" % (2 * 1024 * 1024 + 1))
    head = sock.recv(4096)
    sock.close()
    T.check("body over the limit (Content-Length) -> 413 before the body is read",
            head.startswith(b"HTTP/1.1 413"), head[:60])
    T.status("body at the limit is read (and judged on its content)",
             raw(b, "POST", "/kbs/v0/auth", b" " * (2 * 1024 * 1024),
                 {"Content-Type": "application/json"}), 400, "SerdeError")
    h = kc.Http(b.url)
    h.conn = h._connect()
    h.conn.putrequest("POST", "/kbs/v0/auth")
    h.conn.putheader("Transfer-Encoding", "chunked")
    h.conn.endheaders()
    chunk = b"y" * 65536
    try:
        for _ in range(40):
            h.conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        h.conn.send(b"0\r\n\r\n")
        resp = h.conn.getresponse()
        st = resp.status
    except (BrokenPipeError, ConnectionResetError):
        st = 413
    h.close()
    T.check("body over the limit (chunked) -> 413", st == 413, str(st))
    T.status("unknown endpoint", raw(b, "GET", "/kbs/v0/nope"), 404)

    # --- admin ---
    put = "/kbs/v0/resource/default/key/admin-test"
    T.status("admin: no token", raw(b, "POST", put, b"v"), 401, "AdminAuthAccess")
    T.status("admin: expired token",
             admin(b, key, "POST", put, b"v", iat=int(time.time()) - 400, lifetime=60), 401)
    T.status("admin: lifetime over 300 s", admin(b, key, "POST", put, b"v", lifetime=301), 401)
    T.status("admin: unknown key", admin(b, other_key, "POST", put, b"v"), 401)
    T.status("admin: signed by another key for the principal's sub",
             admin(b, other_key, "POST", put, b"v", sub=key.thumbprint()), 401)
    tok = kc.admin_jwt(key, "POST", put, b"v")
    hdr = {"Authorization": "Bearer " + tok}
    T.status("admin: bound to another body", raw(b, "POST", put, b"w", hdr), 401)
    T.status("admin: bound to another path",
             raw(b, "POST", "/kbs/v0/resource/default/key/other", b"v", hdr), 401)
    T.status("admin: bound to another method", raw(b, "DELETE", put, b"v", hdr), 401)
    tok = kc.admin_jwt(key, "GET", "/kbs/v0/resource-policy")
    hdr = {"Authorization": "Bearer " + tok}
    T.status("admin: first use", raw(b, "GET", "/kbs/v0/resource-policy", None, hdr), 200)
    T.status("admin: replayed", raw(b, "GET", "/kbs/v0/resource-policy", None, hdr), 401)
    nojti = jwt.JWT(header={"alg": "ES256"}, claims={
        "sub": key.thumbprint(), "iat": int(time.time()), "exp": int(time.time()) + 60,
        "htm": "POST", "htu": put, "bdh": kc.b64url(hashlib.sha256(b"v").digest())})
    nojti.make_signed_token(key)
    T.status("admin: no jti", raw(b, "POST", put, b"v",
                                  {"Authorization": "Bearer " + nojti.serialize()}), 401)
    noexp = jwt.JWT(header={"alg": "ES256"}, claims={
        "sub": key.thumbprint(), "iat": int(time.time()), "jti": "x1",
        "htm": "POST", "htu": put, "bdh": kc.b64url(hashlib.sha256(b"v").digest())})
    noexp.make_signed_token(key)
    T.status("admin: no exp", raw(b, "POST", put, b"v",
                                  {"Authorization": "Bearer " + noexp.serialize()}), 401)
    T.status("admin: bad path", admin(b, key, "POST", "/kbs/v0/resource/default/../x", b"v"),
             404)
    T.status("admin: bad refval JSON", admin(b, key, "POST", "/kbs/v0/reference-value",
                                             b"{bad"), 400)
    T.status("admin: refval wrong type", admin(
        b, key, "POST", "/kbs/v0/reference-value",
        json.dumps({"version": "0.1.0", "type": "x", "payload": ""}).encode()), 400)
    T.status("admin: refval payload not base64", admin(
        b, key, "POST", "/kbs/v0/reference-value",
        json.dumps({"version": "0.1.0", "type": "sample", "payload": "!!"}).encode()), 400)
    T.status("admin: policy not base64url", admin(
        b, key, "POST", "/kbs/v0/resource-policy", b'{"policy":"@@"}'), 400)
    T.status("admin: policy missing", admin(b, key, "POST", "/kbs/v0/resource-policy", b"{}"),
             400)
    T.status("admin: policy that does not compile", admin(
        b, key, "POST", "/kbs/v0/resource-policy",
        json.dumps({"policy": kc.b64url(b"package policy\nallow if {")}).encode()), 400,
        "ParsePolicyError")
    T.status("admin: attestation policy without id", admin(
        b, key, "POST", "/kbs/v0/attestation-policy",
        json.dumps({"type": "rego", "policy": kc.b64url(b"package policy")}).encode()), 400)

    after = snapshot(b.db())
    T.check("store unchanged by every bad request", before == after,
            json.dumps({k: (len(before[k]), len(after[k])) for k in before}))


def test_sample_refused(b, cfg_settings):
    """Normal mode refuses `sample` unless the config allows it (SIGHUP reload)."""
    s = json.loads(json.dumps(cfg_settings))
    s["attestation"]["allow_sample"] = False
    b.write_config(s)
    b.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    r = None
    while time.time() < deadline:
        r = kc.KbsClient(b.url).auth()
        if r.status == 400:
            break
        time.sleep(0.05)
    T.status("sample refused when not allowed (after SIGHUP)", r, 400, "UnsupportedTee")
    b.write_config(cfg_settings)
    b.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline:
        r = kc.KbsClient(b.url).auth()
        if r.status == 200:
            break
        time.sleep(0.05)
    T.status("sample accepted again after SIGHUP", r, 200)


def test_expiry(workdir_):
    # lifetimes count in whole seconds: a session of 2 s is certainly expired
    # 3 s later and certainly alive for the first second
    b = Broker(workdir_, "short", {"attestation": {"allow_sample": True, "session_lifetime": 2,
                                                   "token_lifetime": 3}}).start()
    try:
        c = kc.KbsClient(b.url)
        c.auth()
        body = c.attest_body()
        time.sleep(3.1)
        T.status("expired session", c.attest(body), 401)
        c = kc.KbsClient(b.url)
        c.handshake()
        # default resource policy: sample evidence is denied (upstream semantics)
        T.status("default resource policy denies sample", c.get_resource("default/key/k1"),
                 403, "PolicyDeny")
        tok = c.token
        time.sleep(4.1)
        T.status("expired token (bearer)", c.get_resource("default/key/k1", bearer=tok,
                                                          cookie=False), 401)
        T.status("expired token (cookie)", c.get_resource("default/key/k1"), 401)
    finally:
        b.stop()


def test_restart(b, key):
    """Sessions live in the store: a restarted broker continues them."""
    c = kc.KbsClient(b.url)
    c.handshake()
    c2 = kc.KbsClient(b.url)
    c2.auth()
    rc = b.stop()
    T.check("SIGTERM exits 0", rc == 0, str(rc))
    b.start()
    c.http = kc.Http(b.url)
    r = c.get_resource("default/key/k1")
    T.check("cookie session continues after restart", r.status == 200 and
            c.decrypt(r.body) == b"secret-one", str(r.status))
    c2.http = kc.Http(b.url)
    T.status("auth session continues after restart", c2.attest(c2.attest_body()), 200)


def test_two_brokers(b, wd):
    """A second broker on the same store continues the first one's sessions."""
    b2 = Broker(wd, "second", dict(b.settings))
    b2.write_config(b.settings)
    # same data directory: same database, master key and signing key
    with open(b2.config) as f:
        cfg = f.read().replace(b2.data, b.data)
    with open(b2.config, "w") as f:
        f.write(cfg)
    b2.data = b.data
    b2.start()
    try:
        c = kc.KbsClient(b.url)
        c.auth()
        c.http = kc.Http(b2.url)
        body = c.attest_body()
        T.status("session from broker A attested on broker B", c.attest(body), 200)
        c.http = kc.Http(b.url)
        # A created the session (and remembers it until its attest): attesting
        # it again on A returns the token B issued, as for any attested session
        first = c.token
        r = c.attest(body)
        T.status("attested on B, attested again on A", r, 200)
        T.check("and A answers with B's token",
                r.status == 200 and r.json().get("token") == first)
        # a session A remembers whose nonce B spent on a failed attestation:
        # A's attest reaches the store's conditional update and is refused
        c3 = kc.KbsClient(b.url)
        c3.auth()
        c3.http = kc.Http(b2.url)
        _, other_pub = kc.new_tee_key()
        T.status("A's session, bad binding on B", c3.attest(c3.attest_body(bind_pub=other_pub)),
                 401, "AttestationError")
        c3.http = kc.Http(b.url)
        T.status("then a good attest on A: nonce already spent",
                 c3.attest(c3.attest_body()), 401, "AttestationError")
        r = c.get_resource("default/key/k1")
        T.check("and its resource fetched from broker A", r.status == 200 and
                c.decrypt(r.body) == b"secret-one", str(r.status))
        r = c.get_resource("default/key/k1", bearer=c.token, cookie=False)
        T.status("B's token accepted by A as a bearer token", r, 200)
    finally:
        b2.stop()


def test_graceful_stop(b, key):
    """SIGTERM lets a request in flight finish; the write is durable."""
    value = b"v" * (256 * 1024)
    path = "/kbs/v0/resource/default/key/inflight"
    tok = kc.admin_jwt(key, "POST", path, value)
    sock = socket.create_connection(("127.0.0.1", b.port), timeout=20)
    sock.sendall(b"POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                 b"Content-Length: %d\r\n\r\n" % (path.encode(), tok.encode(), len(value)))
    sock.sendall(value[:1000])
    time.sleep(0.2)
    b.send_signal(signal.SIGTERM)
    refused = False
    deadline = time.time() + 10
    while not refused and time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", b.port), timeout=2).close()
            time.sleep(0.05)
        except OSError:
            refused = True
    T.check("no new connections once stopping", refused)
    T.check("broker waits for the request in flight", b.proc.poll() is None)
    sock.sendall(value[1000:])
    head = sock.recv(4096)
    sock.close()
    T.check("the request in flight is answered 200", head.startswith(b"HTTP/1.1 200"),
            head[:80])
    rc = b.proc.wait(20)
    T.check("then it exits 0", rc == 0, str(rc))
    b.proc = None
    b.start()
    c = kc.KbsClient(b.url)
    c.handshake()
    r = c.get_resource("default/key/inflight")
    T.check("the write made during shutdown is there", r.status == 200 and
            c.decrypt(r.body) == value)


def test_dev_mode(wd):
    b = Broker(wd, "dev", dev=True).start()
    try:
        st = os.stat(os.path.join(b.data, "admin.jwk"))
        T.check("dev: admin.jwk is 0600", (st.st_mode & 0o777) == 0o600, oct(st.st_mode))
        st = os.stat(os.path.join(b.data, "master.key"))
        T.check("dev: master.key is 0600", (st.st_mode & 0o777) == 0o600, oct(st.st_mode))
        T.check("dev: banner", "NOT FOR PRODUCTION" in b.read_log())
        key = jwk.JWK.from_json(open(os.path.join(b.data, "admin.jwk")).read())
        T.status("dev: admin key works", admin(b, key, "POST",
                                               "/kbs/v0/resource/default/key/d", b"dev-secret-7731"), 200)
        c = kc.KbsClient(b.url)
        c.handshake()
        r = c.get_resource("default/key/d")
        T.check("dev: sample accepted, resource released", r.status == 200 and
                c.decrypt(r.body) == b"dev-secret-7731")
        log = b.read_log()
        T.check("dev: log never holds the nonce, token or secret",
                c.nonce not in log and c.token not in log and c.token.split(".")[2] not in log
                and "dev-secret-7731" not in log)
    finally:
        b.stop()


def main():
    wd = workdir()
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    other = jwk.JWK.generate(kty="EC", crv="P-256")
    os.makedirs(os.path.join(wd, "keys"))
    pub_path = os.path.join(wd, "keys", "admin.pub.jwk")
    with open(pub_path, "w") as f:
        f.write(key.export_public())
    trusted = jwk.JWK.generate(kty="EC", crv="P-256")
    trusted_path = os.path.join(wd, "keys", "trusted.jwks")
    with open(trusted_path, "w") as f:
        f.write(json.dumps({"keys": [json.loads(trusted.export_public())]}))
    settings = {"attestation": {"allow_sample": True, "trusted_jwks": [trusted_path]},
                "policy": {"resource": "allow_all", "release": "allow_all"},
                "admin": {"bootstrap_key": pub_path, "bootstrap_namespaces": ["default"],
                          "allow_plaintext_upload": True}}  # upstream clients upload plaintext
    b = Broker(wd, "main", settings).start()
    try:
        test_happy(b, key)
        test_trusted_issuer(b, trusted, other)
        test_bad_input(b, key, other)
        test_sample_refused(b, settings)
        r = raw(b, "GET", "/metrics")
        m = r.body.decode()
        T.check("metrics: requests, latency, attestations, releases",
                r.status == 200 and 'cofferd_http_requests_total{endpoint="attest"' in m and
                "cofferd_http_request_duration_seconds_bucket" in m and
                'cofferd_attestations_total{tee="sample",result="success"}' in m and
                'cofferd_attestations_total{tee="sample",result="failure"}' in m and
                'cofferd_releases_total{decision="allowed"}' in m)
        test_restart(b, key)
        test_two_brokers(b, wd)
        test_graceful_stop(b, key)
        log = b.read_log()
        T.check("log lines are JSON", all(json.loads(line) for line in log.splitlines()
                                          if line.startswith("{")))
        T.check("log holds no secret value", "secret-one" not in log)
    finally:
        b.stop()
    test_expiry(wd)
    test_dev_mode(wd)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
