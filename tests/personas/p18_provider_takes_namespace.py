#!/usr/bin/python3
"""P18 (workload provider): take over or overwrite a data owner's
namespace: write or delete its secrets, set its release policy, hand the
namespace to a new principal (or to itself), and, after disabling the data
owner, try all that again: 403 / refused every time. Disabling freezes the
namespace (availability) but never hands it over (confidentiality)."""
import os

import harness as h


def test(T, work):
    br, who = h.scoped_setup(work)
    wp = br.admin_key
    before = br.snapshot()
    pol = h.rego_file(br, "wp-pol", h.ALLOW_REGO)
    priv, pub = os.path.join(work, "n.jwk"), os.path.join(work, "n.pub.jwk")
    h.run([h.b("coffer"), "jose", "keygen", "--kty", "OKP", "--crv", "Ed25519", "--out", priv,
           "--pub", pub])

    def attacks(tag, snap):
        h.refused(T, br, tag + "overwrite the data owner's secret",
                  ["resource", "put", "kbs:///data-d/key/k"], wp, snap)
        h.refused(T, br, tag + "delete it", ["resource", "delete", "kbs:///data-d/key/k"], wp, snap)
        h.refused(T, br, tag + "set its release policy",
                  ["policy", "set", "--kind", "release", "--namespace", "data-d", "--in", pol],
                  wp, snap)
        h.refused(T, br, tag + "hand data-d to a new principal",
                  ["principal", "add", "--persona", "data-owner", "--pubkey", pub,
                   "--namespace", "data-d"], wp, snap, words=("data-d",))

    attacks("", before)
    rc, _, err = br.coffer("principal", "disable", who["D"][0])
    T.check("the workload provider may disable the data owner", rc == 0, err)
    frozen = br.snapshot()
    T.check("disabling changed only the principal's state",
            frozen["resources"] == before["resources"] and
            frozen["policies"] == before["policies"])
    attacks("after disable: ", frozen)
    rc, _, err = br.coffer("resource", "put", "kbs:///data-d/key/k", key=who["D"][1],
                           stdin=b"frozen")
    T.check("after disable: the data owner itself is frozen out too (401/403)", rc != 0, err)
    T.check("after disable: nothing changed", br.snapshot() == frozen)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P18")
