#!/usr/bin/python3
"""P08 (orchestration operator): change the pod's init-data (e.g. point the
agent at another broker or add a policy) after the TEE was launched with the
digest of the approved init-data in HOST_DATA: the broker hashes the init-data
the agent sends and compares it with HOST_DATA; refused with 401, nothing
released, nothing changed."""
import hashlib

import harness as h

INIT = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = "approved"\n'
CHANGED = 'version = "0.1.0"\nalgorithm = "sha256"\n[data]\n"aa.toml" = "operator-edit"\n'


def test(T, work):
    digest = hashlib.sha256(INIT.encode()).hexdigest()
    h.refusal_case(T, work, "snp", {}, ("--host-data", digest), ("--host-data", digest),
                   ("init", "host_data"), init_data=INIT, bad_init_data=CHANGED)


if __name__ == "__main__":
    h.main(test, "P08", "coffer-agent", "coffer-sim", "fake_tsm")
