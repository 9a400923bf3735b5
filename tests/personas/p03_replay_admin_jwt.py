#!/usr/bin/python3
"""P03 (orchestration operator): it terminates TLS at the ingress and
captures a workload provider's signed admin request. Replaying it (the same
request), or using its token for another path, another method or another
body, is refused every time (single-use jti, htm/htu/bdh binding); the
store keeps exactly what the legitimate request wrote."""
import os

import harness as h


def test(T, work):
    br = h.Broker(work).start()
    admin = br.admin_jwk()
    path = "/kbs/v0/resource/default/key/model"
    body = b"legit-" + os.urandom(4).hex().encode()
    r, tok = h.kc.admin_request(br.url, admin, "POST", path, body)
    T.status("the provider's own request", r, 200)
    after_legit = br.snapshot()
    T.check("the legitimate write is stored", any(x[0] == "default/key/model"
                                                  for x in after_legit["resources"]))
    http = h.kc.Http(br.url)
    hdr = {"Authorization": "Bearer " + tok, "Content-Type": "application/octet-stream"}
    for label, method, p, b in (
            ("replay of the same request", "POST", path, body),
            ("the token on another body", "POST", path, b"attacker-value"),
            ("the token on another path", "POST", "/kbs/v0/resource/default/key/other", body),
            ("the token for a delete", "DELETE", path, None),
            ("the token on a read", "GET", "/kbs/v0/admin/resources", None)):
        r = http.request(method, p, b, hdr)
        T.status(label, r, (401, 403))
    T.check("nothing changed after the replays", br.snapshot() == after_legit)
    # a fresh token bound to one body cannot carry another (no replay needed)
    tok2 = h.kc.admin_jwt(admin, "POST", path, body)
    r = http.request("POST", path, b"swapped-body", dict(hdr, Authorization="Bearer " + tok2))
    T.status("a captured-in-flight token with the body swapped", r, 401)
    T.check("still nothing changed", br.snapshot() == after_legit)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P03")
