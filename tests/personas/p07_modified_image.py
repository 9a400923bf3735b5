#!/usr/bin/python3
"""P07 (orchestration operator): boot a modified image, whose launch
measurement is not among the owner's approved measurements (tee_options
snp.measurements), through the real agent and configfs-tsm: attestation
refused with 401, no token, nothing released, nothing changed."""

import harness as h

V1 = "a1" * 48
V2 = "b2" * 48


def test(T, work):
    h.refusal_case(T, work, "snp", {"snp": {"measurements": [V1]}},
                   ("--measurement", V1), ("--measurement", V2), ("measurement",))


if __name__ == "__main__":
    h.main(test, "P07", "coffer-agent", "coffer-sim", "fake_tsm")
