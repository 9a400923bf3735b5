#!/usr/bin/python3
"""P19 (workload provider): it adds the measurement of workload v2 to the
reference values. v2 (through the real agent, simulated SEV-SNP) now gets
what the workload provider's own policies allow (an image provider's model
key under the default release policy), but not the data owner's key, whose
release policy pins the measurement of v1: 403 PolicyDeny naming the release
policy, while v1 still gets it. The workload provider cannot widen the data
owner's release."""
import harness as h

V1 = "a1" * 48
V2 = "b2" * 48

PIN_V1 = """package policy
import rego.v1

default allow := false

allow if {
	input.submods.cpu0["ear.status"] == "affirming"
	input.submods.cpu0["ear.veraison.annotated-evidence"].snp.measurement == "%s"
}
""" % V1


def test(T, work):
    sim = h.sim_init(h.os.path.join(work, "sim"))
    br, who = h.scoped_setup(work, sim=sim)
    rc, _, err = br.coffer("policy", "set", "--kind", "attestation", "--in",
                           h.rego_file(br, "att", h.REFVAL_ATTESTATION))
    T.check("setup: the workload provider's attestation policy uses reference values", rc == 0,
            err)
    rc, _, err = br.coffer("refval", "set", "--name", "snp_launch_measurement", "--value", V1)
    T.check("setup: reference values = [v1]", rc == 0, err)
    rc, _, err = br.coffer("policy", "set", "--kind", "release", "--namespace", "data-d",
                           "--in", h.rego_file(br, "pin", PIN_V1), key=who["D"][1])
    T.check("setup: the data owner pins v1 in its release policy", rc == 0, err)
    # the image provider keeps the built-in release policy (affirming)
    rc, _, err = br.coffer("policy", "set", "--kind", "release", "--namespace", "img-a", "--in",
                           h.rego_file(br, "aff", open(h.os.path.join(
                               h.HERE, "..", "..", "src", "cofferd", "policies",
                               "release_default.rego")).read()), key=who["A"][1])
    T.check("setup: the image provider requires an affirming token", rc == 0, err)
    v1 = h.SimTee(work, "v1", sim, "snp", ("--measurement", V1))
    v2 = h.SimTee(work, "v2", sim, "snp", ("--measurement", V2))
    model, data = "kbs:///img-a/key/k", "kbs:///data-d/key/k"

    rc, out, err = v1.get(br, data)
    T.check("v1 gets the data owner's key", rc == 0 and out == b"value-of-D", err)
    rc, out, err = v2.get(br, model)
    T.check("before: v2 (not in the reference values) gets no model key", rc != 0 and out == b"",
            err)

    rc, _, err = br.coffer("refval", "set", "--name", "snp_launch_measurement", "--value", V1,
                           "--value", V2)
    T.check("the workload provider adds v2 to the reference values", rc == 0, err)
    before = br.snapshot()
    rc, out, err = v2.get(br, model)
    T.check("v2 now gets the image provider's model key", rc == 0 and out == b"value-of-A",
            err)
    rc, out, err = v2.get(br, data)
    T.check("v2 does not get the data owner's key", rc != 0 and out == b"", err)
    T.check("the refusal is 403 PolicyDeny naming the data owner's release policy",
            "403" in err and "PolicyDeny" in err and "release" in err, err)
    print("     refusal: %s" % err.strip()[-300:])
    rc, out, err = v1.get(br, data)
    T.check("v1 still gets the data owner's key", rc == 0 and out == b"value-of-D", err)
    T.check("nothing in the store changed", br.snapshot() == before)
    v1.stop()
    v2.stop()
    br.stop()


if __name__ == "__main__":
    h.main(test, "P19", "coffer-agent", "coffer-sim", "fake_tsm")
