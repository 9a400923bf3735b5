#!/usr/bin/python3
"""P15 (image provider): try the workload provider's powers: set the
attestation policy, the resource policy, reference values; enrol a principal
(itself as a workload provider, or a new one); disable another principal:
403 every time, nothing changed."""
import os

import harness as h


def test(T, work):
    br, who = h.scoped_setup(work)
    ka = who["A"][1]
    before = br.snapshot()
    pol = h.rego_file(br, "wide-open", h.ALLOW_REGO)
    h.refused(T, br, "set the resource policy", ["policy", "set", "--kind", "resource", "--in",
                                                 pol], ka, before)
    h.refused(T, br, "set the attestation policy",
              ["policy", "set", "--kind", "attestation", "--in", pol], ka, before)
    h.refused(T, br, "set reference values",
              ["refval", "set", "--name", "snp_launch_measurement", "--value", "ff" * 48], ka,
              before)
    rc, _, _ = h.run([h.b("coffer"), "jose", "keygen", "--kty", "OKP", "--crv", "Ed25519",
                      "--out", os.path.join(work, "n.jwk"), "--pub", os.path.join(work,
                                                                                   "n.pub.jwk")])
    for persona, ns in (("workload-provider", "fresh-wp"), ("image-provider", "fresh-ip"),
                        ("data-owner", "data-d")):
        h.refused(T, br, "enrol a %s" % persona,
                  ["principal", "add", "--persona", persona, "--pubkey",
                   os.path.join(work, "n.pub.jwk"), "--namespace", ns], ka, before)
    h.refused(T, br, "disable another principal", ["principal", "disable", who["D"][0]], ka,
              before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P15")
