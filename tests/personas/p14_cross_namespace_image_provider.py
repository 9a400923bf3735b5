#!/usr/bin/python3
"""P14 (image provider A): write, delete, or set the release policy of
image provider B's namespace, with the CLI and with hand-made admin requests
(a versioned name included): 403 every time, and B's secret, versions and
policy are exactly as before. A's own namespace works (control)."""
import harness as h


def test(T, work):
    br, who = h.scoped_setup(work)
    ka = who["A"][1]
    rc, _, err = br.coffer("resource", "put", "kbs:///img-a/key/k2", key=ka, stdin=b"mine")
    T.check("control: A writes its own namespace", rc == 0, err)
    before = br.snapshot()
    pol = h.rego_file(br, "a-pol", h.ALLOW_REGO)
    h.refused(T, br, "A overwrites B's secret", ["resource", "put", "kbs:///img-b/key/k"], ka,
              before)
    h.refused(T, br, "A adds a secret in B's namespace",
              ["resource", "put", "kbs:///img-b/key/planted"], ka, before)
    h.refused(T, br, "A deletes B's secret", ["resource", "delete", "kbs:///img-b/key/k"], ka,
              before)
    h.refused(T, br, "A deletes a version of B's secret",
              ["resource", "delete", "kbs:///img-b/key/k.v1"], ka, before)
    h.refused(T, br, "A sets B's release policy",
              ["policy", "set", "--kind", "release", "--namespace", "img-b", "--in", pol], ka,
              before)
    akey = h.kc.jwk.JWK.from_json(open(ka).read())
    for method, path, body in (("POST", "/kbs/v0/resource/img-b/key/k", b"raw"),
                               ("DELETE", "/kbs/v0/resource/img-b/key/k", b""),
                               ("POST", "/kbs/v0/resource/img-b/key/k.v7", b"raw")):
        r, _ = h.kc.admin_request(br.url, akey, method, path, body,
                                  alg="EdDSA")
        T.status("raw %s %s by A" % (method, path), r, 403)
    T.check("nothing changed after the raw requests", br.snapshot() == before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P14")
