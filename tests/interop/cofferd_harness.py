"""Start and stop real cofferd processes for the integration tests.

Each broker gets its own data directory and a port chosen by the kernel
(listen 127.0.0.1:0, reported through --port-file), and is always killed on
exit (atexit + signal handlers), even when a test fails.
"""
import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

_procs = []


def _kill_all():
    for p in _procs:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_all)
for _s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_s, lambda *_: sys.exit(1))


def bin_dir():
    d = os.environ.get("COFFER_BIN_DIR")
    if not d or not os.path.exists(os.path.join(d, "cofferd")):
        print("SKIPPED: COFFER_BIN_DIR has no cofferd", file=sys.stderr)
        sys.exit(77)
    return d


def toml_str(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string here


class Broker:
    def __init__(self, workdir, name, settings=None, dev=False):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.data = os.path.join(self.dir, "data")
        self.port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "cofferd.log")
        self.config = os.path.join(self.dir, "cofferd.toml")
        self.dev = dev
        self.settings = settings or {}
        self.proc = None
        self.port = None
        if not dev:
            self.write_config(self.settings)

    def write_config(self, settings):
        s = {"server": {"listen": "127.0.0.1:0", "threads": 4},
             "storage": {"data_dir": self.data},
             "attestation": {}, "policy": {}, "admin": {}, "log": {"level": "info"}}
        for sec, kv in settings.items():
            s.setdefault(sec, {}).update(kv)
        lines = []
        for sec, kv in s.items():
            lines.append("[%s]" % sec)
            for k, v in kv.items():
                if isinstance(v, bool):
                    lines.append("%s = %s" % (k, "true" if v else "false"))
                elif isinstance(v, int):
                    lines.append("%s = %d" % (k, v))
                elif isinstance(v, list):
                    lines.append("%s = [%s]" % (k, ", ".join(toml_str(x) for x in v)))
                else:
                    lines.append("%s = %s" % (k, toml_str(v)))
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, timeout=20):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        cmd = [os.path.join(bin_dir(), "cofferd")]
        if self.dev:
            cmd += ["--dev", "--listen", "127.0.0.1:0", "--data-dir", self.data]
        else:
            cmd += ["--config", self.config]
        cmd += ["--port-file", self.port_file]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        _procs.append(self.proc)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("cofferd exited %d:\n%s" % (self.proc.returncode,
                                                               self.read_log()))
            try:
                with open(self.port_file) as f:
                    txt = f.read().strip()
                if txt:
                    self.port = int(txt)
                    return self
            except (FileNotFoundError, ValueError):
                pass
            time.sleep(0.02)
        raise RuntimeError("cofferd did not start:\n" + self.read_log())

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("cofferd did not stop on signal %d" % sig)
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def db(self):
        return os.path.join(self.data, "cofferd.db")


def workdir():
    d = tempfile.mkdtemp(prefix="cofferd-test-")
    if not os.environ.get("COFFER_KEEP_TMP"):
        import shutil
        atexit.register(shutil.rmtree, d, True)
    return d


class Tests:
    """A tiny runner: each check is named, failures are collected."""

    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   %s" % name)
        else:
            self.failed.append(name)
            print("FAIL %s %s" % (name, detail))

    def status(self, name, resp, want, want_type=None):
        ok = resp.status == want
        if ok and want_type is not None:
            ok = resp.error_type().endswith("/" + want_type)
        if ok and resp.status >= 400:
            # PROTOCOL.md section 3: a JSON error body with type and detail
            try:
                b = resp.json()
                ok = b["type"].startswith(
                    "https://github.com/confidential-containers/kbs/errors/") and "detail" in b
            except (ValueError, KeyError, TypeError):
                ok = False
        self.check(name, ok, "got %d %s (want %d %s)" % (resp.status, resp.body[:200],
                                                         want, want_type or ""))

    def finish(self):
        print("%d passed, %d failed" % (self.passed, len(self.failed)))
        if self.failed:
            print("failed: " + ", ".join(self.failed))
            return 1
        return 0


def admin_key(wd):
    """A fresh P-256 admin key and the path of its public JWK, written in
    `wd` for a config's admin.bootstrap_key: (key, path)."""
    from jwcrypto import jwk
    key = jwk.JWK.generate(kty="EC", crv="P-256")
    pub = os.path.join(wd, "admin.pub.jwk")
    with open(pub, "w") as f:
        f.write(key.export_public())
    return key, pub


def have_binaries(progs=("coffer", "cofferd")):
    """Whether every program in `progs` is built; if not, says which is
    missing (the test then exits 77, skipped)."""
    for prog in progs:
        if not os.path.exists(os.path.join(bin_dir(), prog)):
            print("SKIPPED: no %s binary" % prog, file=sys.stderr)
            return False
    return True


def fault_shim(argv, var, flag_name):
    """The start of a test that runs cofferd with tests/fault/openssl_fail.c
    preloaded (argv[1] its path): None, after saying why, when the shim or a
    binary is missing; else (workdir, flag) where the file `flag` (not made
    yet) switches the fault that $`var` names. cofferd inherits the
    environment set here; an ASan build wants its runtime first in the
    library list, which a preloaded shim is not."""
    if len(argv) != 2 or not os.path.exists(argv[1]):
        print("SKIPPED: no fault shim given", file=sys.stderr)
        return None
    if not have_binaries():
        return None
    wd = workdir()
    flag = os.path.join(wd, flag_name)
    os.environ["LD_PRELOAD"] = argv[1]
    os.environ[var] = flag
    os.environ["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0"
    return wd, flag


def release_all_settings(pub, namespaces=("ns",), **admin):
    """Broker settings of the tests that release freely: `sample` evidence
    accepted, allow_all resource and release policies, `pub` the bootstrap
    workload-provider key for `namespaces`, plaintext uploads allowed;
    `admin` adds [admin] keys."""
    a = {"bootstrap_key": pub, "bootstrap_namespaces": list(namespaces),
         "allow_plaintext_upload": True}
    a.update(admin)
    return {"attestation": {"allow_sample": True},
            "policy": {"resource": "allow_all", "release": "allow_all"},
            "admin": a}


def admin(b, key, method, path, body=b""):
    """One admin request to broker `b`, signed by `key`; the response."""
    import kbs_client as kc
    r, _ = kc.admin_request(b.url, key, method, path, body)
    return r


def audit_export(b, key):
    """The broker's audit export, {"entries": [], "checkpoints": []} when refused."""
    r = admin(b, key, "GET", "/kbs/v0/admin/audit/export")
    return json.loads(r.body) if r.status == 200 else {"entries": [], "checkpoints": []}


def audit_verify(b, wd, doc, name="export.json"):
    """`coffer audit verify --json` of the export `doc` against the broker's
    token signing keys: (exit status, the report as a dict, stdout + stderr)."""
    import kbs_client as kc
    jwks = json.loads(kc.Http(b.url).request("GET", "/kbs/v0/jwks").body)
    jwks_file = os.path.join(wd, name + ".jwks")
    with open(jwks_file, "w") as f:
        json.dump({"keys": [k for k in jwks["keys"] if k.get("use") == "sig"]}, f)
    path = os.path.join(wd, name)
    with open(path, "w") as f:
        json.dump(doc, f)
    p = subprocess.run([os.path.join(bin_dir(), "coffer"), "audit", "verify", "--in", path,
                        "--jwks", jwks_file, "--json"], capture_output=True, timeout=60)
    rep = json.loads(p.stdout) if p.stdout.strip().startswith(b"{") else {}
    return p.returncode, rep, p.stdout + p.stderr
