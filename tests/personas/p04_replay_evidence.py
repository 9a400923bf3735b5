#!/usr/bin/python3
"""P04 (orchestration operator): capture a genuine TEE's attestation
(simulated SEV-SNP evidence bound to its nonce and key) and replay it in a
new session: as sent, and with the runtime-data rewritten to the new nonce.
401 AttestationError/nonce refusal every time; no token, nothing released."""
import copy
import os

import harness as h


def test(T, work):
    sim = h.sim_init(os.path.join(work, "sim"))
    br = h.Broker(work, sim=sim).start()
    br.put("kbs:///default/key/data", b"v-" + os.urandom(4).hex().encode())
    before = br.snapshot()
    victim, r, captured = h.snp_attest(br, sim, work)
    T.status("control: the genuine TEE attests", r, 200)
    thief = h.kc.KbsClient(br.url, tee="snp-sim")
    T.status("the operator opens a new session", thief.auth(), 200)
    r = thief.attest(captured)
    T.status("captured evidence replayed as is (old nonce)", r, 401)
    T.check("no token issued", thief.token is None)
    thief2 = h.kc.KbsClient(br.url, tee="snp-sim")
    thief2.auth()
    forged = copy.deepcopy(captured)
    forged["runtime-data"]["nonce"] = thief2.nonce
    r = thief2.attest(forged)
    T.status("captured evidence with the runtime-data moved to the new nonce", r, 401,
             "AttestationError")
    T.check("no token issued", thief2.token is None)
    for c in (thief, thief2):
        T.status("no secret for the replaying session", c.get_resource("default/key/data"), 401)
    T.check("nothing in the store changed", br.snapshot() == before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P04", "coffer-sim")
