#!/usr/bin/python3
"""P12 (infrastructure operator): evidence signed by a key that does not
chain to the trusted root (a second coffer-sim hierarchy the broker does not
trust, standing for a forged VCEK): refused with 401; no release."""
import os  # noqa: F401

import harness as h

V1 = "a1" * 48
V2 = "b2" * 48


def test(T, work):
    other = h.sim_init(os.path.join(work, "other-sim"))
    h.refusal_case(T, work, "snp", {"snp": {"measurements": [V1]}},
                   ("--measurement", V1), ("--measurement", V1), ("not signed by a trusted",),
                   bad_sim=other)


if __name__ == "__main__":
    h.main(test, "P12", "coffer-agent", "coffer-sim", "fake_tsm")
