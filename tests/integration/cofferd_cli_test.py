#!/usr/bin/python3
"""The persona commands of `coffer` (resource, refval) against a real
development broker: exit codes per CLI.md, results checked with the
independent client (tests/interop/kbs_client.py)."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

from jwcrypto import jwk  # noqa: E402

import kbs_client as kc  # noqa: E402
from cofferd_harness import Broker, Tests, bin_dir, workdir  # noqa: E402

T = Tests()


def coffer(*args, stdin=None, env=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([os.path.join(bin_dir(), "coffer")] + list(args), input=stdin,
                       capture_output=True, env=e, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    if not os.path.exists(os.path.join(bin_dir(), "coffer")):
        print("SKIPPED: no coffer binary", file=sys.stderr)
        return 77
    wd = workdir()
    b = Broker(wd, "dev", dev=True).start()
    try:
        key = os.path.join(b.data, "admin.jwk")
        common = ["--broker", b.url, "--key", key]
        secret = os.path.join(wd, "secret.bin")
        with open(secret, "wb") as f:
            f.write(b"cli-secret-\x00\xff-9931")
        rc, out, err = coffer("resource", "put", "kbs:///default/key/cli", "--in", secret,
                              *common)
        T.check("resource put", rc == 0, err)
        rc, out, err = coffer("resource", "put", "kbs:///default/key/stdin", *common,
                              stdin=b"from-stdin")
        T.check("resource put from stdin", rc == 0, err)
        c = kc.KbsClient(b.url)
        c.handshake()
        r = c.get_resource("default/key/cli")
        T.check("value released to an attested TEE", r.status == 200 and
                c.decrypt(r.body) == b"cli-secret-\x00\xff-9931")
        rc, out, err = coffer("resource", "list", *common)
        T.check("resource list", rc == 0 and b"kbs:///default/key/cli\t18\t" in out and
                b"cli-secret" not in out, out + err)
        rc, out, err = coffer("resource", "list", "--namespace", "default", "--json", *common)
        T.check("resource list --json", rc == 0 and sorted(
            e["path"] for e in json.loads(out)) == ["default/key/cli", "default/key/stdin"],
            out + err)
        rc, out, err = coffer("resource", "delete", "kbs:///default/key/stdin", *common)
        T.check("resource delete", rc == 0, err)
        rc, out, err = coffer("resource", "delete", "kbs:///default/key/stdin", *common)
        T.check("resource delete of a missing resource -> 1", rc == 1, err)

        rc, out, err = coffer("refval", "set", "--name", "launch_digest", "--value", "abc",
                              "--value", "def", *common)
        T.check("refval set", rc == 0, err)
        rc, out, err = coffer("refval", "get", "--name", "launch_digest", *common)
        T.check("refval get", rc == 0 and json.loads(out) == ["abc", "def"], out + err)
        rc, out, err = coffer("refval", "get", "--name", "nope", *common)
        T.check("refval get of a missing name -> 1", rc == 1, err)

        pol = os.path.join(wd, "p.rego")
        with open(pol, "w") as f:
            f.write("package policy\n\ndefault allow := false\n")
        bad = os.path.join(wd, "bad.rego")
        with open(bad, "w") as f:
            f.write("package policy\nallow if {\n")
        for kind in ("attestation", "resource"):
            rc, out, err = coffer("policy", "set", "--kind", kind, "--in", pol, *common)
            T.check("policy set --kind " + kind, rc == 0, err)
        rc, out, err = coffer("policy", "set", "--kind", "release", "--namespace", "default",
                              "--in", pol, *common)
        T.check("policy set --kind release", rc == 0, err)
        rc, out, err = coffer("policy", "set", "--kind", "release", "--namespace", "nobody",
                              "--in", pol, *common)
        T.check("policy set on a namespace it does not own -> 1", rc == 1, err)
        rc, out, err = coffer("policy", "set", "--kind", "resource", "--in", bad, *common)
        T.check("policy set of invalid Rego -> 2", rc == 2 and b"ParsePolicyError" in err, err)
        rc, out, err = coffer("policy", "set", "--kind", "release", "--in", pol, *common)
        T.check("policy set --kind release without --namespace -> 2", rc == 2, err)
        rc, out, err = coffer("policy", "set", "--help")
        T.check("policy set --help", rc == 0 and b"usage" in out)

        # environment instead of flags
        rc, out, err = coffer("refval", "get", "--name", "launch_digest",
                              env={"COFFER_BROKER": b.url, "COFFER_KEY": key})
        T.check("COFFER_BROKER / COFFER_KEY", rc == 0, err)

        # exit codes
        other = os.path.join(wd, "other.jwk")
        with open(other, "w") as f:
            f.write(jwk.JWK.generate(kty="EC", crv="P-256").export_private())
        os.chmod(other, 0o600)
        rc, out, err = coffer("resource", "put", "kbs:///default/key/x", "--broker", b.url,
                              "--key", other, stdin=b"v")
        T.check("unknown principal key -> 1 (denied)", rc == 1, err)
        ed = os.path.join(wd, "ed.jwk")
        with open(ed, "w") as f:
            f.write(jwk.JWK.generate(kty="OKP", crv="Ed25519").export_private())
        rc, out, err = coffer("refval", "get", "--name", "x", "--broker", b.url, "--key", ed)
        T.check("Ed25519 key signs EdDSA (unknown principal -> 1)", rc == 1 and
                b"401" in err, err)
        rc, out, err = coffer("resource", "put", "kbs:///default/../x", *common, stdin=b"v")
        T.check("bad URI -> 2", rc == 2, err)
        rc, out, err = coffer("resource", "put", "kbs:///default/key/x", "--broker", b.url,
                              stdin=b"v", env={"COFFER_KEY": ""})
        T.check("no key -> 2", rc == 2, err)
        rc, out, err = coffer("resource", "bogus", *common)
        T.check("unknown subcommand -> 2", rc == 2)
        rc, out, err = coffer("refval", "set", "--name", "x", *common)
        T.check("refval set without values -> 2", rc == 2)
        rc, out, err = coffer("resource", "--help")
        T.check("resource --help", rc == 0 and b"usage" in out)
        rc, out, err = coffer("refval", "--help")
        T.check("refval --help", rc == 0 and b"usage" in out)
    finally:
        port = b.port
        b.stop()
    rc, out, err = coffer("resource", "list", "--broker", "http://127.0.0.1:%d" % port,
                          "--key", os.path.join(b.data, "admin.jwk"))
    T.check("broker down -> 3", rc == 3, err)
    hostile_broker(os.path.join(b.data, "admin.jwk"))
    return T.finish()


def hostile_broker(key):
    """A broker whose problem detail carries terminal escapes: the CLI
    prints it without control characters."""
    import http.server
    import threading

    body = json.dumps({"type": "https://github.com/confidential-containers/kbs/errors/"
                       "Forbidden\x1b]0;x\x07", "detail": "no\x1b[2J\x1b]0;owned\x07 way\r\n"
                       }).encode()

    class H(http.server.BaseHTTPRequestHandler):
        def answer(self):
            self.send_response(403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = answer

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        rc, out, err = coffer("resource", "list", "--broker",
                              "http://127.0.0.1:%d" % srv.server_address[1], "--key", key)
        T.check("hostile broker: refused", rc != 0 and b"no" in err and b"way" in err, err)
        T.check("hostile broker: no control characters printed",
                not any(c < 0x20 and c != 0x0a or c == 0x7f for c in out + err), err)
    finally:
        srv.shutdown()
        srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
