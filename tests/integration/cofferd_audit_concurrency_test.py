#!/usr/bin/python3
"""Audit group commit under load (docs/audit.md, PERSONAS.md rule 7): many
parallel releases through a broker with fewer server threads than
connections, mixed with admin writes; then the exported chain has
consecutive seqs, one allowed-release entry for every 200 answered (and no
other), verifies with the broker's key (`coffer audit verify`), and after a
clean stop a final checkpoint anchors its head."""
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import kbs_client as kc  # noqa: E402
from cofferd_harness import (Broker, Tests, admin_key, audit_export, audit_verify,  # noqa: E402
                             workdir)

T = Tests()
CLIENTS = 16
GETS = 30
RESOURCES = ["cc/key/k%d" % i for i in range(4)]


def releaser(b, idx, results, errors):
    try:
        cl = kc.KbsClient(b.url)
        cl.handshake()
        for i in range(GETS):
            res = RESOURCES[(idx + i) % len(RESOURCES)]
            r = cl.get_resource(res)
            results.append((res, r.status))
            if r.status == 200 and i == 0 and cl.decrypt(r.body) != res.encode():
                errors.append("%s: wrong value" % res)
    except Exception as e:  # noqa: BLE001
        errors.append("client %d: %r" % (idx, e))


def admin_writer(b, key, acked, errors):
    for n in range(20):
        try:
            r, _ = kc.admin_request(b.url, key, "POST", "/kbs/v0/resource/cc/key/w%d" % n,
                                    b"w%d" % n)
            acked.append(r.status)
        except Exception as e:  # noqa: BLE001
            errors.append("admin: %r" % e)


def run(wd, delay):
    """One broker under the load; delay: audit_commit_delay_us, None for the
    default (batches wait for releases in flight), 0 for none."""
    os.makedirs(wd)
    key, pub = admin_key(wd)
    admin = {"bootstrap_key": pub, "bootstrap_namespaces": ["cc"],
             "allow_plaintext_upload": True, "audit_checkpoint_every": 7}
    if delay is not None:
        admin["audit_commit_delay_us"] = delay
    b = Broker(wd, "auditcc", {"server": {"threads": 2},
                               "attestation": {"allow_sample": True},
                               "policy": {"resource": "allow_all", "release": "allow_all"},
                               "admin": admin})
    b.start()
    for res in RESOURCES:
        r, _ = kc.admin_request(b.url, key, "POST", "/kbs/v0/resource/" + res, res.encode())
        T.status("upload " + res, r, 200)

    results, errors, acked = [], [], []
    threads = [threading.Thread(target=releaser, args=(b, i, results, errors))
               for i in range(CLIENTS)]
    threads.append(threading.Thread(target=admin_writer, args=(b, key, acked, errors)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    T.check("no client error", not errors, "; ".join(errors[:5]))
    ok = [res for res, st in results if st == 200]
    T.check("every parallel release answered 200 (%d)" % len(results),
            len(ok) == CLIENTS * GETS and len(results) == CLIENTS * GETS,
            str(sorted(set(st for _, st in results))))
    T.check("every admin write answered 200", acked == [200] * 20, str(acked))

    doc = audit_export(b, key)
    T.check("audit export", len(doc["entries"]) > 0)
    seqs = [e["seq"] for e in doc["entries"]]
    T.check("seqs are consecutive from 1 (%d entries)" % len(seqs),
            seqs == list(range(1, len(seqs) + 1)), str(seqs[:20]))
    for res in RESOURCES:
        n_ok = ok.count(res)
        n_log = len([e for e in doc["entries"] if e.get("action") == "release" and
                     e.get("resource") == res and e.get("outcome") == "allowed"])
        T.check("%s: one allowed-release entry per 200 answered (%d, %d)" %
                (res, n_ok, n_log), n_ok == n_log and n_ok > 0)
    puts = [e for e in doc["entries"] if e.get("action") == "resource.put" and
            (e.get("resource") or "").startswith("cc/key/w")]
    T.check("every admin write has its entry", len(puts) == 20, str(len(puts)))
    rc, rep, out = audit_verify(b, wd, doc, "export1.json")
    T.check("coffer audit verify accepts the chain", rc == 0 and rep.get("result") == "ok",
            out)
    T.check("checkpoints were cut during the load", len(doc["checkpoints"]) >= 5,
            str(len(doc["checkpoints"])))

    # a clean stop drains the queue and signs the head
    b.stop()
    b.start()
    doc2 = audit_export(b, key)
    rc, rep, out = audit_verify(b, wd, doc2, "export2.json")
    last = doc2["entries"][-1]["seq"] if doc2["entries"] else -1
    # the export request itself is not audited, so the head is the last entry
    # written before the stop
    T.check("after a clean stop a checkpoint anchors the head (seq %d)" % last,
            rc == 0 and rep.get("anchored_seq") == last and rep.get("unanchored_tail") == 0,
            out)
    b.stop()


def main():
    wd = workdir()
    for delay in (None, 0):
        print("# audit_commit_delay_us = %s" % ("default" if delay is None else delay))
        run(os.path.join(wd, "delay-%s" % delay), delay)
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
