#!/usr/bin/python3
"""An independent KBS 0.4.0 client, written from PROTOCOL.md only.

It shares no code with Coffer: python3-jwcrypto and python3-cryptography do
the JOSE and the crypto, the standard library does HTTP and JSON. It performs
RCAR with `sample` evidence, fetches resources with the session cookie or a
bearer token, decrypts the JWE with the ephemeral key, and signs admin JWTs
(PERSONAS.md rule 4).

Usage as a program:
  kbs_client.py get-resource URL repo/type/tag [--key-type ec256|ec521|rsa]
  kbs_client.py token URL
"""
import base64
import hashlib
import http.client
import json
import sys
import time
import urllib.parse
import uuid

from jwcrypto import jwe, jwk, jwt

KBS_VERSION = "0.4.0"
COOKIE = "kbs-session-id"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jcs(value):
    """RFC 8785 for the shapes the binding uses (objects of strings):
    sorted keys, no whitespace, minimal escaping."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def binding_digest(nonce, tee_pubkey, additional_evidence="", hash_name="sha384"):
    """PROTOCOL.md section 1: H(JCS({additional-evidence, nonce, tee-pubkey}))."""
    obj = {"nonce": nonce, "tee-pubkey": tee_pubkey}
    if additional_evidence is not None:
        obj["additional-evidence"] = additional_evidence
    return hashlib.new(hash_name, jcs(obj).encode()).digest()


def new_tee_key(kind="ec256"):
    """An ephemeral TEE key and its public JWK as the guest sends it."""
    if kind == "ec256":
        key = jwk.JWK.generate(kty="EC", crv="P-256")
        alg = "ECDH-ES+A256KW"
    elif kind == "ec521":
        key = jwk.JWK.generate(kty="EC", crv="P-521")
        alg = "ECDH-ES+A256KW"
    elif kind == "rsa":
        key = jwk.JWK.generate(kty="RSA", size=2048)
        alg = "RSA-OAEP-256"
    else:
        raise ValueError(kind)
    pub = json.loads(key.export_public())
    pub["alg"] = alg
    return key, pub


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def error_type(self):
        try:
            return self.json().get("type", "")
        except ValueError:
            return ""


class Http:
    """Raw HTTP/1.1 over one keep-alive connection: the path is sent
    exactly as given (no normalisation), which the bad-path tests need."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host = u.hostname
        self.port = u.port
        self.https = u.scheme == "https"
        self.conn = None

    def _connect(self):
        if self.https:
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(self.host, self.port, context=ctx, timeout=30)
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        if isinstance(body, str):
            body = body.encode()
        for attempt in range(2):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                resp = Response(r.status, r.getheaders(), data)
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class KbsClient:
    def __init__(self, base, tee="sample"):
        self.http = Http(base)
        self.tee = tee
        self.cookie = None
        self.nonce = None
        self.token = None
        self.key = None
        self.pub = None
        self.hash_name = "sha384"

    def headers(self, extra=None):
        h = {"Content-Type": "application/json"}
        if self.cookie:
            h["Cookie"] = "%s=%s" % (COOKIE, self.cookie)
        h.update(extra or {})
        return h

    def auth(self, version=KBS_VERSION, body=None):
        if body is None:
            body = json.dumps({"version": version, "tee": self.tee,
                               "extra-params": {"supported-hash-algorithms":
                                                ["sha256", "sha384", "sha512", "sm3"]}})
        r = self.http.request("POST", "/kbs/v0/auth", body, {"Content-Type": "application/json"})
        if r.status == 200:
            for k, v in r.headers:
                if k.lower() == "set-cookie" and v.startswith(COOKIE + "="):
                    self.cookie = v.split(";")[0].split("=", 1)[1]
            self.nonce = r.json()["nonce"]
            ep = r.json().get("extra-params")
            # PROTOCOL.md section 1: the broker may name the binding hash
            self.hash_name = ep.get("selected-hash-algorithm", "sha384") \
                if isinstance(ep, dict) else "sha384"
        return r

    def sample_evidence(self, report_data):
        return {"svn": "1", "report_data": base64.b64encode(report_data).decode()}

    def attest_body(self, key_kind="ec256", nonce=None, bind_pub=None, init_data=None,
                    additional="", hash_name=None):
        self.key, self.pub = new_tee_key(key_kind)
        nonce = self.nonce if nonce is None else nonce
        rd = binding_digest(nonce, bind_pub if bind_pub is not None else self.pub, additional,
                            hash_name or self.hash_name)
        body = {"runtime-data": {"nonce": nonce, "tee-pubkey": self.pub},
                "tee-evidence": {"primary_evidence": self.sample_evidence(rd),
                                 "additional_evidence": additional}}
        if init_data is not None:
            body["init-data"] = {"format": "toml", "body": init_data}
        return body

    def attest(self, body):
        r = self.http.request("POST", "/kbs/v0/attest", json.dumps(body), self.headers())
        if r.status == 200:
            self.token = r.json()["token"]
        return r

    def handshake(self, key_kind="ec256", init_data=None):
        r = self.auth()
        if r.status != 200:
            raise RuntimeError("auth: %d %s" % (r.status, r.body))
        r = self.attest(self.attest_body(key_kind, init_data=init_data))
        if r.status != 200:
            raise RuntimeError("attest: %d %s" % (r.status, r.body))
        return self.token

    def get_resource(self, path, bearer=None, cookie=True):
        h = {}
        if bearer:
            h["Authorization"] = "Bearer " + bearer
        if cookie and self.cookie:
            h["Cookie"] = "%s=%s" % (COOKIE, self.cookie)
        return self.http.request("GET", "/kbs/v0/resource/" + path, None, h)

    def decrypt(self, body, key=None):
        """The resource JWE: flattened JSON, members in PROTOCOL.md order,
        header serialized alg, enc, then the rest sorted."""
        key = key or self.key
        obj = json.loads(body, object_pairs_hook=list)
        names = [k for k, _ in obj]
        if names != ["protected", "encrypted_key", "iv", "ciphertext", "tag"]:
            raise AssertionError("JWE member order %r" % names)
        protected = dict(obj)["protected"]
        hdr_text = base64.urlsafe_b64decode(protected + "=" * (-len(protected) % 4)).decode()
        hdr = json.loads(hdr_text, object_pairs_hook=list)
        keys = [k for k, _ in hdr]
        if keys[:2] != ["alg", "enc"] or keys[2:] != sorted(keys[2:]):
            raise AssertionError("protected header order %r" % keys)
        h = dict(hdr)
        if h["enc"] != "A256GCM":
            raise AssertionError("enc %s" % h["enc"])
        if "epk" in h:
            epk = h["epk"]
            ek = [k for k, _ in epk]
            if ek != sorted(ek):
                raise AssertionError("epk member order %r" % ek)
            size = {"P-256": 32, "P-384": 48, "P-521": 66}[dict(epk)["crv"]]
            for c in ("x", "y"):
                v = dict(epk)[c]
                if len(base64.urlsafe_b64decode(v + "=" * (-len(v) % 4))) != size:
                    raise AssertionError("epk %s not %d bytes" % (c, size))
            # the upstream client re-serializes the header: it must match
            reser = json.dumps({"alg": h["alg"], "enc": h["enc"],
                                "epk": dict(sorted(dict(epk).items()))},
                               separators=(",", ":"))
            if reser != hdr_text:
                raise AssertionError("header does not re-serialize: %s" % hdr_text)
        tok = jwe.JWE()
        tok.deserialize(body.decode() if isinstance(body, bytes) else body, key=key)
        return tok.payload


def token_claims(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


def admin_jwt(key, method, path, body=b"", lifetime=60, iat=None, jti=None, sub=None,
              alg="ES256"):
    """PERSONAS.md rule 4: sub, iat, exp, jti, htm, htu, bdh."""
    now = int(time.time()) if iat is None else iat
    claims = {"sub": sub or key.thumbprint(), "iat": now, "exp": now + lifetime,
              "jti": jti or str(uuid.uuid4()), "htm": method, "htu": path,
              "bdh": b64url(hashlib.sha256(body).digest())}
    t = jwt.JWT(header={"alg": alg, "typ": "JWT"}, claims=claims)
    t.make_signed_token(key)
    return t.serialize()


def admin_request(base, key, method, path, body=b"", **kw):
    h = Http(base)
    tok = admin_jwt(key, method, path.split("?")[0], body, **kw)
    try:
        return h.request(method, path, body or None,
                         {"Authorization": "Bearer " + tok,
                          "Content-Type": "application/octet-stream"}), tok
    finally:
        h.close()


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    cmd, base = argv[1], argv[2]
    kind = "ec256"
    if "--key-type" in argv:
        kind = argv[argv.index("--key-type") + 1]
    c = KbsClient(base)
    c.handshake(kind)
    if cmd == "token":
        print(c.token)
        return 0
    if cmd == "get-resource":
        r = c.get_resource(argv[3])
        if r.status != 200:
            print("error %d %s" % (r.status, r.body.decode()), file=sys.stderr)
            return 1
        sys.stdout.buffer.write(c.decrypt(r.body))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
