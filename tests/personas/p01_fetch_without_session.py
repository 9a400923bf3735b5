#!/usr/bin/python3
"""P01 (orchestration operator): the operator runs the pods and the network
but has no attested TEE. It asks for a secret with no session and no token,
with a made-up cookie, with a made-up bearer token and with an attestation
token signed by its own key: 401 every time, no secret, nothing changed.
What it may do: /healthz and /metrics, which carry no secret."""
import json
import os
import time

import harness as h


def test(T, work):
    br = h.Broker(work).start()
    value = b"do-not-leak-" + os.urandom(6).hex().encode()
    br.put("kbs:///default/key/data", value)
    before = br.snapshot()
    http = h.kc.Http(br.url)
    path = "/kbs/v0/resource/default/key/data"
    r = http.request("GET", path)
    T.status("no session, no token", r, 401)
    r = http.request("GET", path, None, {"Cookie": "kbs-session-id=" + "ab" * 16})
    T.status("made-up session cookie", r, 401)
    r = http.request("GET", path, None, {"Authorization": "Bearer not.a.token"})
    T.status("made-up bearer token", r, 401)
    key, pub = h.kc.new_tee_key()
    now = int(time.time())
    forged = h.kc.jwt.JWT(header={"alg": "ES256"},
                          claims={"iss": "cofferd", "iat": now, "exp": now + 300,
                                  "tee-pubkey": pub,
                                  "submods": {"cpu0": {"ear.status": "affirming"}}})
    forged.make_signed_token(key)
    r = http.request("GET", path, None, {"Authorization": "Bearer " + forged.serialize()})
    T.status("an affirming token signed by the operator's own key", r, 401)
    unsigned = h.kc.b64url(json.dumps({"alg": "none"}).encode()) + "." + h.kc.b64url(
        json.dumps({"exp": now + 300, "tee-pubkey": pub}).encode()) + "."
    r = http.request("GET", path, None, {"Authorization": "Bearer " + unsigned})
    T.status("an alg:none token", r, 401)
    r = http.request("GET", "/healthz")
    T.check("/healthz is open to the operator", r.status == 200, r.status)
    r = http.request("GET", "/metrics")
    T.check("/metrics is open to the operator and carries no secret",
            r.status == 200 and value not in r.body and b"cofferd_" in r.body, r.status)
    T.check("nothing in the store changed", br.snapshot() == before)
    T.check("the broker did not log the secret", value.decode() not in br.log())
    br.stop()


if __name__ == "__main__":
    h.main(test, "P01")
