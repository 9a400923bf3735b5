#!/usr/bin/python3
"""P02 (orchestration operator): call every admin endpoint with no token,
an expired token, a token signed by a key the broker never enrolled, and a
token that names the workload provider's id but is signed by the operator's
key: 401/403 each time, and the store (resources, policies, reference
values, principals) is exactly as before."""
import base64
import json
import os
import time

import harness as h

REGO = base64.urlsafe_b64encode(b"package policy\n\ndefault allow := true\n").rstrip(b"=")
ENDPOINTS = [
    ("POST", "/kbs/v0/resource/default/key/data", b"overwritten"),
    ("POST", "/kbs/v0/resource/default/key/new", b"planted"),
    ("DELETE", "/kbs/v0/resource/default/key/data", b""),
    ("GET", "/kbs/v0/admin/resources", b""),
    ("POST", "/kbs/v0/resource-policy", json.dumps({"policy": REGO.decode()}).encode()),
    ("GET", "/kbs/v0/resource-policy", b""),
    ("POST", "/kbs/v0/attestation-policy", json.dumps(
        {"type": "rego", "policy_id": "default_cpu", "policy": REGO.decode()}).encode()),
    ("GET", "/kbs/v0/attestation-policy", b""),
    ("POST", "/kbs/v0/release-policy/default", json.dumps({"policy": REGO.decode()}).encode()),
    ("GET", "/kbs/v0/release-policy/default", b""),
    ("POST", "/kbs/v0/reference-value", json.dumps(
        {"version": "0.1.0", "type": "sample", "payload": base64.b64encode(
            json.dumps({"launch_digest": ["ff"]}).encode()).decode()}).encode()),
    ("GET", "/kbs/v0/reference-value/launch_digest", b""),
    ("POST", "/kbs/v0/admin/principals", b"{}"),
    ("GET", "/kbs/v0/admin/principals", b""),
    ("POST", "/kbs/v0/admin/principals/PRINCIPAL/disable", b""),
    ("GET", "/kbs/v0/admin/audit", b""),
    ("GET", "/kbs/v0/admin/audit/export", b""),
]


def test(T, work):
    br = h.Broker(work).start()
    br.put("kbs:///default/key/data", b"original-" + os.urandom(4).hex().encode())
    rc, _, err = br.coffer("refval", "set", "--name", "launch_digest", "--value", "aa")
    T.check("setup: reference value set by the workload provider", rc == 0, err)
    before = br.snapshot()
    admin = br.admin_jwk()
    stranger = h.kc.jwk.JWK.generate(kty="EC", crv="P-256")
    http = h.kc.Http(br.url)
    for method, path, body in ENDPOINTS:
        path = path.replace("PRINCIPAL", admin.thumbprint())
        if "admin/principals" in path and method == "POST" and body == b"{}":
            body = json.dumps({"persona": "workload-provider", "public_key": json.loads(
                stranger.export_public()), "namespaces": ["taken-over"]}).encode()
        what = "%s %s" % (method, path)
        hdr = {"Content-Type": "application/json"}
        r = http.request(method, path, body or None, hdr)
        T.status(what + ": no token", r, 401)
        for label, tok in (
                ("expired token", h.kc.admin_jwt(admin, method, path, body,
                                                 iat=int(time.time()) - 1000, lifetime=60)),
                ("token of an unknown key", h.kc.admin_jwt(stranger, method, path, body)),
                ("the provider's id signed by another key",
                 h.kc.admin_jwt(stranger, method, path, body, sub=admin.thumbprint())),
                ("lifetime over 300 s", h.kc.admin_jwt(admin, method, path, body,
                                                       lifetime=3600))):
            r = http.request(method, path, body or None, dict(hdr, Authorization="Bearer " + tok))
            T.status("%s: %s" % (what, label), r, (401, 403))
        T.check(what + ": nothing changed", br.snapshot() == before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P02")
