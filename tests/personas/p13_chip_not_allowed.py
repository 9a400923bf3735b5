#!/usr/bin/python3
"""P13 (infrastructure operator): relay the attestation to a genuine chip
that is not on the owner's allow-list (tee_options snp.allowed_chip_ids).
The same simulated chip is accepted by a broker whose allow-list names it
(control) and refused with 401 by one whose allow-list does not; no
release, nothing changed."""
import os

import harness as h

V1 = "a1" * 48


def test(T, work):
    sim = h.sim_init(os.path.join(work, "sim"))
    chip = h.snp_chip_id(sim, work)
    T.check("the simulated chip id is 64 bytes", len(chip) == 128)
    uri = "kbs:///default/key/data"
    value = b"chip-bound-" + os.urandom(6).hex().encode()
    results = {}
    for name, allowed in (("listed", ["cd" * 64, chip]), ("unlisted", ["cd" * 64, "ef" * 64])):
        br = h.Broker(work, name, sim=sim, tee_options={"snp": {"allowed_chip_ids": allowed}})
        br.start()
        br.put(uri, value)
        before = br.snapshot()
        tee = h.SimTee(work, name, sim, "snp", ("--measurement", V1))
        results[name] = tee.get(br, uri)
        tee.stop()
        T.check("%s: nothing in the store changed" % name, br.snapshot() == before)
        br.stop()
    rc, out, err = results["listed"]
    T.check("control: the chip on the allow-list gets the secret", rc == 0 and out == value, err)
    rc, out, err = results["unlisted"]
    T.check("relay: a chip not on the allow-list gets nothing", rc == 1 and out == b"", err)
    T.check("relay: refused at attestation with 401 naming the chip id",
            "HTTP 401" in err and "AttestationError" in err and "chip" in err.lower(), err)
    print("     refusal: %s" % err.strip()[-300:])


if __name__ == "__main__":
    h.main(test, "P13", "coffer-agent", "coffer-sim", "fake_tsm")
