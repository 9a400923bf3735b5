#!/usr/bin/python3
"""coffer-agent against the independent Python broker (kbs_broker.py).

The broker checks the agent's report_data binding itself (RFC 8785 + the
negotiated hash, from PROTOCOL.md), records the init-data it is sent, and
encrypts its answers with jwcrypto for P-256, P-521 and RSA TEE keys. Then
it misbehaves: malformed, truncated, oversized and wrong-algorithm answers,
a JWE for another key, errors, a lost session, a flaky broker. The agent
must give a clear error for each and never crash.
"""
import os
import subprocess
import sys
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
BIN = os.environ.get("COFFER_BIN_DIR", "")
AGENT = os.path.join(BIN, "coffer-agent")
if not os.path.exists(AGENT):
    print("SKIPPED: coffer-agent not built", file=sys.stderr)
    sys.exit(77)
try:
    import kbs_broker
except ImportError as e:
    print("SKIPPED: python3-jwcrypto missing (%s)" % e, file=sys.stderr)
    sys.exit(77)

PASSED = FAILED = 0


def check(cond, what, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print("ok   " + what)
    else:
        FAILED += 1
        print("FAIL %s %s" % (what, detail))


def control(url, **kw):
    import json
    r = urllib.request.Request(url + "/control", data=json.dumps(kw).encode(), method="POST")
    urllib.request.urlopen(r, timeout=10).read()


def agent(url, *args, key="EC-P256"):
    p = subprocess.run([AGENT, "--broker", url, "--tee", "sample", "--key-type", key,
                        "--retries", "2"] + list(args), capture_output=True, timeout=120)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True)


def tls_checks():
    """HTTPS with a pinned CA: the broker's CA works, any other CA is a clear
    TLS error (exit 3) before a byte of evidence leaves the TEE."""
    import tempfile
    d = tempfile.mkdtemp(prefix="agent-tls-")
    p = lambda n: os.path.join(d, n)
    for ca in ("ca", "other"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", p(ca + ".key"), "-out", p(ca + ".pem"), "-days", "2",
                "-subj", "/CN=test %s" % ca)
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", p("srv.key"), "-out", p("srv.csr"), "-subj", "/CN=127.0.0.1")
    with open(p("ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", p("srv.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
            "-CAcreateserial", "-out", p("srv.pem"), "-days", "2", "-extfile", p("ext"))
    srv = kbs_broker.serve(tls=(p("srv.pem"), p("srv.key")))
    url = "https://127.0.0.1:%d" % srv.server_address[1]
    rc, out, err = agent(url, "--cacert", p("ca.pem"), "get-resource", "kbs:///r/t/good")
    check(rc == 0 and out == b"value-of-good", "https with the pinned CA", err)
    before = srv.state.attests
    rc, out, err = agent(url, "--cacert", p("other.pem"), "get-resource", "kbs:///r/t/good")
    check(rc == 3 and "TLS" in err and out == b"" and srv.state.attests == before,
          "https with another CA: refused with a TLS error, no evidence sent", err)
    srv.shutdown()
    subprocess.run(["rm", "-rf", d])


def main():
    srv = kbs_broker.serve()
    st = srv.state
    url = "http://127.0.0.1:%d" % srv.server_address[1]

    for key in ("EC-P256", "EC-P521", "RSA"):
        before = st.binding_ok
        rc, out, err = agent(url, "get-resource", "kbs:///r/t/good", key=key)
        check(rc == 0 and out == b"value-of-good" and st.binding_ok == before + 1,
              "%s: RCAR completes, the broker checks the binding, the JWE decrypts" % key, err)

    # hash negotiation: the broker selects sha512 and checks with it
    for h in ("sha512", "sha256"):
        control(url, hash=h)
        rc, out, err = agent(url, "get-resource", "kbs:///r/t/good")
        check(rc == 0 and out == b"value-of-good", "binding with the negotiated %s" % h, err)
    control(url, hash=None)

    # init-data goes out byte for byte
    idf = os.path.join(os.environ.get("TMPDIR", "/tmp"), "agent-interop-init-%d.toml" % os.getpid())
    text = 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = \'\'\'\n[token_configs]\n\'\'\'\n'
    with open(idf, "w") as f:
        f.write(text)
    rc, out, err = agent(url, "--init-data", idf, "get-resource", "kbs:///r/t/good")
    check(rc == 0 and st.init_data and st.init_data[-1] == text,
          "init-data is sent exactly as the file holds it", err)
    os.unlink(idf)

    # the token is read, not trusted; one-shot token prints it
    rc, out, err = agent(url, "token")
    check(rc == 0 and out.count(b".") == 2, "token from the independent broker", err)

    # hostile or failing answers: (tag, expected exit code, message fragment)
    cases = [("malformed", 2, "not valid JSON"), ("truncated", 2, "not valid JSON"),
             ("oversized", 2, "larger than"), ("notjwe", 2, "not a flattened JWE"),
             ("wrongalg", 2, "does not fit the TEE key"), ("otherkey", None, "does not decrypt"),
             ("deny", 1, "PolicyDeny"), ("nothing", 2, "ResourceNotFound")]
    for key in ("EC-P256", "RSA"):
        for tag, code, frag in cases:
            rc, out, err = agent(url, "get-resource", "kbs:///r/t/" + tag, key=key)
            ok = rc in (1, 2, 3) and (code is None or rc == code) and frag in err and out == b""
            check(ok, "%s: '%s' answer -> exit %d, clear error" % (key, tag, rc), err)

    before = st.attests
    rc, out, err = agent(url, "get-resource", "kbs:///r/t/expire")
    check(rc == 0 and out == b"value-of-expire" and st.attests == before + 2,
          "401 on a resource: the agent attests again and succeeds", err)
    rc, out, err = agent(url, "get-resource", "kbs:///r/t/flaky")
    check(rc == 0 and out == b"value-of-flaky", "500 twice: retried with backoff, then served",
          err)

    for mode, frag in (("malformed", "not valid JSON"), ("nononce", "no 'nonce'"),
                       ("badhash", "selected-hash-algorithm")):
        control(url, auth=mode)
        rc, out, err = agent(url, "get-resource", "kbs:///r/t/good")
        check(rc in (1, 2, 3) and frag in err, "auth answer '%s' -> clear error" % mode, err)
    control(url, auth="ok", token="notjwt")
    rc, out, err = agent(url, "get-resource", "kbs:///r/t/good")
    check(rc == 2 and "not a compact JWT" in err, "attest answer without a JWT -> clear error",
          err)
    control(url, token="ok")

    srv.shutdown()
    tls_checks()
    print("%d passed, %d failed" % (PASSED, FAILED))
    return 0 if FAILED == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
