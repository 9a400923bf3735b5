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
    hostile_audit_broker(os.path.join(b.data, "admin.jwk"), wd)
    return T.finish()


def hostile_broker(key):
    """A broker whose problem detail carries terminal escapes: the CLI
    prints it without control characters."""
    body = json.dumps({"type": "https://github.com/confidential-containers/kbs/errors/"
                       "Forbidden\x1b]0;x\x07", "detail": "no\x1b[2J\x1b]0;owned\x07 way\r\n"
                       }).encode()
    srv, url = fake_broker(lambda method, path: (403, [("Content-Type", "application/json")],
                                                 body))
    try:
        rc, out, err = coffer("resource", "list", "--broker", url, "--key", key)
        T.check("hostile broker: refused", rc != 0 and b"no" in err and b"way" in err, err)
        T.check("hostile broker: no control characters printed",
                not any(c < 0x20 and c != 0x0a or c == 0x7f for c in out + err), err)
    finally:
        srv.shutdown()
        srv.server_close()


def fake_broker(handler):
    """An HTTP server answering with handler(method, path) -> (status, headers, body)
    in a thread; returns (server, url)."""
    import http.server
    import threading

    class H(http.server.BaseHTTPRequestHandler):
        def answer(self):
            status, hdrs, body = handler(self.command, self.path)
            self.send_response(status)
            for k, v in hdrs:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = answer

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://127.0.0.1:%d" % srv.server_address[1]


def audit_entry(seq):
    return {"seq": seq, "digest": "%064x" % seq, "hash": "%064x" % (seq + 1)}


# Audit pages a broker must not send (docs/cofferd.md "Audit pages"): per
# scenario, {from: (seqs of the page, Coffer-Audit-Next or None)}. Each later
# page is well formed, so a CLI that does not check stops with exit 0.
BAD_PAGES = {
    "a non-numeric Next": {1: ([1, 2], "3x"), 3: ([3], None)},
    "a Next of 40 digits": {1: ([1, 2], "3" * 40)},
    "a Next inside the page just sent": {1: ([1, 2, 3], "2"), 2: ([4], None)},
    "an empty page with a Next": {1: ([], "5"), 5: ([5], None)},
    "a seq before the one asked for": {1: ([1, 2], "3"), 3: ([2, 3], None)},
    "seqs out of order": {1: ([2, 1], None)},
    "a repeated seq": {1: ([1, 1], None)},
    "an entry without a seq": {1: ([None], None)},
}


def hostile_audit_broker(key, wd):
    """`coffer audit list/export` follow Coffer-Audit-Next without trusting it:
    a broker's bad paging is an error ("broker sent ..."), not a silently
    short or wrong list, and export then writes nothing."""
    import urllib.parse

    state = {"pages": {}, "cps": {}}

    def handler(method, path):
        u = urllib.parse.urlsplit(path)
        q = urllib.parse.parse_qs(u.query)
        frm = int(q.get("from", ["1"])[0])
        if frm not in state["pages"]:
            return 400, [("Content-Type", "application/json")], b'{"detail":"from"}'
        seqs, nxt = state["pages"][frm]
        if seqs is None:
            return 200, [("Content-Type", "application/json")], b"[{\"seq\": 1}, not JSON"
        make = state.get("entry", audit_entry)
        ents = [{"time": "t"} if s is None else make(s) for s in seqs]
        if u.path.endswith("/export"):
            body = {"version": 1, "entries": ents, "checkpoints": state["cps"].get(frm, [])}
        elif u.path.endswith("/audit"):
            body = ents
        else:
            return 404, [], b""
        hdrs = [("Content-Type", "application/json")]
        if nxt is not None:
            hdrs.append(("Coffer-Audit-Next", nxt))
        return 200, hdrs, json.dumps(body).encode()

    srv, url = fake_broker(handler)
    common = ["--broker", url, "--key", key]
    out_file = os.path.join(wd, "hostile-export.json")
    try:
        # the fake itself: well-formed pages are listed and merged
        state["pages"] = {1: ([1, 2], "3"), 3: ([3, 4], "5"), 5: ([5], None)}
        rc, out, err = coffer("audit", "list", "--json", *common)
        T.check("fake audit broker: list follows its pages",
                rc == 0 and [e["seq"] for e in json.loads(out)] == [1, 2, 3, 4, 5], out + err)
        rc, out, err = coffer("audit", "export", "--out", out_file, *common)
        got = json.load(open(out_file)) if rc == 0 else {}
        T.check("fake audit broker: export merges its pages",
                [e["seq"] for e in got.get("entries", [])] == [1, 2, 3, 4, 5], out + err)
        os.unlink(out_file) if os.path.exists(out_file) else None

        for why, pages in BAD_PAGES.items():
            state["pages"] = pages
            for args in (["list"], ["list", "--json"]):
                rc, out, err = coffer("audit", *args, *common)
                T.check("hostile audit broker sends %s: audit %s -> error" %
                        (why, " ".join(args)), rc not in (0, 2) and b"broker sent" in err,
                        "rc %d out %r err %r" % (rc, out[:200], err))
            rc, out, err = coffer("audit", "export", "--out", out_file, *common)
            T.check("hostile audit broker sends %s: audit export -> error, no file" % why,
                    rc not in (0, 2) and b"broker sent" in err and
                    not os.path.exists(out_file), "rc %d err %r" % (rc, err))
            rc, out, err = coffer("audit", "export", *common)
            T.check("hostile audit broker sends %s: audit export to stdout -> nothing" % why,
                    rc not in (0, 2) and b"broker sent" in err and out == b"",
                    "rc %d out %r err %r" % (rc, out[:200], err))

        # list --json: nothing (not even "[") when the first page is not JSON
        state["pages"] = {1: (None, None)}
        rc, out, err = coffer("audit", "list", "--json", *common)
        T.check("hostile audit broker: list --json prints no '[' before a page is accepted",
                rc == 3 and out == b"" and b"not a list" in err,
                "rc %d out %r err %r" % (rc, out, err))

        # the merged export holds at most COFFER_AUDIT_MAX_CHECKPOINTS (2^16)
        state["pages"] = {1: ([1], "2"), 2: ([2], None)}
        state["cps"] = {1: ["cp-a-%d" % i for i in range(40000)],
                        2: ["cp-b-%d" % i for i in range(30000)]}
        rc, out, err = coffer("audit", "export", "--out", out_file, *common)
        T.check("fake audit broker: more than 2^16 checkpoints -> exit 2, no file, "
                "names --from 1", rc == 2 and b"export it in ranges" in err and
                b"from seq 1 on" in err and not os.path.exists(out_file), err)
        state["cps"][2] = ["cp-a-%d" % i for i in range(30000)]
        rc, out, err = coffer("audit", "export", "--out", out_file, *common)
        got = json.load(open(out_file)) if rc == 0 else {}
        T.check("fake audit broker: repeated checkpoints are counted once",
                len(got.get("checkpoints", [])) == 40000, err)
        os.unlink(out_file) if os.path.exists(out_file) else None
        state["cps"] = {}

        # ... and at most COFFER_AUDIT_MAX_ENTRIES (2^20) entries: eight pages
        # of 2^17 tiny entries are taken, one entry more is refused
        page = 1 << 17
        state["entry"] = lambda seq: {"seq": seq}
        state["pages"] = {1 + i * page: (list(range(1 + i * page, 1 + (i + 1) * page)),
                                         str(1 + (i + 1) * page) if i < 7 else None)
                          for i in range(8)}
        rc, out, err = coffer("audit", "export", "--out", out_file, *common)
        got = json.load(open(out_file)) if rc == 0 else {}
        T.check("fake audit broker: 2^20 entries in 8 pages -> one export of them all",
                rc == 0 and len(got.get("entries", [])) == 1 << 20, err)
        os.unlink(out_file) if os.path.exists(out_file) else None
        got = None
        state["pages"][1 + 7 * page] = (list(range(1 + 7 * page, 1 + 8 * page)),
                                        str(1 + 8 * page))
        state["pages"][1 + 8 * page] = ([1 + 8 * page], None)
        rc, out, err = coffer("audit", "export", "--out", out_file, *common)
        T.check("fake audit broker: 2^20 + 1 entries -> exit 2, no file, names --from",
                rc == 2 and b"export it in ranges" in err and not os.path.exists(out_file),
                "rc %d err %r" % (rc, err))

        # ... and at most COFFER_AUDIT_MAX_EXPORT (64 MiB) of text: 8 pages of
        # 8,192 entries of 1.1 KiB make about 72 MiB merged, far below 2^20
        # entries
        pad = "x" * 1100
        state["entry"] = lambda seq: {"seq": seq, "pad": pad}
        page = 8192
        state["pages"] = {1 + i * page: (list(range(1 + i * page, 1 + (i + 1) * page)),
                                         str(1 + (i + 1) * page) if i < 7 else None)
                          for i in range(8)}
        for dest in (["--out", out_file], []):
            rc, out, err = coffer("audit", "export", *dest, *common)
            T.check("fake audit broker: 64 MiB of pages -> exit 2, nothing written (%s)" %
                    ("file" if dest else "stdout"),
                    rc == 2 and b"export it in ranges" in err and b"64 MiB" in err and
                    out == b"" and not os.path.exists(out_file),
                    "rc %d out %d bytes err %r" % (rc, len(out), err))
        state.pop("entry")
    finally:
        srv.shutdown()
        srv.server_close()


if __name__ == "__main__":
    sys.exit(main())
