"""Shared harness of the persona boundary tests (PERSONAS.md, P01..P22).

Each test starts a real cofferd (development mode, so it writes the
bootstrap workload-provider key, plus a config file that trusts only the
simulated SEV-SNP / TDX root of a fresh `coffer-sim init` directory) on a
kernel-chosen loopback port with a temporary data directory, drives it with
real processes (coffer, coffer-agent over the fake configfs-tsm) and the
independent Python client, and snapshots the store read-only before and
after every attack. Every process it starts is killed on exit.
Exit 77 (skipped) when the binaries are not built.
"""
import atexit
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))

import kbs_client as kc  # noqa: E402,F401  (re-exported for the tests)

BIN = os.environ.get("COFFER_BIN_DIR", "")
FAKE_TSM = os.path.join(os.path.dirname(BIN), "tests", "fake_tsm") if BIN else ""
_procs = []


def _kill_all():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_all)
for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, lambda *_: sys.exit(1))


def need(*progs):
    for prog in progs:
        path = FAKE_TSM if prog == "fake_tsm" else os.path.join(BIN, prog)
        if not BIN or not os.path.exists(path):
            print("SKIPPED: %s not built (COFFER_BIN_DIR=%r)" % (prog, BIN), file=sys.stderr)
            sys.exit(77)


def b(prog):
    return os.path.join(BIN, prog)


def run(args, stdin=None, timeout=120):
    p = subprocess.run(args, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def workdir():
    d = tempfile.mkdtemp(prefix="coffer-persona-")
    if not os.environ.get("COFFER_KEEP_TMP"):
        atexit.register(shutil.rmtree, d, True)
    return d


class Tests:
    def __init__(self, row):
        self.row = row
        self.failed = []
        self.passed = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   %s: %s" % (self.row, name))
        else:
            self.failed.append(name)
            print("FAIL %s: %s %s" % (self.row, name, str(detail)[:800]))
        return cond

    def status(self, name, resp, want, want_type=None):
        want = want if isinstance(want, (tuple, list)) else (want,)
        ok = resp.status in want
        if ok and want_type is not None:
            ok = resp.error_type().endswith("/" + want_type)
        return self.check(name, ok, "got %d %s (want %s %s)" % (
            resp.status, resp.body[:300], want, want_type or ""))

    def finish(self):
        print("%s: %d passed, %d failed" % (self.row, self.passed, len(self.failed)))
        return 1 if self.failed else 0


def sim_init(d):
    rc, _, err = run([b("coffer-sim"), "init", "--dir", d])
    if rc != 0:
        raise RuntimeError("coffer-sim init: " + err)
    return d


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return "%d" % v
    if isinstance(v, list):
        return "[%s]" % ", ".join(toml_value(x) for x in v)
    return json.dumps(v)


class Broker:
    """cofferd --dev with a config file: simulated roots trusted, the
    owner's TEE options, the resource policy given (default: `default`,
    which refuses sample evidence)."""

    def __init__(self, work, name="broker", sim=None, tee_options=None, settings=None,
                 dev=True):
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "data")
        self.port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "cofferd.log")
        self.config = os.path.join(self.dir, "cofferd.toml")
        self.sim = sim
        s = {"attestation": {}, "policy": {"resource": "default"}}
        if sim:
            roots = os.path.join(self.dir, "sim-roots.pem")
            with open(roots, "w") as f:
                f.write(open(os.path.join(sim, "snp", "ark.pem")).read())
                f.write(open(os.path.join(sim, "tdx", "root.pem")).read())
            s["attestation"]["sim_root"] = roots
            s["attestation"]["collateral_dir"] = os.path.join(sim, "tdx", "collateral")
        if tee_options is not None:
            opts = os.path.join(self.dir, "tee-options.json")
            with open(opts, "w") as f:
                json.dump(tee_options, f)
            s["attestation"]["tee_options"] = opts
        self.dev = dev
        self.key_path = os.path.join(self.data, "admin.jwk")
        if not dev:
            # production mode: the bootstrap workload provider's key is ours
            os.makedirs(self.data, mode=0o700, exist_ok=True)
            self.key_path = os.path.join(self.dir, "provider.jwk")
            pub = os.path.join(self.dir, "provider.pub.jwk")
            rc, _, err = run([b("coffer"), "jose", "keygen", "--kty", "EC", "--crv", "P-256",
                              "--out", self.key_path, "--pub", pub])
            if rc != 0:
                raise RuntimeError("keygen: " + err)
            s["admin"] = {"bootstrap_key": pub}
            s["storage"] = {"data_dir": self.data}
            s["server"] = {"listen": "127.0.0.1:0"}
        for sec, kv in (settings or {}).items():
            s.setdefault(sec, {}).update(kv)
        with open(self.config, "w") as f:
            for sec, kv in s.items():
                f.write("[%s]\n" % sec)
                for k, v in kv.items():
                    f.write("%s = %s\n" % (k, toml_value(v)))
        self.proc = None
        self.port = 0

    def start(self, timeout=20):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        log = open(self.log_path, "ab")
        cmd = [b("cofferd"), "--config", self.config, "--listen", "127.0.0.1:%d" % self.port,
               "--data-dir", self.data, "--port-file", self.port_file]
        if self.dev:
            cmd.insert(1, "--dev")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        _procs.append(self.proc)
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("cofferd exited %d:\n%s" % (self.proc.returncode, self.log()))
            try:
                with open(self.port_file) as f:
                    t = f.read().strip()
                if t:
                    self.port = int(t)
                    return self
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.02)
        raise RuntimeError("cofferd did not start:\n" + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        try:
            return open(self.log_path, "rb").read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def admin_key(self):
        return self.key_path

    def admin_jwk(self):
        return kc.jwk.JWK.from_json(open(self.admin_key).read())

    def coffer(self, *args, key=None, stdin=None):
        """The coffer CLI as a principal (default: the bootstrap workload
        provider)."""
        return run([b("coffer")] + list(args) + ["--broker", self.url, "--key",
                                                 key or self.admin_key], stdin=stdin)

    def put(self, uri, value, key=None):
        rc, out, err = self.coffer("resource", "put", uri, key=key, stdin=value)
        if rc != 0:
            raise RuntimeError("resource put %s: %s" % (uri, err))

    def snapshot(self):
        """Everything an attack must not change, read through a read-only
        SQLite connection: resources (with a hash of the sealed value),
        policies, reference values, principals."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data, "cofferd.db"),
                             uri=True, timeout=10)
        try:
            snap = {}
            snap["resources"] = [(r[0], hashlib.sha256(r[1]).hexdigest(), r[2], r[3], r[4])
                                 for r in db.execute("SELECT path, value, size, owner, updated "
                                                     "FROM resources ORDER BY path")]
            snap["policies"] = list(db.execute("SELECT kind, id, body, updated FROM policies "
                                               "ORDER BY kind, id"))
            snap["refvals"] = list(db.execute("SELECT name, vals, updated FROM reference_values "
                                              "ORDER BY name"))
            snap["principals"] = list(db.execute("SELECT * FROM principals ORDER BY id"))
            return snap
        finally:
            db.close()


class SimTee:
    """A simulated TEE behind the kernel's configfs-tsm interface: fake_tsm
    answers each report request by running coffer-sim with the given extra
    options (measurement, policy, TCB, chip id, host data...)."""

    def __init__(self, work, name, sim, kind="snp", extra=()):
        self.dir = os.path.join(work, "tee-" + name)
        os.makedirs(self.dir)
        self.kind = kind
        self.tsm = os.path.join(self.dir, "tsm")
        os.makedirs(self.tsm)
        gen = os.path.join(self.dir, "gen.sh")
        quoted = " ".join("'%s'" % a for a in extra)
        with open(gen, "w") as f:
            if kind == "snp":
                f.write('#!/bin/sh\nexec "%s" snp-report --dir "%s" --report-data "$2" '
                        '--out "$3" --auxblob "$4" %s\n' % (b("coffer-sim"), sim, quoted))
            else:
                f.write('#!/bin/sh\nexec "%s" tdx-quote --dir "%s" --report-data "$2" '
                        '--out "$3" %s\n' % (b("coffer-sim"), sim, quoted))
        os.chmod(gen, 0o755)
        ready = os.path.join(self.dir, "ready")
        self.proc = subprocess.Popen([FAKE_TSM, "--root", self.tsm, "--provider",
                                      "sev_guest" if kind == "snp" else "tdx_guest",
                                      "--gen", gen, "--ready", ready])
        _procs.append(self.proc)
        for _ in range(1000):
            if os.path.exists(ready):
                break
            time.sleep(0.01)

    def agent_args(self, broker):
        return [b("coffer-agent"), "--broker", broker.url, "--tee", self.kind + "-sim",
                "--tsm-root", self.tsm, "--sev-guest", os.path.join(self.dir, "no-device"),
                "--ccel", os.path.join(self.dir, "no-ccel"), "--retries", "1"]

    def get(self, broker, uri, init_data=None):
        """coffer-agent get-resource: (rc, stdout, stderr)."""
        args = self.agent_args(broker)
        if init_data is not None:
            p = os.path.join(self.dir, "init-data.toml")
            with open(p, "w") as f:
                f.write(init_data)
            args += ["--init-data", p]
        return run(args + ["get-resource", uri])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def snp_evidence(sim, work, report_data, extra=()):
    """Simulated SNP evidence (JSON) for the Python client."""
    out = os.path.join(work, "ev-%d.json" % time.monotonic_ns())
    rc, _, err = run([b("coffer-sim"), "snp-report", "--dir", sim, "--report-data",
                      report_data.hex(), "--evidence", out] + list(extra))
    if rc != 0:
        raise RuntimeError("coffer-sim snp-report: " + err)
    return json.load(open(out))


def snp_attest(broker, sim, work, extra=(), bind_other=False, client=None):
    """RCAR with simulated SNP evidence through the independent client.
    Returns (client, attest response, attest body)."""
    c = client or kc.KbsClient(broker.url, tee="snp-sim")
    r = c.auth()
    if r.status != 200:
        return c, r, None
    c.key, c.pub = kc.new_tee_key()
    bound = kc.new_tee_key()[1] if bind_other else c.pub
    rd = kc.binding_digest(c.nonce, bound, "", c.hash_name)
    body = {"runtime-data": {"nonce": c.nonce, "tee-pubkey": c.pub},
            "tee-evidence": {"primary_evidence": snp_evidence(sim, work, rd, extra),
                             "additional_evidence": ""}}
    return c, c.attest(body), body


def snp_chip_id(sim, work):
    """CHIP_ID (offset 0x1A0, 64 bytes) of the simulated chip."""
    out = os.path.join(work, "chip.bin")
    rc, _, err = run([b("coffer-sim"), "snp-report", "--dir", sim, "--out", out])
    if rc != 0:
        raise RuntimeError(err)
    return open(out, "rb").read()[0x1A0:0x1E0].hex()


def main(fn, row, *progs):
    """Run one persona test: fn(T, work) -> None."""
    need("cofferd", "coffer", *progs)
    T = Tests(row)
    work = workdir()
    try:
        fn(T, work)
    finally:
        _kill_all()
    sys.exit(T.finish())


def refusal_case(T, work, kind, tee_options, good, bad, reason, init_data=None,
                 bad_sim=None, uri="kbs:///default/key/data", bad_init_data=None, name="broker"):
    """One evidence-level attack through the real agent: a TEE built with
    `good` (coffer-sim options) gets the secret (the control: the broker is
    not simply refusing everything); one built with `bad` is refused with
    401 for `reason` (words that must appear in the refusal), gets nothing,
    and the store is unchanged."""
    sim = os.path.join(work, "sim")
    if not os.path.exists(sim):
        sim_init(sim)
    br = Broker(work, name, sim=sim, tee_options=tee_options).start()
    value = b"secret-for-" + os.urandom(6).hex().encode()
    br.put(uri, value)
    before = br.snapshot()
    ok_tee = SimTee(work, "good-%d" % time.monotonic_ns(), sim, kind, good)
    rc, out, err = ok_tee.get(br, uri, init_data)
    T.check("control: the approved TEE gets the secret", rc == 0 and out == value,
            err + br.log()[-600:])
    ok_tee.stop()
    bad_tee = SimTee(work, "bad-%d" % time.monotonic_ns(), bad_sim or sim, kind, bad)
    rc, out, err = bad_tee.get(br, uri, bad_init_data if bad_init_data is not None else
                               init_data)
    bad_tee.stop()
    T.check("attack: the agent gets nothing (exit 1, empty output)", rc == 1 and out == b"",
            "rc=%d out=%r err=%s" % (rc, out[:80], err))
    T.check("attack: refused at attestation with 401", "HTTP 401" in err and
            "AttestationError" in err, err)
    low = err.lower()
    T.check("attack: the refusal names the reason (%s)" % " / ".join(reason),
            all(w.lower() in low for w in reason), err)
    print("     refusal: %s" % err.strip()[-300:])
    log = br.log()
    T.check("broker logged the refused attestation", '"attestation refused"' in log and
            '"status":401' in log, log[-600:])
    T.check("nothing in the store changed", br.snapshot() == before)
    br.stop()
    return br


def enrol(br, persona, namespaces, name, kty=("--kty", "OKP", "--crv", "Ed25519")):
    """A new principal: its own key pair (coffer jose keygen), enrolled by
    the bootstrap workload provider with `coffer principal add`. Returns
    (principal id, private key path)."""
    priv = os.path.join(br.dir, name + ".jwk")
    pub = os.path.join(br.dir, name + ".pub.jwk")
    rc, _, err = run([b("coffer"), "jose", "keygen"] + list(kty) + ["--out", priv, "--pub", pub])
    if rc != 0:
        raise RuntimeError("keygen: " + err)
    args = ["principal", "add", "--persona", persona, "--pubkey", pub]
    for ns in namespaces:
        args += ["--namespace", ns]
    rc, out, err = br.coffer(*args)
    if rc != 0:
        raise RuntimeError("principal add %s: %s" % (name, err))
    return out.decode().strip(), priv


def rego_file(br, name, text):
    p = os.path.join(br.dir, name + ".rego")
    with open(p, "w") as f:
        f.write(text)
    return p


ALLOW_REGO = "package policy\n\ndefault allow := true\n"


def scoped_setup(work, sim=None, tee_options=None):
    """A broker with the bootstrap workload provider (namespace `default`),
    image providers A (`img-a`) and B (`img-b`) and a data owner (`data-d`),
    each holding one secret and (the owners) a release policy. Returns
    (broker, {name: (id, key path)})."""
    br = Broker(work, sim=sim, tee_options=tee_options).start()
    who = {"wp": (None, br.admin_key)}
    for name, persona, ns in (("A", "image-provider", "img-a"), ("B", "image-provider", "img-b"),
                              ("D", "data-owner", "data-d")):
        who[name] = enrol(br, persona, [ns], name)
    pol = rego_file(br, "allow", ALLOW_REGO)
    for name, ns in (("wp", "default"), ("A", "img-a"), ("B", "img-b"), ("D", "data-d")):
        br.put("kbs:///%s/key/k" % ns, ("value-of-" + name).encode(), key=who[name][1])
        if name != "wp":
            rc, _, err = br.coffer("policy", "set", "--kind", "release", "--namespace", ns,
                                   "--in", pol, key=who[name][1])
            if rc != 0:
                raise RuntimeError("release policy %s: %s" % (ns, err))
    return br, who


def refused(T, br, label, args, key, before, want=(1,), words=("403",)):
    """A CLI action that must be refused by the broker (exit 1, 403) and
    leave the store as it was."""
    rc, out, err = br.coffer(*args, key=key)
    T.check("%s: refused (exit %s, %s)" % (label, "/".join(map(str, want)), " ".join(words)),
            rc in want and all(w in err for w in words), "rc=%d %s %s" % (rc, out[:100], err))
    T.check("%s: nothing changed" % label, br.snapshot() == before)


# The workload provider's attestation policy for simulated SEV-SNP: an
# approved launch measurement is one listed in the reference value
# `snp_launch_measurement` (otherwise executables 33: not affirming).
REFVAL_ATTESTATION = """package policy
import rego.v1

default executables := 33

executables := 3 if input.snp.measurement in data.reference.snp_launch_measurement

trust_claims := {"executables": executables, "hardware": 2, "configuration": 2}
"""
