#!/usr/bin/python3
"""cofferd with the simulated TEEs (coffer-sim): real SEV-SNP report and TDX
quote formats, signed by a test hierarchy the broker trusts only because its
configuration names the simulated root. Checks that verifiers plug into the
broker unchanged: binding, init-data against HOST_DATA / MR_CONFIG_ID,
claims in the token, refusals."""
import hashlib
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import kbs_client as kc  # noqa: E402
from cofferd_harness import Broker, Tests, bin_dir, workdir  # noqa: E402

T = Tests()


def sim(*args):
    p = subprocess.run([os.path.join(bin_dir(), "coffer-sim")] + list(args),
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("coffer-sim %s: %s" % (args[0], p.stderr.decode()))
    return p.stdout


def attest(b, tee, make_evidence, init_data=None, bind_other=False):
    c = kc.KbsClient(b.url, tee=tee)
    r = c.auth()
    if r.status != 200:
        return c, r
    c.key, c.pub = kc.new_tee_key()
    other = kc.new_tee_key()[1] if bind_other else c.pub
    rd = kc.binding_digest(c.nonce, other, "")
    body = {"runtime-data": {"nonce": c.nonce, "tee-pubkey": c.pub},
            "tee-evidence": {"primary_evidence": make_evidence(rd), "additional_evidence": ""}}
    if init_data is not None:
        body["init-data"] = {"format": "toml", "body": init_data}
    return c, c.attest(body)


def main():
    if not os.path.exists(os.path.join(bin_dir(), "coffer-sim")):
        print("SKIPPED: no coffer-sim", file=sys.stderr)
        return 77
    wd = workdir()
    simdir = os.path.join(wd, "sim")
    sim("init", "--dir", simdir)
    roots = os.path.join(wd, "sim-roots.pem")
    with open(roots, "w") as f:
        f.write(open(os.path.join(simdir, "snp", "ark.pem")).read())
        f.write(open(os.path.join(simdir, "tdx", "root.pem")).read())
    init = 'version = "0.1.0"\nalgorithm = "sha384"\n[data]\n"aa.toml" = "x"\n'
    idg = hashlib.sha384(init.encode()).digest()
    b = Broker(wd, "sim", {"attestation": {"sim_root": roots,
                                           "collateral_dir": os.path.join(simdir, "tdx",
                                                                          "collateral")},
                           "policy": {"resource": "default"}}).start()
    try:
        def snp(host_data=None):
            def make(rd):
                out = os.path.join(wd, "snp-ev.json")
                args = ["snp-report", "--dir", simdir, "--report-data", rd.hex(),
                        "--measurement", "11" * 48, "--evidence", out]
                if host_data is not None:
                    args += ["--host-data", host_data.hex()]
                sim(*args)
                return json.load(open(out))
            return make

        def tdx(cfg_id=None):
            def make(rd):
                out = os.path.join(wd, "tdx-ev.json")
                args = ["tdx-quote", "--dir", simdir, "--report-data", rd.hex(), "--evidence",
                        "--out", out]
                if cfg_id is not None:
                    args += ["--mr-config-id", cfg_id.hex()]
                sim(*args)
                return json.load(open(out))
            return make

        c, r = attest(b, "snp-sim", snp())
        T.status("snp-sim: attest", r, 200)
        if r.status == 200:
            cpu0 = kc.token_claims(c.token)["submods"]["cpu0"]
            ae = cpu0["ear.veraison.annotated-evidence"]
            T.check("snp-sim: SNP claims under 'snp' in the token",
                    ae.get("snp", {}).get("measurement") == "11" * 48, json.dumps(ae)[:300])
            T.check("snp-sim: default CPU policy affirms executables and hardware",
                    cpu0["ear.trustworthiness-vector"].get("executables") == 3 and
                    cpu0["ear.trustworthiness-vector"].get("hardware") == 2,
                    json.dumps(cpu0["ear.trustworthiness-vector"]))
            T.status("snp-sim: default resource policy lets a real TEE through (404: no "
                     "such resource)", c.get_resource("default/key/none"), 404)
        c, r = attest(b, "snp-sim", snp(), bind_other=True)
        T.status("snp-sim: report_data bound to another key", r, 401, "AttestationError")
        c, r = attest(b, "snp-sim", snp(host_data=idg[:32]), init_data=init)
        T.status("snp-sim: init-data digest in HOST_DATA", r, 200)
        c, r = attest(b, "snp-sim", snp(host_data=b"\x01" * 32), init_data=init)
        T.status("snp-sim: init-data that does not match HOST_DATA", r, 401, "AttestationError")
        c, r = attest(b, "snp", snp())
        T.status("snp: simulated evidence is not real SNP", r, 401, "AttestationError")

        c, r = attest(b, "tdx-sim", tdx())
        T.status("tdx-sim: attest", r, 200)
        if r.status == 200:
            ae = kc.token_claims(c.token)["submods"]["cpu0"]["ear.veraison.annotated-evidence"]
            T.check("tdx-sim: TDX claims under 'tdx'", "quote" in ae.get("tdx", {}),
                    json.dumps(ae)[:300])
        c, r = attest(b, "tdx-sim", tdx(cfg_id=idg), init_data=init)
        T.status("tdx-sim: init-data digest in MR_CONFIG_ID", r, 200)
        c, r = attest(b, "tdx-sim", tdx(cfg_id=b"\x02" * 48), init_data=init)
        T.status("tdx-sim: init-data that does not match MR_CONFIG_ID", r, 401,
                 "AttestationError")
    finally:
        b.stop()

    # the owner's checks (attestation.tee_options) reach the verifier
    opts = os.path.join(wd, "tee-options.json")
    with open(opts, "w") as f:
        json.dump({"snp": {"measurements": ["22" * 48]}}, f)
    b = Broker(wd, "opts", {"attestation": {"sim_root": roots, "tee_options": opts}}).start()
    try:
        c, r = attest(b, "snp-sim", snp())
        T.status("tee_options: measurement not allowed by the owner", r, 401,
                 "AttestationError")

        def snp22(rd):
            out = os.path.join(wd, "snp22.json")
            sim("snp-report", "--dir", simdir, "--report-data", rd.hex(), "--measurement",
                "22" * 48, "--evidence", out)
            return json.load(open(out))
        c, r = attest(b, "snp-sim", snp22)
        T.status("tee_options: allowed measurement", r, 200)
    finally:
        b.stop()

    # without sim_root the simulated TEEs are never trusted
    b = Broker(wd, "nosim", {}).start()
    try:
        c, r = attest(b, "snp-sim", snp())
        T.check("snp-sim refused when no simulated root is configured",
                r.status in (400, 401), "%d %s" % (r.status, r.body[:200]))
    finally:
        b.stop()
    return T.finish()


if __name__ == "__main__":
    sys.exit(main())
