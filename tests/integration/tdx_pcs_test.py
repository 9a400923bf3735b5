#!/usr/bin/python3
"""coffer evidence verify --pcs: TDX collateral fetched from a PCS-compatible
server on loopback (serving the vectors' signed TCB info / QE identity with
their issuer-chain headers), cached in --collateral, refetched when expired,
refused when tampered, reported when missing."""
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.parse

BIN = os.environ.get("COFFER_BIN_DIR", "")
VEC = os.environ.get("COFFER_VECTORS", "")
V = os.path.join(VEC, "tdx")
if not VEC or not os.path.isfile(os.path.join(V, "trustee/tdx_quote_6.dat")):
    print("SKIPPED: COFFER_VECTORS/tdx is absent")
    sys.exit(77)
if not os.access(os.path.join(BIN, "coffer"), os.X_OK):
    print("SKIPPED: coffer not built")
    sys.exit(77)


def read(rel):
    with open(os.path.join(V, rel), "rb") as f:
        return f.read()


CHAIN = urllib.parse.quote(read("go-tdx-guest/tcbinfo_issuer_chain.pem").decode(), safe="")
TCB = read("trustee/tcbInfo.json")
QE = read("trustee/enclaveIdentity.json")
requests = []
tamper = {"on": False}


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        requests.append(self.path)
        u = urllib.parse.urlparse(self.path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/tdx/certification/v4/tcb" and q.get("fmspc") == ["00a06d080000"]:
            body, hdr = TCB, "TCB-Info-Issuer-Chain"
            if tamper["on"]:
                body = body.replace(b'"pcesvn":13', b'"pcesvn":11')
        elif u.path == "/tdx/certification/v4/qe/identity":
            body, hdr = QE, "SGX-Enclave-Identity-Issuer-Chain"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header(hdr, CHAIN)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
url = "http://127.0.0.1:%d" % srv.server_address[1]
tmp = tempfile.mkdtemp(prefix="tdx-pcs-")
fails = 0


def verify(quote, coll, *extra):
    r = subprocess.run([os.path.join(BIN, "coffer"), "evidence", "verify", "--tee", "tdx",
                        "--quote", os.path.join(V, quote), "--collateral", coll,
                        "--pcs", url] + list(extra), capture_output=True, text=True, timeout=60)
    claims = json.loads(r.stdout) if r.returncode == 0 else None
    return r.returncode, claims, r.stderr


def check(cond, what):
    global fails
    if not cond:
        fails += 1
        print("FAIL:", what)


try:
    c1 = os.path.join(tmp, "c1")
    rc, cl, err = verify("trustee/tdx_quote_6.dat", c1, "--at", "2025-11-01T00:00:00Z")
    check(rc == 0 and cl["tcb_status"] == "OutOfDate", "first fetch: %s %s" % (rc, err))
    check(len(requests) == 2, "two requests on an empty cache: %s" % requests)
    check(sorted(os.listdir(os.path.join(c1, "tdx")))[0].startswith("qeidentity-td_qe-17"),
          "stored under tdx/: %s" % os.listdir(os.path.join(c1, "tdx")))
    rc, cl, err = verify("trustee/tdx_quote_6.dat", c1, "--at", "2025-11-01T00:00:00Z")
    check(rc == 0 and cl["tcb_status"] == "OutOfDate" and len(requests) == 2,
          "cached: no new request (%d)" % len(requests))
    # today the stored collateral is past nextUpdate: fetched again
    rc, cl, err = verify("trustee/tdx_quote_6.dat", c1)
    check(rc == 0 and len(requests) == 4, "expired cache refetched (%d)" % len(requests))
    check(cl and cl["collateral_expiration_status"] == "1", "still expired collateral flagged")
    # a platform the server does not know: verified, status unknown, error reported
    rc, cl, err = verify("trustee/tdx_quote_5.dat", os.path.join(tmp, "c2"))
    check(rc == 0 and cl["tcb_status"] == "unknown" and "HTTP 404" in cl.get(
        "collateral_fetch_error", ""), "404 reported: %s %s" % (rc, cl and cl.get(
            "collateral_fetch_error")))
    # tampered TCB info is never stored
    tamper["on"] = True
    c3 = os.path.join(tmp, "c3")
    rc, cl, err = verify("trustee/tdx_quote_6.dat", c3, "--at", "2025-11-01T00:00:00Z")
    check(rc == 0 and cl["tcb_status"] == "unknown" and "signature" in cl.get(
        "collateral_fetch_error", ""), "tampered refused: %s" % (cl and cl.get(
            "collateral_fetch_error")))
    check(not any(n.startswith("tcbinfo") for n in os.listdir(os.path.join(c3, "tdx"))),
          "tampered TCB info not stored")
    rc, cl, err = verify("trustee/tdx_quote_6.dat", c3, "--at", "2025-11-01T00:00:00Z",
                         "--pcs", "ftp://127.0.0.1/")
    check(rc == 0 and "http" in cl.get("collateral_fetch_error", ""), "non-http URL refused")
finally:
    srv.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)

print("tdx_pcs: %s" % ("all passed" if fails == 0 else "%d FAILURES" % fails))
sys.exit(1 if fails else 0)
