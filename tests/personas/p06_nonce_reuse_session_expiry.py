#!/usr/bin/python3
"""P06 (orchestration operator): reuse a nonce (a second attestation in a
session whose nonce was spent, with fresh evidence bound to the operator's
key), and use a session after it expired (attest after session_lifetime).
An attested session only ever answers with its original token, bound to the
original TEE's key (the operator's key gets nothing it can open); a nonce
spent by a failed attempt, and an expired session, are refused with 401;
nothing released, nothing changed."""
import os
import time

import harness as h


def bound_key(token):
    """The tee-pubkey an EAR token binds (runtime_data_claims in the
    annotated evidence)."""
    ae = h.kc.token_claims(token)["submods"]["cpu0"]["ear.veraison.annotated-evidence"]
    return ae["runtime_data_claims"]["tee-pubkey"]


def test(T, work):
    sim = h.sim_init(os.path.join(work, "sim"))
    br = h.Broker(work, sim=sim, settings={"attestation": {"session_lifetime": 2}}).start()
    br.put("kbs:///default/key/data", b"v-" + os.urandom(4).hex().encode())
    before = br.snapshot()
    c, r, _ = h.snp_attest(br, sim, work)
    T.status("control: first attestation in the session", r, 200)
    nonce, first = c.nonce, c.token
    victim_key, victim_pub = c.key, c.pub
    c.key, c.pub = h.kc.new_tee_key()
    rd = h.kc.binding_digest(nonce, c.pub, "", c.hash_name)
    again = {"runtime-data": {"nonce": nonce, "tee-pubkey": c.pub},
             "tee-evidence": {"primary_evidence": h.snp_evidence(sim, work, rd),
                              "additional_evidence": ""}}
    r = c.attest(again)
    T.check("the spent nonce with fresh evidence bound to the operator's key: no new token "
            "(401, or the session's original token)",
            r.status == 401 or (r.status == 200 and r.json()["token"] == first),
            "%d %s" % (r.status, r.body[:200]))
    T.check("no token binds the operator's key (runtime_data_claims tee-pubkey)",
            all(bound_key(t)["x"] != c.pub["x"] and bound_key(t)["x"] == victim_pub["x"]
                for t in (first, c.token) if t))
    r = c.get_resource("default/key/data")
    opened = False
    try:
        c.decrypt(r.body, key=c.key)
        opened = True
    except Exception:
        pass
    T.check("the session's secret is encrypted to the original TEE only",
            r.status == 200 and not opened and c.decrypt(r.body, key=victim_key), r.status)

    # a failed attempt spends the nonce too
    f = h.kc.KbsClient(br.url, tee="snp-sim")
    f.auth()
    f.key, f.pub = h.kc.new_tee_key()
    bad = {"runtime-data": {"nonce": f.nonce, "tee-pubkey": f.pub},
           "tee-evidence": {"primary_evidence": h.snp_evidence(sim, work, b"\0" * 48),
                            "additional_evidence": ""}}
    T.status("a failed attempt", f.attest(bad), 401)
    rd = h.kc.binding_digest(f.nonce, f.pub, "", f.hash_name)
    good = {"runtime-data": {"nonce": f.nonce, "tee-pubkey": f.pub},
            "tee-evidence": {"primary_evidence": h.snp_evidence(sim, work, rd),
                             "additional_evidence": ""}}
    T.status("then correct evidence on the same nonce", f.attest(good), 401)

    s = h.kc.KbsClient(br.url, tee="snp-sim")
    T.status("a new session", s.auth(), 200)
    time.sleep(3.2)
    s.key, s.pub = h.kc.new_tee_key()
    rd = h.kc.binding_digest(s.nonce, s.pub, "", s.hash_name)
    late = {"runtime-data": {"nonce": s.nonce, "tee-pubkey": s.pub},
            "tee-evidence": {"primary_evidence": h.snp_evidence(sim, work, rd),
                             "additional_evidence": ""}}
    r = s.attest(late)
    T.status("attesting after the session expired", r, 401)
    T.check("no token", s.token is None)
    T.status("no secret for the expired session", s.get_resource("default/key/data"), 401)
    T.check("nothing in the store changed", br.snapshot() == before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P06", "coffer-sim")
