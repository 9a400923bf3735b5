#!/usr/bin/python3
"""P22 (attested TEE): a TEE running the approved image fetches a secret it
is allowed; 200, and the JWE decrypts to the value with the TEE's ephemeral
key. Twice: through coffer-agent over the (fake) configfs-tsm with simulated
SEV-SNP, and through the independent Python client decrypting the JWE."""
import os
import secrets

import harness as h

V1 = "a1" * 48


def test(T, work):
    sim = h.sim_init(os.path.join(work, "sim"))
    br = h.Broker(work, sim=sim, tee_options={"snp": {"measurements": [V1]}}).start()
    value = b"model-key-" + secrets.token_hex(8).encode()
    br.put("kbs:///default/key/model", value)
    before = br.snapshot()
    tee = h.SimTee(work, "v1", sim, extra=("--measurement", V1))
    rc, out, err = tee.get(br, "kbs:///default/key/model")
    T.check("agent (snp-sim, configfs-tsm) gets the secret it is allowed", rc == 0 and
            out == value, err + br.log()[-800:])
    tee.stop()
    c, r, _ = h.snp_attest(br, sim, work, extra=("--measurement", V1))
    T.status("independent client: attestation with the approved measurement", r, 200)
    r = c.get_resource("default/key/model")
    T.status("independent client: resource GET", r, 200)
    T.check("the JWE decrypts to the value with the TEE's ephemeral key",
            r.status == 200 and c.decrypt(r.body) == value)
    other = h.kc.new_tee_key()[0]
    try:
        h.kc.jwe.JWE().deserialize(r.body.decode(), key=other)
        T.check("another key cannot open the JWE", False)
    except Exception:
        T.check("another key cannot open the JWE", True)
    T.check("the store did not change", br.snapshot() == before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P22", "coffer-agent", "coffer-sim", "fake_tsm")
