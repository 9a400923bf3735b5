#!/usr/bin/python3
"""P05 (orchestration operator): valid simulated SEV-SNP evidence whose
report_data binds one tee-pubkey, presented with another (the operator's),
so that the secret would be encrypted to a key it holds: 401
AttestationError, no token, nothing released, nothing changed."""
import os

import harness as h


def test(T, work):
    sim = h.sim_init(os.path.join(work, "sim"))
    br = h.Broker(work, sim=sim).start()
    br.put("kbs:///default/key/data", b"v-" + os.urandom(4).hex().encode())
    before = br.snapshot()
    c, r, _ = h.snp_attest(br, sim, work)
    T.status("control: evidence bound to the key it is sent with", r, 200)
    c, r, _ = h.snp_attest(br, sim, work, bind_other=True)
    T.status("evidence bound to another tee-pubkey", r, 401, "AttestationError")
    T.check("no token issued", c.token is None)
    T.status("no secret for that session", c.get_resource("default/key/data"), 401)
    T.check("nothing in the store changed", br.snapshot() == before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P05", "coffer-sim")
