#!/usr/bin/python3
"""An independent KBS 0.4.0 broker, written from PROTOCOL.md sections 1-3
with python3-jwcrypto (not from cofferd's code), to check coffer-agent's
client side: RCAR, the report_data binding, init-data, and JWE answers for
P-256, P-521 and RSA TEE keys. It also misbehaves on request, so the agent's
handling of hostile answers can be tested.

Resource tags choose the answer of GET /kbs/v0/resource/<repo>/<type>/<tag>:
  good       the JWE of the stored value (any other unknown tag: 404)
  malformed  "{not json"            truncated  half of a valid JWE
  oversized  5 MiB of JSON          notjwe     {"hello": 1}
  wrongalg   a JWE with alg ECDH-ES / RSA-OAEP (not the key's alg)
  otherkey   a JWE for another key  deny       403 PolicyDeny
  flaky      500 twice, then good   expire     401 once per session, then good
POST /control {"auth": mode, "hash": name, "token": mode} sets what auth and
attest answer (auth modes: ok, malformed, nononce, badhash; token: ok, notjwt).
"""
import base64
import hashlib
import json
import os
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from jwcrypto import jwe, jwk, jwt

PREFIX = "/kbs/v0"
ERR = "https://github.com/confidential-containers/kbs/errors/"


def jcs(v):
    """RFC 8785 for the values used here (ASCII strings, objects, arrays)."""
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def binding(nonce, tee_pubkey, additional, hash_name):
    doc = {"nonce": nonce, "tee-pubkey": tee_pubkey}
    if additional is not None:
        doc["additional-evidence"] = additional
    return hashlib.new(hash_name, jcs(doc)).digest()


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.sessions = {}
        self.resources = {}
        self.signing = jwk.JWK.generate(kty="EC", crv="P-256")
        self.auth_mode = "ok"
        self.hash = None  # None: leave extra-params "", client uses sha384
        self.token_mode = "ok"
        self.token_lifetime = 300
        self.attests = 0
        self.binding_ok = 0
        self.init_data = []
        self.flaky = 0
        self.expired_once = False
        self.log = []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pykbs/0.1"

    def log_message(self, fmt, *args):
        self.server.state.log.append(fmt % args)

    def send(self, status, body, ctype="application/json", headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, variant, detail):
        self.send(status, {"type": ERR + variant, "detail": detail})

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return self.rfile.read(n)

    def session(self):
        c = self.headers.get("Cookie", "")
        for part in c.split(";"):
            k, _, v = part.strip().partition("=")
            if k == "kbs-session-id":
                return v, self.server.state.sessions.get(v)
        return None, None

    def do_POST(self):
        st = self.server.state
        data = self.body()
        if self.path == "/control":
            c = json.loads(data)
            with st.lock:
                st.auth_mode = c.get("auth", st.auth_mode)
                st.hash = c.get("hash", st.hash)
                st.token_mode = c.get("token", st.token_mode)
            return self.send(200, {"ok": True})
        if self.path == PREFIX + "/auth":
            return self.auth(data)
        if self.path == PREFIX + "/attest":
            return self.attest(data)
        self.error(404, "InvalidRequestPath", "no such endpoint")

    def auth(self, data):
        st = self.server.state
        try:
            req = json.loads(data)
        except ValueError:
            return self.error(400, "SerdeError", "bad JSON")
        if req.get("version") != "0.4.0":
            return self.error(400, "ProtocolVersion", "want 0.4.0")
        if st.auth_mode == "malformed":
            return self.send(200, b'{"nonce": ')
        if st.auth_mode == "nononce":
            return self.send(200, {"extra-params": ""})
        nonce = base64.b64encode(secrets.token_bytes(32)).decode()
        sid = secrets.token_hex(16)
        st.sessions[sid] = {"nonce": nonce, "tee": req.get("tee"), "key": None,
                            "hash": st.hash or ("sha512" if req.get("tee") == "se" else "sha384")}
        extra = ""
        if st.auth_mode == "badhash":
            extra = {"selected-hash-algorithm": "md5"}
        elif st.hash:
            extra = {"selected-hash-algorithm": st.hash}
        self.send(200, {"nonce": nonce, "extra-params": extra},
                  headers={"Set-Cookie": "kbs-session-id=%s; Path=/kbs; HttpOnly" % sid})

    def attest(self, data):
        st = self.server.state
        sid, s = self.session()
        if s is None:
            return self.error(401, "TokenNotFound", "no session")
        try:
            req = json.loads(data)
            rt = req["runtime-data"]
            ev = req["tee-evidence"]
            pub = rt["tee-pubkey"]
        except (ValueError, KeyError, TypeError):
            return self.error(400, "SerdeError", "bad attest request")
        if rt.get("nonce") != s["nonce"]:
            return self.error(401, "AttestationError", "nonce mismatch")
        s["nonce"] = None  # single use
        add = ev.get("additional_evidence")
        if not isinstance(add, str):
            return self.error(400, "SerdeError", "additional_evidence must be a string")
        want = binding(rt["nonce"], pub, add, s["hash"])
        prim = ev.get("primary_evidence") or {}
        if s["tee"] != "sample":
            return self.error(401, "AttestationError", "this broker knows sample only")
        got = base64.b64decode(prim.get("report_data", ""))
        if got != want:
            return self.error(401, "AttestationError", "report_data does not bind nonce+key")
        st.binding_ok += 1
        # the key must be usable for the JWE the protocol names
        key = jwk.JWK(**pub)
        if pub.get("kty") == "EC" and pub.get("alg") != "ECDH-ES+A256KW":
            return self.error(400, "SerdeError", "EC tee-pubkey alg must be ECDH-ES+A256KW")
        if pub.get("kty") == "RSA" and pub.get("alg") not in ("RSA-OAEP-256", "RSA1_5"):
            return self.error(400, "SerdeError", "RSA tee-pubkey alg")
        if "init-data" in req:
            idd = req["init-data"]
            if idd.get("format") != "toml":
                return self.error(400, "SerdeError", "init-data format")
            st.init_data.append(idd["body"])
        s["key"] = (key, pub["alg"])
        st.attests += 1
        now = int(time.time())
        if st.token_mode == "notjwt":
            return self.send(200, {"token": "not-a-jwt"})
        tok = jwt.JWT(header={"alg": "ES256"},
                      claims={"iat": now, "exp": now + st.token_lifetime, "iss": "pykbs",
                              "submods": {"cpu0": {"ear.status": "affirming"}}})
        tok.make_signed_token(st.signing)
        self.send(200, {"token": tok.serialize()},
                  headers={"Set-Cookie": "kbs-session-id=%s; Path=/kbs; HttpOnly" % sid})

    def jwe_for(self, key, alg, value):
        e = jwe.JWE(value, protected=json.dumps({"alg": alg, "enc": "A256GCM"}))
        e.add_recipient(key)
        return e.serialize(compact=False).encode()

    def do_GET(self):
        st = self.server.state
        if not self.path.startswith(PREFIX + "/resource/"):
            return self.error(404, "InvalidRequestPath", "no such endpoint")
        parts = self.path[len(PREFIX + "/resource/"):].split("/")
        if len(parts) != 3:
            return self.error(404, "InvalidRequestPath", "want repo/type/tag")
        sid, s = self.session()
        if s is None or s["key"] is None:
            return self.error(401, "TokenNotFound", "not attested")
        key, alg = s["key"]
        tag = parts[2]
        value = st.resources.get("/".join(parts), b"value-of-" + tag.encode())
        if tag == "good":
            return self.send(200, self.jwe_for(key, alg, value))
        if tag == "malformed":
            return self.send(200, b"{not json")
        if tag == "truncated":
            full = self.jwe_for(key, alg, value)
            return self.send(200, full[: len(full) // 2])
        if tag == "oversized":
            return self.send(200, b'{"x":"' + b"A" * (5 * 1024 * 1024) + b'"}')
        if tag == "notjwe":
            return self.send(200, {"hello": 1})
        if tag == "wrongalg":
            other = "ECDH-ES" if alg.startswith("ECDH") else "RSA-OAEP"
            return self.send(200, self.jwe_for(key, other, value))
        if tag == "otherkey":
            pub = key.export_public(as_dict=True)
            if pub["kty"] == "EC":
                k2 = jwk.JWK.generate(kty="EC", crv=pub["crv"])
            else:
                k2 = jwk.JWK.generate(kty="RSA", size=2048)
            return self.send(200, self.jwe_for(k2, alg, value))
        if tag == "deny":
            return self.error(403, "PolicyDeny", "resource policy denied")
        if tag == "flaky":
            with st.lock:
                st.flaky += 1
                n = st.flaky
            if n % 3 != 0:
                return self.error(500, "PluginInternalError", "try again")
            return self.send(200, self.jwe_for(key, alg, value))
        if tag == "expire":
            with st.lock:
                first = not st.expired_once
                st.expired_once = True
            if first:
                st.sessions.pop(sid, None)
                return self.error(401, "TokenNotFound", "session expired")
            return self.send(200, self.jwe_for(key, alg, value))
        return self.error(404, "ResourceNotFound", "no resource")


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that hangs up on an oversized answer is expected


def serve(port=0, tls=None):
    """tls: (certfile, keyfile) to answer over HTTPS."""
    srv = Server(("127.0.0.1", port), Handler)
    if tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    srv.state = State()
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    return srv


if __name__ == "__main__":
    s = serve(int(os.environ.get("PORT", "0")))
    print("listening on 127.0.0.1:%d" % s.server_address[1], flush=True)
    threading.Event().wait()
