#!/usr/bin/python3
"""P16 (data owner): any write outside its namespaces: secrets in the
workload provider's, an image provider's or an unowned namespace, deletes
there, their release policies, the global policies, reference values,
principals: 403 every time, nothing changed. Its own namespace works
(control)."""
import harness as h


def test(T, work):
    br, who = h.scoped_setup(work)
    kd = who["D"][1]
    rc, _, err = br.coffer("resource", "put", "kbs:///data-d/key/k2", key=kd, stdin=b"mine")
    T.check("control: the data owner writes its own namespace", rc == 0, err)
    before = br.snapshot()
    pol = h.rego_file(br, "d-pol", h.ALLOW_REGO)
    for ns in ("default", "img-a", "unowned"):
        h.refused(T, br, "put in %s" % ns, ["resource", "put", "kbs:///%s/key/k" % ns], kd,
                  before)
        h.refused(T, br, "release policy of %s" % ns,
                  ["policy", "set", "--kind", "release", "--namespace", ns, "--in", pol], kd,
                  before)
    for ns in ("default", "img-a"):
        h.refused(T, br, "delete in %s" % ns, ["resource", "delete", "kbs:///%s/key/k" % ns], kd,
                  before)
    for kind in ("resource", "attestation"):
        h.refused(T, br, "%s policy" % kind, ["policy", "set", "--kind", kind, "--in", pol], kd,
                  before)
    h.refused(T, br, "reference values", ["refval", "set", "--name", "x", "--value", "y"], kd,
              before)
    h.refused(T, br, "disable a principal", ["principal", "disable", who["A"][0]], kd, before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P16")
