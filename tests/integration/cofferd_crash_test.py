#!/usr/bin/python3
"""Crash safety: kill -9 cofferd during a burst of admin writes and resource
releases, restart it, and check that every write answered 2xx is present and
intact (resources decrypted by an attested client, reference values read
back), that SQLite's PRAGMA integrity_check says ok, and that the audit chain
(group commit, docs/audit.md) verifies with `coffer audit verify` and holds
an entry for every release answered 200 and every admin write answered 2xx."""
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import base64

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import kbs_client as kc  # noqa: E402
from cofferd_harness import (Broker, Tests, admin_key, bin_dir,  # noqa: E402
                             release_all_settings, workdir)

T = Tests()
WRITERS = 4
RELEASERS = 4
RELEASED = "w0/key/released"


def value_for(path, gen):
    return hashlib.sha256(("%s#%d" % (path, gen)).encode()).digest() * (1 + gen % 7)


def writer(b, key, wid, acked, stop):
    h = kc.Http(b.url)
    n = 0
    while not stop.is_set():
        n += 1
        try:
            if n % 5 == 0:
                name = "rv_%d_%d" % (wid, n)
                payload = base64.b64encode(json.dumps({name: ["v%d" % n]}).encode()).decode()
                body = json.dumps({"version": "0.1.0", "type": "sample",
                                   "payload": payload}).encode()
                path = "/kbs/v0/reference-value"
                tok = kc.admin_jwt(key, "POST", path, body)
                r = h.request("POST", path, body, {"Authorization": "Bearer " + tok})
                if 200 <= r.status < 300:
                    acked.append(("refval", name, "v%d" % n))
            else:
                # rewrite a small set of paths too, so updates are covered
                res = "w%d/key/k%d" % (wid, n % 40)
                val = value_for(res, n)
                path = "/kbs/v0/resource/" + res
                tok = kc.admin_jwt(key, "POST", path, val)
                r = h.request("POST", path, val, {"Authorization": "Bearer " + tok})
                if 200 <= r.status < 300:
                    acked.append(("resource", res, n))
        except Exception:
            h.close()
            if stop.is_set():
                return
            time.sleep(0.01)


def releaser(b, released, stop):
    """Attested GETs in a loop; every 200 answered is counted."""
    try:
        cl = kc.KbsClient(b.url)
        cl.handshake()
    except Exception:
        return
    while not stop.is_set():
        try:
            r = cl.get_resource(RELEASED)
            if r.status == 200:
                released.append(1)
        except Exception:
            return


def check_audit(b, wd, key, acked, n_released):
    """The chain after the crash: it verifies, and every answered release
    and admin write has its entry (an entry may exist for a request whose
    answer the kill cut off, never the reverse)."""
    r, _ = kc.admin_request(b.url, key, "GET", "/kbs/v0/admin/audit/export")
    T.status("audit export after restart", r, 200)
    doc = json.loads(r.body) if r.status == 200 else {"entries": [], "checkpoints": []}
    exp = os.path.join(wd, "audit-export.json")
    with open(exp, "w") as f:
        json.dump(doc, f)
    jwks = json.loads(kc.Http(b.url).request("GET", "/kbs/v0/jwks").body)
    jwks_file = os.path.join(wd, "jwks.json")
    with open(jwks_file, "w") as f:
        json.dump({"keys": [k for k in jwks["keys"] if k.get("use") == "sig"]}, f)
    p = subprocess.run([os.path.join(bin_dir(), "coffer"), "audit", "verify", "--in", exp,
                        "--jwks", jwks_file], capture_output=True, text=True, timeout=60)
    T.check("coffer audit verify accepts the chain after kill -9", p.returncode == 0,
            p.stdout + p.stderr)
    entries = doc["entries"]
    seqs = [e["seq"] for e in entries]
    T.check("audit seqs consecutive after kill -9 (%d entries)" % len(seqs),
            seqs == list(range(1, len(seqs) + 1)), str(seqs[:10]))
    n_log = len([e for e in entries if e.get("action") == "release" and
                 e.get("resource") == RELEASED and e.get("outcome") == "allowed"])
    T.check("an audit entry for every release answered 200 (%d answered, %d entries)" %
            (n_released, n_log), n_log >= n_released)
    res_acked = {}
    for kind, name, _ in acked:
        if kind == "resource":
            res_acked[name] = res_acked.get(name, 0) + 1
    short = []
    for name, n in sorted(res_acked.items()):
        # a put is recorded with the version it created: NAME.vN
        n_put = len([e for e in entries
                     if e.get("action") in ("resource.put", "resource.rotate") and
                     (e.get("resource") or "").startswith(name + ".v") and
                     e.get("outcome") == "ok"])
        if n_put < n:
            short.append("%s: %d acked, %d entries" % (name, n, n_put))
    T.check("an audit entry for every acknowledged resource write", not short,
            "; ".join(short[:5]))


def main():
    wd = workdir()
    key, pub = admin_key(wd)
    ns = ["w%d" % i for i in range(WRITERS)]
    b = Broker(wd, "crash", release_all_settings(pub, ns))
    b.start()
    r, _ = kc.admin_request(b.url, key, "POST", "/kbs/v0/resource/" + RELEASED, b"released")
    T.status("upload the released resource", r, 200)
    acked = []
    released = []
    stop = threading.Event()
    threads = [threading.Thread(target=writer, args=(b, key, i, acked, stop))
               for i in range(WRITERS)]
    threads += [threading.Thread(target=releaser, args=(b, released, stop))
                for _ in range(RELEASERS)]
    for t in threads:
        t.start()
    # let the burst run, then pull the plug in the middle of it
    deadline = time.time() + 10
    while len(acked) < 150 and time.time() < deadline:
        time.sleep(0.02)
    b.proc.send_signal(signal.SIGKILL)
    b.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    n_acked = len(acked)
    T.check("burst produced acknowledged writes before the kill", n_acked >= 50, str(n_acked))
    n_released = len(released)
    T.check("burst produced releases answered 200 before the kill", n_released >= 20,
            str(n_released))

    c = sqlite3.connect(b.db(), timeout=10)
    ic = c.execute("PRAGMA integrity_check").fetchone()[0]
    c.close()
    T.check("PRAGMA integrity_check after kill -9", ic == "ok", ic)

    b.proc = None
    b.start()
    # the last acknowledged generation of each resource must be what we read
    latest = {}
    refvals = {}
    for kind, name, v in acked:
        if kind == "resource":
            latest[name] = max(latest.get(name, 0), v)
        else:
            refvals[name] = v
    cl = kc.KbsClient(b.url)
    cl.handshake()
    bad = []
    for res, gen in sorted(latest.items()):
        r = cl.get_resource(res)
        if r.status != 200:
            bad.append("%s: %d" % (res, r.status))
            continue
        got = cl.decrypt(r.body)
        # a write that was sent but not answered may be newer than the last ack
        ok = got == value_for(res, gen) or any(got == value_for(res, g)
                                               for g in range(gen, gen + 400, 1))
        if not ok:
            bad.append("%s: wrong value" % res)
    T.check("every acknowledged resource write is present and intact (%d resources)" %
            len(latest), not bad, "; ".join(bad[:10]))
    missing = []
    for name, v in refvals.items():
        r, _ = kc.admin_request(b.url, key, "GET", "/kbs/v0/reference-value/" + name)
        if r.status != 200 or r.json() != {name: [v]}:
            missing.append("%s %d %s" % (name, r.status, r.body[60:200]))
    T.check("every acknowledged reference value is present (%d)" % len(refvals), not missing,
            ", ".join(missing[:10]))
    check_audit(b, wd, key, acked, n_released)
    b.stop()
    c = sqlite3.connect(b.db(), timeout=10)
    ic = c.execute("PRAGMA integrity_check").fetchone()[0]
    c.close()
    T.check("PRAGMA integrity_check after restart", ic == "ok", ic)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
