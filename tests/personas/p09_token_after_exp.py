#!/usr/bin/python3
"""P09 (orchestration operator): keep a valid attestation token (or the
attested session's cookie) and use it after `exp`: 401, no secret. Before
`exp` the same token works (control)."""
import os
import time

import harness as h


def test(T, work):
    sim = h.sim_init(os.path.join(work, "sim"))
    br = h.Broker(work, sim=sim, settings={"attestation": {"token_lifetime": 2}}).start()
    value = b"v-" + os.urandom(4).hex().encode()
    br.put("kbs:///default/key/data", value)
    before = br.snapshot()
    c, r, _ = h.snp_attest(br, sim, work)
    T.status("attestation", r, 200)
    exp = h.kc.token_claims(c.token)["exp"]
    r = c.get_resource("default/key/data", bearer=c.token, cookie=False)
    T.check("control: the bearer token works before exp",
            r.status == 200 and c.decrypt(r.body) == value, r.status)
    while time.time() < exp + 1.2:
        time.sleep(0.2)
    r = c.get_resource("default/key/data", bearer=c.token, cookie=False)
    T.status("the bearer token after exp", r, 401)
    r = c.get_resource("default/key/data")
    T.status("the attested session's cookie after exp", r, 401)
    T.check("nothing in the store changed", br.snapshot() == before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P09", "coffer-sim")
