#!/usr/bin/python3
"""cofferd's Rego policies against a real broker (issue 7, PERSONAS.md rule 3):
the built-in defaults, an uploaded attestation policy fed by reference
values, resource and release denials that name the policy, a bad upload
refused with line and column while the previous policy stays in force,
hostile policies bounded, policies replaced under load, and stored policies
in force again after a restart."""
import base64
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import kbs_client as kc  # noqa: E402
from cofferd_harness import Broker, Tests, admin, admin_key, bin_dir, workdir  # noqa: E402

T = Tests()


def set_policy(b, key, kind, text, ns=None):
    pol = kc.b64url(text.encode())
    if kind == "attestation":
        body = {"type": "rego", "policy_id": "default_cpu", "policy": pol}
        path = "/kbs/v0/attestation-policy"
    elif kind == "resource":
        body, path = {"policy": pol}, "/kbs/v0/resource-policy"
    else:
        body, path = {"policy": pol}, "/kbs/v0/release-policy/" + ns
    return admin(b, key, "POST", path, json.dumps(body).encode())


def set_refval(b, key, values):
    payload = base64.b64encode(json.dumps(values).encode()).decode()
    body = json.dumps({"version": "0.1.0", "type": "sample", "payload": payload}).encode()
    return admin(b, key, "POST", "/kbs/v0/reference-value", body)


def attest(b):
    c = kc.KbsClient(b.url)
    r = c.auth()
    if r.status != 200:
        return c, r, None
    r = c.attest(c.attest_body())
    cpu0 = kc.token_claims(c.token)["submods"]["cpu0"] if r.status == 200 else None
    return c, r, cpu0


def detail(r):
    try:
        return r.json().get("detail", "")
    except ValueError:
        return ""


def etype(r):
    return r.error_type().rsplit("/", 1)[-1]


def denied_by(r, words):
    return r.status == 403 and etype(r) == "PolicyDeny" and words in detail(r)


ATT_REF = """package policy
import rego.v1

default executables := 33

executables := 3 if {
	input.sample.svn in data.reference.sample_svn
}

trust_claims := {"executables": executables, "hardware": 2, "configuration": 2}

extensions := {"svn": input.sample.svn}
"""

RES_BLOCK = """package policy
import rego.v1

default allow := false

allow if {
	input.submods.cpu0["ear.status"] == "affirming"
	data["resource-path"][2] != "blocked"
	data.plugin == "resource"
}
"""

REL_PIN = """package policy
import rego.v1

default allow := false

allow if input.submods.cpu0["ear.veraison.policy-claims"].svn == "2"
"""

HOSTILE_RES = {
    "exponential loop": """package policy
import rego.v1
allow if {
	count([x | some a in numbers.range(1, 400); some b in numbers.range(1, 400);
	       some c in numbers.range(1, 400); x := a + b + c]) > 0
}
""",
    "unbounded recursion": """package policy
import rego.v1
f(x) := y if {
	y := f(x + 1)
}
allow if f(1) > 0
""",
    "huge memory": """package policy
import rego.v1
big := concat("", [s | some i in numbers.range(1, 2000000); s := "xxxxxxxxxxxxxxxx"])
allow if count(big) > 0
""",
}

HOSTILE_ATT = """package policy
import rego.v1
trust_claims := {"executables": 3}
extensions := [x | some x in numbers.range(1, 1000000)]
"""


def test_default_equivalence(wd):
    """attestation_default.rego against the outputs of the fixed C policy it
    replaced (policy_fixed.c, removed in a4c3e2d), recorded for random
    sample/snp/tdx inputs: defined, false, null, 0, "" and missing claims,
    several TEEs at once, TDX event logs."""
    coffer = os.path.join(bin_dir(), "coffer")
    pol = os.path.join(os.environ.get("COFFER_SOURCE_DIR", os.path.join(HERE, "..", "..")),
                       "src", "cofferd", "policies", "attestation_default.rego")
    if not os.path.exists(coffer):
        T.check("coffer binary for the default-policy cases", False, coffer)
        return
    bad = []
    n = 0
    with open(os.path.join(HERE, "cofferd_policy_default_cases.jsonl")) as f:
        for line in f:
            case = json.loads(line)
            inp = os.path.join(wd, "case-input.json")
            with open(inp, "w") as g:
                json.dump(case["input"], g)
            p = subprocess.run([coffer, "policy", "eval", "--input", inp, "--query",
                                "data.policy.trust_claims", pol], capture_output=True,
                               timeout=30)
            res = json.loads(p.stdout)["result"] if p.returncode == 0 else None
            got = res[0]["x"] if res else None
            n += 1
            if got != case["want"]:
                bad.append((n, got, case["want"]))
    T.check("built-in attestation policy == the fixed C policy on %d recorded cases" % n,
            n >= 20 and not bad, str(bad[:3]))


def test_defaults(b, key):
    # the built-in attestation policy on sample evidence (the verifier
    # reports launch_digest, svn and platform_version; no configuration)
    c, r, cpu0 = attest(b)
    T.status("default policy: sample attests", r, 200)
    T.check("default policy: trust vector of the built-in default_cpu",
            cpu0 and cpu0["ear.trustworthiness-vector"] ==
            {"configuration": 36, "executables": 3, "hardware": 2} and
            cpu0["ear.appraisal-policy-id"] == "default_cpu" and
            cpu0["ear.status"] == "warning", json.dumps(cpu0)[:300])
    r = c.get_resource("default/key/k1")
    T.check("default resource policy refuses a non-affirming token (403 naming it)",
            denied_by(r, "resource policy"), "%d %s" % (r.status, r.body[:300]))


def test_attestation_policy(b, key):
    T.status("upload an attestation policy using data.reference",
             set_policy(b, key, "attestation", ATT_REF), 200)
    c, r, cpu0 = attest(b)
    T.check("uploaded policy: svn not in reference values -> executables 33",
            r.status == 200 and cpu0["ear.trustworthiness-vector"] ==
            {"configuration": 2, "executables": 33, "hardware": 2} and
            cpu0["ear.status"] == "warning", "%d %s" % (r.status, r.body[:300]))
    T.status("reference value sample_svn = [1]", set_refval(b, key, {"sample_svn": ["1"]}),
             200)
    c, r, cpu0 = attest(b)
    T.check("reference values feed data.reference: executables 3, affirming",
            r.status == 200 and cpu0["ear.trustworthiness-vector"]["executables"] == 3 and
            cpu0["ear.status"] == "affirming", "%d %s" % (r.status, r.body[:300]))
    T.check("extensions in the token", cpu0 and
            cpu0.get("ear.veraison.policy-claims") == {"svn": "1"}, json.dumps(cpu0)[:300])
    r = c.get_resource("default/key/k1")
    T.check("affirming token: default resource and release policies release",
            r.status == 200 and c.decrypt(r.body) == b"value-1",
            "%d %s" % (r.status, r.body[:300]))
    return c


def test_no_trust_claim(b, key):
    for name, text in [("empty trust_claims", "package policy\ntrust_claims := {}\n"),
                       ("no trust_claims rule", "package policy\ndefault allow := true\n"),
                       ("unknown claim", "package policy\ntrust_claims := {\"x\": 2}\n"),
                       ("non-integer claim",
                        "package policy\ntrust_claims := {\"hardware\": \"2\"}\n")]:
        T.status("upload attestation policy: " + name, set_policy(b, key, "attestation", text),
                 200)
        c, r, cpu0 = attest(b)
        T.check("no token when the policy sets no valid trust claim (%s)" % name,
                r.status == 401 and etype(r) == "AttestationError",
                "%d %s" % (r.status, r.body[:300]))
    T.status("restore the reference-value policy",
             set_policy(b, key, "attestation", ATT_REF), 200)


def test_release_and_resource(b, key, c):
    T.status("owner pins svn 2 in its release policy",
             set_policy(b, key, "release", REL_PIN, ns="default"), 200)
    r = c.get_resource("default/key/k1")
    T.check("owner's release policy denies (403 naming the release policy of default)",
            denied_by(r, "release policy of default") and "owner" in detail(r),
            "%d %s" % (r.status, r.body[:300]))
    r = c.get_resource("owned/key/k2")
    T.check("another namespace: default release policy still releases",
            r.status == 200 and c.decrypt(r.body) == b"value-2", "%d %s" % (r.status, r.body))
    T.status("resource policy blocking tag 'blocked'",
             set_policy(b, key, "resource", RES_BLOCK), 200)
    r = c.get_resource("owned/key/blocked")
    T.check("resource policy denies (403 naming the resource policy)",
            denied_by(r, "resource policy") and "release" not in detail(r),
            "%d %s" % (r.status, r.body[:300]))
    r = c.get_resource("owned/key/k2")
    T.status("resource policy allows the other path", r, 200)
    # bearer path too
    r = c.get_resource("owned/key/blocked", bearer=c.token, cookie=False)
    T.check("bearer: resource policy denies", denied_by(r, "resource policy"),
            "%d %s" % (r.status, r.body[:200]))
    r = admin(b, key, "GET", "/kbs/v0/admin/audit?namespace=default")
    txt = r.body.decode(errors="replace")
    T.check("audit: the release denial names the owner's release policy",
            r.status == 200 and '"release"' in txt and '"denied"' in txt and
            "the owner's release policy of default" in txt and "default_cpu" in txt and
            '"sample"' in txt, "%d %s" % (r.status, txt[-600:]))
    T.check("audit: neither the token nor the secret value",
            c.token not in txt and "value-1" not in txt)
    r = admin(b, key, "GET", "/kbs/v0/admin/audit?namespace=owned")
    txt = r.body.decode(errors="replace")
    T.check("audit: an allowed release and a resource-policy denial in owned",
            r.status == 200 and '"allowed"' in txt and "resource policy: not allowed" in txt,
            "%d %s" % (r.status, txt[-600:]))
    log = b.read_log()
    T.check("the denial is logged with the policy", '"policy":"resource policy"' in log and
            '"policy":"the owner\'s release policy of default"' in log)


def test_bad_upload(b, key, c):
    for kind in ("resource", "attestation", "release"):
        r = set_policy(b, key, kind, "package policy\n\nallow if {\n  input.x ==\n",
                       ns="owned")
        T.check("bad %s upload refused with line and column" % kind,
                r.status == 400 and etype(r) == "ParsePolicyError" and
                "line" in detail(r) and "column" in detail(r), "%d %s" % (r.status, r.body))
    r = c.get_resource("owned/key/blocked")
    T.check("previous resource policy still in force", denied_by(r, "resource policy"),
            "%d %s" % (r.status, r.body[:200]))
    r = c.get_resource("owned/key/k2")
    T.status("previous release default still in force for owned", r, 200)
    c2, r, cpu0 = attest(b)
    T.check("previous attestation policy still in force",
            r.status == 200 and cpu0["ear.status"] == "affirming", r.body[:200])


def test_hostile(b, key, c):
    for name, text in HOSTILE_RES.items():
        r = set_policy(b, key, "resource", text)
        if r.status == 400:
            # refused at upload (e.g. recursion found by the compiler): fine,
            # as long as the message says where
            T.check("hostile resource policy (%s) refused at upload with a position" % name,
                    "line" in detail(r), detail(r))
            continue
        T.status("hostile resource policy (%s) stored" % name, r, 200)
        t0 = time.time()
        r = c.get_resource("owned/key/k2")
        dt = time.time() - t0
        T.check("hostile resource policy (%s): denial with a clear error, %.1fs" % (name, dt),
                denied_by(r, "resource policy") and "evaluation failed" in detail(r) and
                dt < 20, "%d %s" % (r.status, r.body[:300]))
    T.status("broker still healthy after hostile resource policies",
             kc.Http(b.url).request("GET", "/healthz"), 200)
    T.status("hostile attestation policy (huge output) stored",
             set_policy(b, key, "attestation", HOSTILE_ATT), 200)
    t0 = time.time()
    c2, r, cpu0 = attest(b)
    T.check("hostile attestation policy: attestation error, no token (%.1fs)" %
            (time.time() - t0),
            r.status == 401 and etype(r) == "AttestationError" and
            "limit" in detail(r), "%d %s" % (r.status, r.body[:300]))
    T.status("restore attestation policy", set_policy(b, key, "attestation", ATT_REF), 200)
    T.status("restore resource policy", set_policy(b, key, "resource", RES_BLOCK), 200)


def test_replace_under_load(b, key, c):
    stop = threading.Event()
    bad = []
    count = [0]

    def reader():
        h = kc.KbsClient(b.url)
        while not stop.is_set():
            r = h.get_resource("owned/key/k2", bearer=c.token, cookie=False)
            count[0] += 1
            if r.status not in (200, 403):
                bad.append((r.status, r.body[:200]))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    allow_all = "package policy\ndefault allow := true\n"
    n = 0
    deadline = time.time() + 4
    while time.time() < deadline:
        set_policy(b, key, "resource", allow_all if n % 2 else RES_BLOCK)
        set_policy(b, key, "release", allow_all if n % 2 else REL_PIN, ns="owned")
        n += 1
    stop.set()
    for t in threads:
        t.join()
    T.check("policies replaced %d times under %d requests: only 200/403" % (n, count[0]),
            not bad and n > 4 and count[0] > 10, str(bad[:3]))
    T.status("broker alive after replacement under load",
             kc.Http(b.url).request("GET", "/healthz"), 200)
    T.status("settle: resource policy", set_policy(b, key, "resource", RES_BLOCK), 200)
    T.status("settle: release policy of owned", set_policy(b, key, "release", REL_PIN,
                                                           ns="owned"), 200)


def test_restart(b, key):
    b.stop()
    b.start()
    c, r, cpu0 = attest(b)
    T.check("after restart: the stored attestation policy is in force",
            r.status == 200 and cpu0["ear.trustworthiness-vector"]["executables"] == 3,
            r.body[:200])
    r = c.get_resource("owned/key/k2")
    T.check("after restart: the stored release policy is in force",
            denied_by(r, "release policy of owned"), "%d %s" % (r.status, r.body[:200]))
    r = c.get_resource("owned/key/blocked")
    T.check("after restart: the stored resource policy is in force",
            denied_by(r, "resource policy"), "%d %s" % (r.status, r.body[:200]))


def main():
    wd = workdir()
    test_default_equivalence(wd)
    key, pub = admin_key(wd)
    b = Broker(wd, "policy", {"attestation": {"allow_sample": True},
                              "admin": {"bootstrap_key": pub,
                                        "bootstrap_namespaces": ["default", "owned"],
                                        "allow_plaintext_upload": True}})
    try:
        b.start()
    except RuntimeError:
        # before the sealed-upload work lands the key is unknown
        b = Broker(wd, "policy2", {"attestation": {"allow_sample": True},
                                   "admin": {"bootstrap_key": pub,
                                             "bootstrap_namespaces": ["default", "owned"]}})
        b.start()
    try:
        for path, value in [("default/key/k1", b"value-1"), ("owned/key/k2", b"value-2"),
                            ("owned/key/blocked", b"value-3")]:
            T.status("put " + path, admin(b, key, "POST", "/kbs/v0/resource/" + path, value),
                     200)
        test_defaults(b, key)
        c = test_attestation_policy(b, key)
        test_no_trust_claim(b, key)
        c = kc.KbsClient(b.url)
        c.handshake()
        test_release_and_resource(b, key, c)
        test_bad_upload(b, key, c)
        test_hostile(b, key, c)
        test_replace_under_load(b, key, c)
        test_restart(b, key)
    finally:
        b.stop()
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
