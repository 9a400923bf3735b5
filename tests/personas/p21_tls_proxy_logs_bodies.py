#!/usr/bin/python3
"""P21 (any persona; the operator runs the ingress): a secret is uploaded
through a TLS-terminating proxy that logs request bodies (haproxy with
`option http-buffer-request` and `http-request capture req.body`, a
self-signed certificate made here, the CLI pinning it with --cacert). The
proxy log holds the request but not the plaintext: `coffer resource put`
seals the value to the broker's upload key. Control: a plaintext upload
(accepted by the development broker) through the same proxy IS in the log,
so the capture works; and an attested TEE receives the sealed value intact.
A production broker (no --dev) refuses the plaintext upload outright (415)."""
import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import time

import harness as h


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test(T, work):
    if not shutil.which("haproxy") or not shutil.which("openssl"):
        print("SKIPPED: haproxy or openssl missing")
        raise SystemExit(77)
    sim = h.sim_init(os.path.join(work, "sim"))
    br = h.Broker(work, sim=sim).start()
    crt, key, pem = (os.path.join(work, n) for n in ("proxy.crt", "proxy.key", "proxy.pem"))
    rc, _, err = h.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                        key, "-out", crt])
    T.check("self-signed proxy certificate", rc == 0, err)
    with open(pem, "w") as f:
        f.write(open(crt).read() + open(key).read())
    port = free_port()
    cfg = os.path.join(work, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write("""global
    log stdout len 65535 format raw local0
    tune.bufsize 131072
defaults
    mode http
    log global
    option httplog
    option http-buffer-request
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend ingress
    bind 127.0.0.1:%d ssl crt %s
    http-request capture req.body len 60000
    default_backend broker
backend broker
    server cofferd 127.0.0.1:%d
""" % (port, pem, br.port))
    logf = os.path.join(work, "proxy.log")
    proxy = subprocess.Popen(["haproxy", "-db", "-f", cfg], stdout=open(logf, "wb"),
                             stderr=subprocess.STDOUT)
    h._procs.append(proxy)
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.02)
    url = "https://127.0.0.1:%d" % port

    secret = b"sealed-upload-plaintext-" + os.urandom(8).hex().encode()
    rc, out, err = h.run([h.b("coffer"), "resource", "put", "kbs:///default/key/sealed",
                          "--broker", url, "--key", br.admin_key, "--cacert", crt], stdin=secret)
    T.check("coffer resource put through the proxy (--cacert)", rc == 0, err)

    ctx = ssl.create_default_context(cafile=crt)
    plain = b"plaintext-control-" + os.urandom(8).hex().encode()
    path = "/kbs/v0/resource/default/key/plain"
    tok = h.kc.admin_jwt(br.admin_jwk(), "POST", path, plain)
    import http.client
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    c.request("POST", path, plain, {"Authorization": "Bearer " + tok,
                                    "Content-Type": "application/octet-stream"})
    r = c.getresponse()
    r.read()
    c.close()
    T.check("control: a plaintext upload through the proxy (dev broker accepts it)",
            r.status == 200, r.status)
    time.sleep(0.5)
    proxy.terminate()
    proxy.wait(10)
    log = open(logf, "rb").read()
    T.check("the proxy logged the sealed upload request",
            b"/kbs/v0/resource/default/key/sealed" in log, log[-500:])
    T.check("control: the plaintext upload's body IS in the proxy log (capture works)",
            plain in log, log[-500:])
    line = [ln for ln in log.split(b"\n") if b"/kbs/v0/resource/default/key/sealed" in ln]
    body = line[0].split(b"{", 1)[1].split(b"}", 1)[0] if line else b""
    hdr = {}
    try:
        p = body.split(b".")[0].decode()
        hdr = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    except Exception:
        pass
    T.check("the sealed upload's body was captured: a compact JWE to the upload key",
            body.count(b".") == 4 and hdr.get("enc") == "A256GCM" and "alg" in hdr, line[:1])
    T.check("the proxy log holds no plaintext of the sealed secret (raw, base64, hex)",
            not any(f in log for f in (secret, base64.b64encode(secret),
                                       base64.urlsafe_b64encode(secret).rstrip(b"="),
                                       secret.hex().encode())))

    tee = h.SimTee(work, "v1", sim, "snp", ())
    rc, out, err = tee.get(br, "kbs:///default/key/sealed")
    T.check("an attested TEE receives the sealed value intact", rc == 0 and out == secret, err)
    br.stop()

    # a production broker (no --dev) takes sealed uploads only
    prod = h.Broker(work, "production", sim=sim, dev=False).start()
    before = prod.snapshot()
    r, _ = h.kc.admin_request(prod.url, h.kc.jwk.JWK.from_json(open(prod.admin_key).read()),
                              "POST", "/kbs/v0/resource/default/key/plain", plain)
    T.status("production broker: a plaintext upload is refused (415)", r, 415)
    T.check("production broker: nothing stored", prod.snapshot() == before)
    rc, _, err = prod.coffer("resource", "put", "kbs:///default/key/sealed", stdin=secret)
    T.check("production broker: the sealed upload is accepted", rc == 0, err)
    rc, out, err = tee.get(prod, "kbs:///default/key/sealed")
    T.check("production broker: an attested TEE receives it intact", rc == 0 and out == secret,
            err)
    tee.stop()
    prod.stop()


if __name__ == "__main__":
    h.main(test, "P21", "coffer-agent", "coffer-sim", "fake_tsm")
