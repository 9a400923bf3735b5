#!/usr/bin/python3
"""P11 (infrastructure operator): evidence whose REPORTED_TCB is below the
owner's minimum (firmware rolled back to a vulnerable SNP version; the VCEK
is the genuine one for that TCB): refused with 401; no release."""

import harness as h

V1 = "a1" * 48
V2 = "b2" * 48


def test(T, work):
    h.refusal_case(T, work, "snp",
                   {"snp": {"min_tcb": {"bootloader": 3, "tee": 0, "snp": 8, "microcode": 115}}},
                   ("--tcb", "3,0,8,115"), ("--tcb", "3,0,7,115"), ("below the minimum", "rollback"))


if __name__ == "__main__":
    h.main(test, "P11", "coffer-agent", "coffer-sim", "fake_tsm")
