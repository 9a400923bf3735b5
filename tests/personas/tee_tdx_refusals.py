#!/usr/bin/python3
"""Simulated Intel TDX through the whole chain (coffer-sim tdx-quote behind
the fake configfs-tsm, the real coffer-agent, cofferd trusting the simulated
root and its collateral), and the refusals that matter: a debug TD, a TD
whose MRTD is not the approved one, init-data whose digest is not the TD's
MR_CONFIG_ID, and an out-of-date TCB (TEE_TCB_SVN 01.00.05, OutOfDate in the
simulated TCB info) under an owner policy that requires UpToDate. Each case
has an approved control on the same broker and must be refused with 401 for
its own reason, release nothing and change nothing in the store. The SEV-SNP
equivalents are persona_P07, P08, P10 and P11."""
import hashlib

import harness as h

MRTD = "c3" * 48
OTHER = "d4" * 48
INIT = 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = "approved"\n'
CHANGED = 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = "operator-edit"\n'


def test(T, work):
    base = ("--mrtd", MRTD)
    cases = [
        ("debug", {"tdx": {"mr_td": [MRTD]}}, base, base + ("--debug",), ("debug",), {}),
        ("wrong MRTD", {"tdx": {"mr_td": [MRTD]}}, base, ("--mrtd", OTHER), ("mr_td",), {}),
        ("init-data vs MR_CONFIG_ID", {},
         base + ("--mr-config-id", hashlib.sha384(INIT.encode()).hexdigest()),
         base + ("--mr-config-id", hashlib.sha384(INIT.encode()).hexdigest()),
         ("mr_config_id",), {"init_data": INIT, "bad_init_data": CHANGED}),
        ("out-of-date TCB", {"tdx": {"min_tcb_status": "UpToDate"}}, base,
         base + ("--tee-tcb-svn", "010005"), ("OutOfDate", "UpToDate"), {}),
    ]
    for i, (name, opts, good, bad, reason, kw) in enumerate(cases):
        T.row = "tdx " + name
        h.refusal_case(T, work, "tdx", opts, good, bad, reason, name="b%d" % i, **kw)
    T.row = "tee_tdx_refusals"


if __name__ == "__main__":
    h.main(test, "tee_tdx_refusals", "coffer-agent", "coffer-sim", "fake_tsm")
