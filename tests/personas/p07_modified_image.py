#!/usr/bin/python3
"""P07 (orchestration operator): boot a modified image, whose launch
measurement is not an approved one, through the real agent and
configfs-tsm. Two ways the workload provider approves images, both tried:
reference values read by its attestation policy (the modified image gets a
token that is not affirming, and the release is refused with 403), and the
owner's measurement allow-list in tee_options (attestation refused with
401). Nothing released, nothing changed."""
import harness as h

V1 = "a1" * 48
V2 = "b2" * 48


def test(T, work):
    sim = h.sim_init(h.os.path.join(work, "sim"))
    br = h.Broker(work, "refval", sim=sim).start()
    rc, _, err = br.coffer("policy", "set", "--kind", "attestation", "--in",
                           h.rego_file(br, "att", h.REFVAL_ATTESTATION))
    rc2, _, err2 = br.coffer("refval", "set", "--name", "snp_launch_measurement", "--value", V1)
    T.check("setup: attestation policy and reference values [v1]", rc == 0 and rc2 == 0,
            err + err2)
    br.put("kbs:///default/key/data", b"approved-only")
    before = br.snapshot()
    v1 = h.SimTee(work, "v1", sim, "snp", ("--measurement", V1))
    rc, out, err = v1.get(br, "kbs:///default/key/data")
    T.check("control: the approved image gets the secret", rc == 0 and out == b"approved-only",
            err)
    mod = h.SimTee(work, "modified", sim, "snp", ("--measurement", V2))
    rc, out, err = h.run(mod.agent_args(br) + ["token"])
    status = None
    if rc == 0:
        cpu0 = h.kc.token_claims(out.decode().strip())["submods"]["cpu0"]
        status = cpu0["ear.status"]
        T.check("the modified image's token: executables not recognized (33)",
                cpu0["ear.trustworthiness-vector"].get("executables") == 33, cpu0)
    T.check("the modified image's token is not affirming", rc == 0 and status not in
            (None, "affirming"), "%s %s" % (status, err))
    rc, out, err = mod.get(br, "kbs:///default/key/data")
    T.check("the modified image gets nothing (403 PolicyDeny)",
            rc == 1 and out == b"" and "403" in err and "PolicyDeny" in err, err)
    print("     refusal: %s" % err.strip()[-300:])
    T.check("nothing in the store changed", br.snapshot() == before)
    v1.stop()
    mod.stop()
    br.stop()

    T.row = "P07 tee_options"
    h.refusal_case(T, work, "snp", {"snp": {"measurements": [V1]}},
                   ("--measurement", V1), ("--measurement", V2), ("measurement",))
    T.row = "P07"


if __name__ == "__main__":
    h.main(test, "P07", "coffer-agent", "coffer-sim", "fake_tsm")
