#!/usr/bin/python3
"""P10 (infrastructure operator): evidence from a guest launched with
debugging allowed (SEV-SNP guest policy bit 19; the host could read its
memory): refused with 401 unless the owner sets allow_debug; no release."""

import harness as h

V1 = "a1" * 48
V2 = "b2" * 48


def test(T, work):
    h.refusal_case(T, work, "snp", {"snp": {"measurements": [V1]}},
                   ("--measurement", V1),
                   ("--measurement", V1, "--policy", str(0x30000 | (1 << 19))), ("debug",))


if __name__ == "__main__":
    h.main(test, "P10", "coffer-agent", "coffer-sim", "fake_tsm")
