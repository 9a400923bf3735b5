#!/usr/bin/python3
"""cofferd configuration: the documented keys, --check-config, HTTPS, and a
SIGHUP with a broken file."""
import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import kbs_client as kc  # noqa: E402
from cofferd_harness import Broker, Tests, bin_dir, workdir  # noqa: E402

T = Tests()
SRC = os.environ.get("COFFER_SOURCE_DIR", os.path.join(HERE, "..", ".."))


def check_config(path):
    p = subprocess.run([os.path.join(bin_dir(), "cofferd"), "--config", path,
                        "--check-config"], capture_output=True, timeout=30)
    return p.returncode, p.stderr.decode()


def documented_keys():
    keys = {}
    section = None
    with open(os.path.join(SRC, "docs", "cofferd.toml.md")) as f:
        for line in f:
            m = re.match(r"^## \[(\w+)\]", line)
            if m:
                section = m.group(1)
                continue
            m = re.match(r"^\| `(\w+)` \|", line)
            if m and section:
                keys.setdefault(section, []).append(m.group(1))
    return keys


def main():
    wd = workdir()
    example = os.path.join(SRC, "deploy", "cofferd.toml")
    rc, err = check_config(example)
    T.check("deploy/cofferd.toml passes --check-config", rc == 0, err)

    text = open(example).read()
    keys = documented_keys()
    T.check("docs list the six sections", sorted(keys) == sorted(
        ["server", "storage", "attestation", "policy", "admin", "log"]), str(keys))
    missing = [k for sec in keys.values() for k in sec
               if not re.search(r"^#? ?%s = " % k, text, re.M)]
    T.check("deploy/cofferd.toml shows every documented key", not missing, str(missing))
    full = os.path.join(wd, "full.toml")
    with open(full, "w") as f:
        f.write(re.sub(r"^# ([a-z_0-9]+ = )", r"\1", text, flags=re.M))
    rc, err = check_config(full)
    T.check("every documented key is accepted", rc == 0, err)

    def bad(name, body, needle=""):
        p = os.path.join(wd, "bad.toml")
        with open(p, "w") as f:
            f.write(body)
        rc, err = check_config(p)
        T.check("--check-config refuses: " + name, rc == 2 and needle in err, "%d %s" % (rc, err))

    base = '[storage]\ndata_dir = "/tmp/x"\n'
    bad("unknown key", base + "[server]\nlisten = \"127.0.0.1:1\"\nlsten = 1\n", "lsten")
    bad("unknown section", base + "[sever]\n", "sever")
    bad("wrong type", base + "[server]\nthreads = \"4\"\n", "threads")
    bad("out of range", base + "[server]\nthreads = 0\n", "threads")
    bad("admin token lifetime over 300", base + "[admin]\nmax_token_lifetime = 301\n")
    bad("audit commit delay over 10 ms", base + "[admin]\naudit_commit_delay_us = 10001\n",
        "audit_commit_delay_us")
    bad("negative audit commit delay", base + "[admin]\naudit_commit_delay_us = -1\n",
        "audit_commit_delay_us")
    bad("audit page over 10000", base + "[admin]\naudit_page_max = 10001\n", "audit_page_max")
    bad("audit page of 0", base + "[admin]\naudit_page_max = 0\n", "audit_page_max")
    bad("tls_cert without tls_key", base + "[server]\ntls_cert = \"c.pem\"\n", "tls")
    bad("listen without a port", base + "[server]\nlisten = \"localhost\"\n", "listen")
    bad("unknown resource policy", base + "[policy]\nresource = \"yes\"\n", "policy")
    bad("unknown release policy", base + "[policy]\nrelease = \"yes\"\n", "policy.release")
    bad("the fixed 'affirming' mode is gone (the default is affirming)",
        base + "[policy]\nresource = \"affirming\"\n", "policy.resource")
    bad("no storage", "[server]\nthreads = 2\n", "data_dir")
    bad("invalid TOML", "[server\n", "line")
    bad("empty file", "", "data_dir")
    os.unlink(os.path.join(wd, "bad.toml"))
    rc, err = check_config(os.path.join(wd, "bad.toml"))
    T.check("--check-config on a missing file -> 2", rc == 2, err)
    p = subprocess.run([os.path.join(bin_dir(), "cofferd"), "--check-config"],
                       capture_output=True, timeout=30,
                       env=dict(os.environ, COFFERD_CONFIG=example))
    T.check("--check-config alone checks $COFFERD_CONFIG", p.returncode == 0, p.stderr)

    # HTTPS with a self-signed certificate
    cert, key = os.path.join(wd, "cert.pem"), os.path.join(wd, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert,
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-days", "1"], check=True, capture_output=True)
    from jwcrypto import jwk as jwk0
    admin_key = jwk0.JWK.generate(kty="EC", crv="P-256")
    admin_priv = os.path.join(wd, "admin.jwk")
    with open(admin_priv, "w") as f:
        f.write(admin_key.export_private())
    os.chmod(admin_priv, 0o600)
    admin_pub = os.path.join(wd, "admin.pub.jwk")
    with open(admin_pub, "w") as f:
        f.write(admin_key.export_public())
    settings = {"server": {"tls_cert": cert, "tls_key": key},
                "attestation": {"allow_sample": True}, "policy": {"resource": "allow_all"},
                "admin": {"bootstrap_key": admin_pub}}
    b = Broker(wd, "tls", settings).start()
    try:
        c = kc.KbsClient("https://127.0.0.1:%d" % b.port)
        r = c.auth()
        T.status("HTTPS auth", r, 200)
        T.check("HTTPS cookie is Secure",
                any(k.lower() == "set-cookie" and "Secure" in v for k, v in r.headers))
        r = c.attest(c.attest_body())
        T.status("HTTPS attest", r, 200)
        # the coffer CLI over HTTPS: the pinned CA verifies, nothing else does
        def coffer(*args):
            return subprocess.run([os.path.join(bin_dir(), "coffer")] + list(args),
                                  capture_output=True, timeout=60)
        url = "https://127.0.0.1:%d" % b.port
        p = coffer("refval", "set", "--name", "tls_rv", "--value", "1", "--broker", url,
                   "--key", admin_priv, "--cacert", cert)
        T.check("coffer CLI over HTTPS with --cacert", p.returncode == 0, p.stderr)
        p = coffer("refval", "get", "--name", "tls_rv", "--broker", url, "--key", admin_priv)
        T.check("coffer CLI over HTTPS without the CA -> 3 (certificate refused)",
                p.returncode == 3, p.stderr)
        other_ca = os.path.join(wd, "other.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout",
                        os.path.join(wd, "other.key"), "-out", other_ca, "-subj", "/CN=other",
                        "-days", "1"], check=True, capture_output=True)
        p = coffer("refval", "get", "--name", "tls_rv", "--broker", url, "--key", admin_priv,
                   "--cacert", other_ca)
        T.check("coffer CLI over HTTPS with another CA -> 3", p.returncode == 3, p.stderr)
        plain = kc.Http(b.url)
        try:
            r = plain.request("GET", "/healthz")
            ok = r.status != 200
        except Exception:
            ok = True
        T.check("plain HTTP to the HTTPS port gets nothing useful", ok)

        # SIGHUP with a broken file: refused, the broker keeps running
        with open(b.config, "a") as f:
            f.write("\n[broken\n")
        b.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while "configuration rejected" not in b.read_log() and time.time() < deadline:
            time.sleep(0.05)
        T.check("SIGHUP with a broken file is refused and logged",
                "configuration rejected" in b.read_log() and b.proc.poll() is None)
        T.status("broker still serves after the refused reload", c.auth(), 200)
    finally:
        rc = b.stop()
    T.check("SIGTERM exit code 0", rc == 0, str(rc))

    # attestation.signing_cert: the tokens carry x5c; a certificate of
    # another key is refused at start
    from jwcrypto import jwk as jwk_
    sk = jwk_.JWK.generate(kty="EC", crv="P-256")
    skp = os.path.join(wd, "signing.jwk")
    with open(skp, "w") as f:
        f.write(sk.export_private())
    os.chmod(skp, 0o600)
    skpem = os.path.join(wd, "signing.pem")
    with open(skpem, "wb") as f:
        f.write(sk.export_to_pem(private_key=True, password=None))
    scert = os.path.join(wd, "signing-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-key", skpem, "-out", scert, "-subj",
                    "/CN=cofferd token signer", "-days", "1"], check=True, capture_output=True)
    b = Broker(wd, "x5c", {"attestation": {"allow_sample": True, "signing_key": skp,
                                           "signing_cert": scert}}).start()
    try:
        c = kc.KbsClient(b.url)
        c.auth()
        r = c.attest(c.attest_body())
        T.status("signing_cert: attest", r, 200)
        if r.status == 200:
            import base64 as b64
            h = json.loads(b64.urlsafe_b64decode(c.token.split(".")[0] + "=="))
            der = subprocess.run(["openssl", "x509", "-in", scert, "-outform", "DER"],
                                 check=True, capture_output=True).stdout
            T.check("signing_cert: token header x5c is the certificate",
                    h.get("x5c") == [b64.b64encode(der).decode()] and "jwk" in h, str(h)[:200])
    finally:
        b.stop()
    bad_b = Broker(wd, "x5c-bad", {"attestation": {"signing_key": skp,
                                                   "signing_cert": cert}})
    try:
        bad_b.start(timeout=10)
        started = True
    except RuntimeError:
        started = False
    T.check("signing_cert of another key: the broker refuses to start",
            not started and "not the signing key" in bad_b.read_log(), bad_b.read_log()[-300:])
    if started:
        bad_b.stop()

    # server.auth_rate: a token bucket of new sessions per client
    b = Broker(wd, "rate", {"server": {"auth_rate": 1, "auth_burst": 3},
                            "attestation": {"allow_sample": True}}).start()
    try:
        c = kc.KbsClient(b.url)
        st = [c.auth().status for _ in range(3)]
        T.check("auth_rate: the burst is served", st == [200, 200, 200], str(st))
        r = c.auth()
        T.status("auth_rate: beyond the burst -> 429", r, 429, "TooManyRequests")
        T.check("auth_rate: Retry-After", any(k.lower() == "retry-after" for k, _ in r.headers))
        time.sleep(1.2)
        T.status("auth_rate: a token later", c.auth(), 200)
        T.status("auth_rate: other endpoints are not limited", kc.Http(b.url).request(
            "GET", "/kbs/v0/jwks"), 200)
    finally:
        b.stop()
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
