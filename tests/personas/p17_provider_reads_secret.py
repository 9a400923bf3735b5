#!/usr/bin/python3
"""P17 (workload provider): read a data owner's secret through any admin
endpoint. It runs the broker, so it also looks at the database and the log.
Every admin GET (metadata lists, policies, reference values, principals, the
audit trail and its export, JWKS, metrics), the attested-resource path with
its admin token, and the files in the data directory: the value appears
nowhere (raw, base64 or hex)."""
import base64
import glob
import os

import harness as h

PATHS = ["/kbs/v0/admin/resources", "/kbs/v0/admin/resources?namespace=data-d",
         "/kbs/v0/resource-policy", "/kbs/v0/attestation-policy",
         "/kbs/v0/release-policy/data-d", "/kbs/v0/reference-value/launch",
         "/kbs/v0/admin/principals", "/kbs/v0/admin/audit",
         "/kbs/v0/admin/audit?namespace=data-d", "/kbs/v0/admin/audit/export",
         "/kbs/v0/resource/data-d/key/secret", "/kbs/v0/resource/data-d/key/secret.v1"]


def forms(v):
    return [v, base64.b64encode(v), base64.urlsafe_b64encode(v).rstrip(b"="), v.hex().encode()]


def test(T, work):
    br, who = h.scoped_setup(work)
    value = b"patient-records-key-" + os.urandom(8).hex().encode()
    br.put("kbs:///data-d/key/secret", value, key=who["D"][1])
    br.coffer("refval", "set", "--name", "launch", "--value", "aa")
    before = br.snapshot()
    wp = br.admin_jwk()
    answers = 0
    for path in PATHS:
        r, _ = h.kc.admin_request(br.url, wp, "GET", path)
        answers += r.status == 200
        T.check("GET %s (%d) does not carry the value" % (path, r.status),
                not any(f in r.body for f in forms(value)))
        if "/resource/" in path:
            T.check("GET %s with an admin token is not a release (401)" % path,
                    r.status == 401, r.status)
    T.check("the admin GETs answered (the scan looked at real answers)", answers >= 9, answers)
    http = h.kc.Http(br.url)
    for path in ("/kbs/v0/jwks", "/metrics", "/healthz"):
        r = http.request("GET", path)
        T.check("GET %s does not carry the value" % path,
                r.status == 200 and not any(f in r.body for f in forms(value)), r.status)
    for f in glob.glob(os.path.join(br.data, "*")) + [br.log_path]:
        data = open(f, "rb").read()
        T.check("%s does not hold the value" % os.path.basename(f),
                not any(x in data for x in forms(value)))
    T.check("nothing changed", br.snapshot() == before)
    br.stop()


if __name__ == "__main__":
    h.main(test, "P17")
