#!/usr/bin/python3
"""coffer-agent end to end against a real `cofferd --dev`.

Resources through the REST API and the one-shot command, both sealed-secret
types (made by `coffer secret seal` and, independently, by python3-jwcrypto),
sealed secrets that must be refused, /aa/token off and on, the broker
restarting under a running agent, the broker down, and the REST limits.
Exit 77 (skipped) when the binaries are not built.
"""
import atexit
import base64
import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BIN = os.environ.get("COFFER_BIN_DIR", "")
for prog in ("cofferd", "coffer", "coffer-agent"):
    if not os.path.exists(os.path.join(BIN, prog)):
        print("SKIPPED: %s not built in COFFER_BIN_DIR" % prog, file=sys.stderr)
        sys.exit(77)

PASSED, FAILED = 0, 0
PROCS = []


def check(cond, what, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        print("ok   %s" % what)
    else:
        FAILED += 1
        print("FAIL %s %s" % (what, detail))


def b(prog):
    return os.path.join(BIN, prog)


def wait_port(path, proc, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("process exited %d" % proc.returncode)
        try:
            with open(path) as f:
                t = f.read().strip()
            if t:
                return int(t)
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.02)
    raise RuntimeError("no port in %s" % path)


def stop(p):
    if p and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


class Broker:
    def __init__(self, work, config=None):
        self.work = work
        self.config = config
        self.data = os.path.join(work, "data")
        self.port = 0
        self.proc = None

    def start(self):
        pf = os.path.join(self.work, "cofferd.port")
        if os.path.exists(pf):
            os.unlink(pf)
        log = open(os.path.join(self.work, "cofferd.log"), "ab")
        cmd = [b("cofferd"), "--dev", "--listen", "127.0.0.1:%d" % self.port,
               "--data-dir", self.data, "--port-file", pf]
        if self.config:
            cmd += ["--config", self.config]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        PROCS.append(self.proc)
        self.port = wait_port(pf, self.proc)

    def stop(self):
        stop(self.proc)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port


class Agent:
    def __init__(self, work, args, name="agent"):
        self.pf = os.path.join(work, name + ".port")
        self.log = os.path.join(work, name + ".log")
        if os.path.exists(self.pf):
            os.unlink(self.pf)
        self.proc = subprocess.Popen([b("coffer-agent")] + args + ["--listen", "127.0.0.1:0",
                                                                    "--port-file", self.pf],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"))
        PROCS.append(self.proc)
        self.port = wait_port(self.pf, self.proc)

    def req(self, path, data=None, method=None):
        r = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                   method=method)
        try:
            with urllib.request.urlopen(r, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def stop(self):
        stop(self.proc)


def heap_hits(pid, needle):
    """How often `needle` occurs in the readable anonymous and [heap]
    mappings of process `pid` (freed memory included); None if the memory
    cannot be read (then the check is not made)."""
    hits = 0
    try:
        with open("/proc/%d/maps" % pid) as maps, open("/proc/%d/mem" % pid, "rb", 0) as mem:
            for line in maps:
                parts = line.split()
                path = parts[5] if len(parts) > 5 else ""
                if "r" not in parts[1] or (path and path != "[heap]"):
                    continue
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                if hi - lo > (1 << 30):
                    continue  # sanitizer shadow
                try:
                    mem.seek(lo)
                    hits += mem.read(hi - lo).count(needle)
                except OSError:
                    continue
    except OSError:
        return None
    return hits


def run(args, stdin=None):
    p = subprocess.run(args, input=stdin, capture_output=True, timeout=120)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def b64u(d):
    return base64.urlsafe_b64encode(d).rstrip(b"=").decode()


def py_sealed(priv_jwk_path, kid, payload):
    """A sealed secret made by python3-jwcrypto, straight from PROTOCOL.md 6."""
    from jwcrypto import jwk, jws
    key = jwk.JWK.from_json(open(priv_jwk_path).read())
    s = jws.JWS(json.dumps(payload).encode())
    s.add_signature(key, alg="ES256", protected=json.dumps({"alg": "ES256", "kid": kid}))
    return "sealed." + s.serialize(compact=True)


def sim_chain(work):
    """The whole chain with simulated hardware: coffer-sim fills a fake
    configfs-tsm (tests/unit/fake_tsm.c), the agent reads it as it would the
    kernel's, and a broker that trusts only the simulator's root verifies the
    report, its signature chain and the binding, then releases the secret."""
    fake = os.path.join(os.path.dirname(BIN), "tests", "fake_tsm")
    if not (os.path.exists(b("coffer-sim")) and os.path.exists(fake)):
        print("skip simulated-TEE chain: coffer-sim or fake_tsm not built")
        return
    sim = os.path.join(work, "sim")
    rc, _, err = run([b("coffer-sim"), "init", "--dir", sim])
    check(rc == 0, "coffer-sim init", err)
    for tee, provider, root, extra in (
            ("snp-sim", "sev_guest", "snp/ark.pem", ""),
            ("tdx-sim", "tdx_guest", "tdx/root.pem",
             'collateral_dir = "%s"\n' % os.path.join(sim, "tdx", "collateral"))):
        d = os.path.join(work, tee)
        os.makedirs(d)
        cfg = os.path.join(d, "cofferd.toml")
        with open(cfg, "w") as f:
            f.write('[attestation]\nsim_root = "%s"\n%s[policy]\nresource = "default"\n'
                    % (os.path.join(sim, root), extra))
        br = Broker(d, cfg)
        br.start()
        v = os.path.join(d, "v")
        with open(v, "wb") as f:
            f.write(b"released-to-" + tee.encode())
        rc, _, err = run([b("coffer"), "resource", "put", "kbs:///default/key/sim", "--in", v,
                          "--broker", br.url, "--key", os.path.join(br.data, "admin.jwk")])
        tsm, ready = os.path.join(d, "tsm"), os.path.join(d, "ready")
        os.makedirs(tsm)
        fp = subprocess.Popen([fake, "--root", tsm, "--provider", provider, "--sim", b("coffer-sim"),
                               "--sim-dir", sim, "--ready", ready])
        PROCS.append(fp)
        for _ in range(500):
            if os.path.exists(ready):
                break
            time.sleep(0.01)
        rc, out, err = run([b("coffer-agent"), "--broker", br.url, "--tee", tee, "--tsm-root", tsm,
                            "--sev-guest", os.path.join(d, "no-device"), "--ccel",
                            os.path.join(d, "no-ccel"), "get-resource", "kbs:///default/key/sim"])
        check(rc == 0 and out == b"released-to-" + tee.encode(),
              "%s: evidence through configfs-tsm, verified by the broker, secret released" % tee,
              err + open(os.path.join(d, "cofferd.log")).read()[-600:])
        check(os.listdir(tsm) == [], "%s: the configfs-tsm entry was removed" % tee, os.listdir(tsm))
        if tee == "snp-sim":
            # the upstream JSON object form of the report, read by the broker too
            rc, out, err = run([b("coffer-agent"), "--broker", br.url, "--tee", tee, "--tsm-root",
                                tsm, "--sev-guest", os.path.join(d, "no-device"),
                                "--snp-report", "object", "get-resource",
                                "kbs:///default/key/sim"])
            check(rc == 0 and out == b"released-to-" + tee.encode(),
                  "snp-sim: the upstream report object form is accepted too", err)
        # the default resource policy releases nothing to sample evidence
        rc, out, err = run([b("coffer-agent"), "--broker", br.url, "--tee", "sample",
                            "get-resource", "kbs:///default/key/sim"])
        check(rc == 1 and out == b"", "%s broker: sample evidence is denied the secret" % tee, err)
        stop(fp)
        br.stop()


def main():
    work = tempfile.mkdtemp(prefix="agent-e2e-")
    if not os.environ.get("COFFER_KEEP_TMP"):
        # keys and sealed secrets live here: leave nothing behind
        atexit.register(shutil.rmtree, work, True)
    broker = Broker(work)
    broker.start()
    admin = ["--broker", broker.url, "--key", os.path.join(broker.data, "admin.jwk")]
    value = ("e2e-" + secrets.token_hex(8)).encode()
    files = {n: os.path.join(work, n) for n in ("seal.jwk", "seal.pub.jwk", "kek.bin", "v")}
    with open(files["kek.bin"], "wb") as f:
        f.write(secrets.token_bytes(32))
    with open(files["v"], "wb") as f:
        f.write(value)
    for args in (["resource", "put", "kbs:///default/key/one", "--in", files["v"]],
                 ["jose", "keygen", "--kty", "EC", "--crv", "P-256", "--out", files["seal.jwk"],
                  "--pub", files["seal.pub.jwk"]],
                 ["resource", "put", "kbs:///default/sealing/pub", "--in", files["seal.pub.jwk"]],
                 ["resource", "put", "kbs:///default/kek/k1", "--in", files["kek.bin"]]):
        rc, _, err = run([b("coffer")] + args + (admin if args[0] == "resource" else []))
        if rc != 0:
            raise RuntimeError("setup %s: %s" % (args, err))
    base = ["--broker", broker.url, "--tee", "sample"]

    # --- one-shot command ---
    rc, out, err = run([b("coffer-agent")] + base + ["get-resource", "kbs:///default/key/one"])
    check(rc == 0 and out == value, "one-shot get-resource prints the secret", err)
    outf = os.path.join(work, "out.bin")
    rc, out, err = run([b("coffer-agent")] + base + ["get-resource", "kbs:///default/key/one",
                                                     "--out", outf])
    check(rc == 0 and open(outf, "rb").read() == value and
          stat.S_IMODE(os.stat(outf).st_mode) == 0o600, "one-shot --out writes a 0600 file", err)
    rc, out, err = run([b("coffer-agent")] + base + ["get-resource", "kbs:///default/key/none"])
    check(rc == 2 and "404" in err, "one-shot: unknown resource, exit 2, says 404", err)
    rc, out, err = run([b("coffer-agent")] + base + ["get-resource", "kbs:///../key/x"])
    check(rc == 2 and out == b"", "one-shot: path traversal refused before any request", err)
    rc, out, err = run([b("coffer-agent")] + base + ["token"])
    claims = json.loads(base64.urlsafe_b64decode(out.split(b".")[1] + b"=="))
    check(rc == 0 and "exp" in claims, "one-shot token prints an EAR token", err)
    rc, out, err = run([b("coffer-agent"), "--tee", "sample", "evidence", "--runtime-data", "00ff"])
    check(rc == 0 and json.loads(out)["report_data"] == "AP8=", "one-shot evidence", err)
    for kt in ("EC-P521", "RSA"):
        rc, out, err = run([b("coffer-agent")] + base + ["--key-type", kt, "get-resource",
                                                         "kbs:///default/key/one"])
        check(rc == 0 and out == value, "one-shot get-resource with a %s TEE key" % kt, err)

    # --- sealed secrets ---
    sealed = {}
    rc, out, err = run([b("coffer"), "secret", "seal", "--key", files["seal.jwk"], "--kid",
                        "kbs:///default/sealing/pub", "--type", "vault", "--name",
                        "kbs:///default/key/one"])
    sealed["vault"] = out
    for wrap in ("A256GCM", "A256CTR"):
        rc, out, err = run([b("coffer"), "secret", "seal", "--key", files["seal.jwk"], "--kid",
                            "kbs:///default/sealing/pub", "--type", "envelope", "--key-id",
                            "kbs:///default/kek/k1", "--kek", files["kek.bin"], "--wrap", wrap],
                           stdin=b"env-" + wrap.encode())
        sealed[wrap] = out
    check(all(s.startswith(b"sealed.") for s in sealed.values()), "coffer secret seal makes "
          "sealed secrets")

    agent = Agent(work, base)
    st, body = agent.req("/cdh/resource/default/key/one")
    check(st == 200 and body == value, "REST /cdh/resource returns the secret", body)
    st2, body2 = agent.req("/cdh/resource/default/key/one")
    st, body = agent.req("/info")
    info = json.loads(body)
    check(st2 == 200 and info["attestations"] == 1,
          "REST: the token is reused while fresh (one attestation for two fetches)", body)
    check(st == 200 and info["tee"] == "sample" and "DEVELOPMENT" in info["evidence_source"],
          "REST /info names the sample TEE loudly")
    st, body = agent.req("/aa/token?token_type=kbs")
    check(st == 403 and b"serve_tee_key" in body, "REST /aa/token is off by default")
    st, body = agent.req("/aa/evidence?runtime_data=" + base64.b64encode(b"xyz").decode() +
                         "&encoding=base64")
    check(st == 200 and json.loads(body)["report_data"] == "eHl6", "REST /aa/evidence")
    st, body = agent.req("/aa/aael", json.dumps({"domain": "d", "operation": "o",
                                                  "content": "c"}).encode())
    check(st == 200, "REST /aa/aael records an event")
    st, body = agent.req("/cdh/unseal", sealed["vault"])
    check(st == 200 and body == value, "unseal vault secret (REST)", body)
    for wrap in ("A256GCM", "A256CTR"):
        st, body = agent.req("/cdh/unseal", sealed[wrap])
        check(st == 200 and body == b"env-" + wrap.encode(), "unseal envelope %s (REST)" % wrap,
              body)
    sf = os.path.join(work, "s.sealed")
    with open(sf, "wb") as f:
        f.write(sealed["A256GCM"])
    rc, out, err = run([b("coffer-agent")] + base + ["unseal", "--in", sf])
    check(rc == 0 and out == b"env-A256GCM", "unseal envelope (one-shot)", err)

    # independent sealing (jwcrypto) of both types
    try:
        kek = open(files["kek.bin"], "rb").read()
        from cryptography.hazmat.primitives.keywrap import aes_key_wrap
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        dek, iv = secrets.token_bytes(32), secrets.token_bytes(12)
        env = {"version": "0.1.0", "type": "envelope", "provider": "kbs",
               "key_id": "kbs:///default/kek/k1",
               "encrypted_key": base64.b64encode(aes_key_wrap(kek, dek)).decode(),
               "encrypted_data": base64.b64encode(AESGCM(dek).encrypt(iv, b"py-env", None)).decode(),
               "wrap_type": "A256GCM", "iv": base64.b64encode(iv).decode(),
               "provider_settings": {}, "annotations": {}}
        st, body = agent.req("/cdh/unseal", py_sealed(files["seal.jwk"],
                                                        "kbs:///default/sealing/pub", env).encode())
        check(st == 200 and body == b"py-env", "unseal an envelope sealed by jwcrypto", body)
        vault = {"version": "0.1.0", "type": "vault", "provider": "kbs",
                 "name": "kbs:///default/key/one", "provider_settings": {}, "annotations": {}}
        st, body = agent.req("/cdh/unseal", py_sealed(files["seal.jwk"],
                                                        "kbs:///default/sealing/pub", vault).encode())
        check(st == 200 and body == value, "unseal a vault secret sealed by jwcrypto", body)
        # refused: unknown kid, wrong wrap type, bad signature, not sealed
        st, body = agent.req("/cdh/unseal", py_sealed(files["seal.jwk"],
                                                        "kbs:///default/sealing/nokey", vault).encode())
        check(st == 404 and b"verification key" in body, "unseal: unknown kid refused", body)
        bad = dict(env, wrap_type="A128KW")
        st, body = agent.req("/cdh/unseal", py_sealed(files["seal.jwk"],
                                                        "kbs:///default/sealing/pub", bad).encode())
        check(st == 400 and b"wrap_type" in body, "unseal: wrong wrap type refused", body)
    except ImportError as e:
        check(False, "python3-jwcrypto/cryptography available", str(e))
    s = sealed["vault"].strip()
    sig = s.rsplit(b".", 1)
    tampered = sig[0] + b"." + b64u(bytes(64)).encode()
    st, body = agent.req("/cdh/unseal", tampered)
    check(st == 403 and b"signature" in body, "unseal: bad signature refused", body)
    # a secret sealed by another key under the right kid
    rc, _, _ = run([b("coffer"), "jose", "keygen", "--kty", "EC", "--crv", "P-256", "--out",
                    os.path.join(work, "other.jwk")])
    rc, out, err = run([b("coffer"), "secret", "seal", "--key", os.path.join(work, "other.jwk"),
                        "--kid", "kbs:///default/sealing/pub", "--type", "vault", "--name",
                        "kbs:///default/key/one"])
    st, body = agent.req("/cdh/unseal", out)
    check(st == 403, "unseal: signed by a key the broker does not hold, refused", body)
    st, body = agent.req("/cdh/unseal", b"not-sealed")
    check(st == 400 and b"sealed" in body, "unseal: not a sealed secret", body)
    st, body = agent.req("/cdh/unseal", b"x" * (200 * 1024))
    check(st == 413, "REST: oversized body refused with 413", st)

    # --- the broker restarts under a running agent ---
    attest_before = json.loads(agent.req("/info")[1])["attestations"]
    broker.stop()
    broker.start()
    st, body = agent.req("/cdh/resource/default/key/one")
    attest_after = json.loads(agent.req("/info")[1])["attestations"]
    # cofferd keeps sessions in its database, so the agent may not even need
    # a new handshake; what matters is that the request across the restart
    # (on a dead keep-alive connection) succeeds
    check(st == 200 and body == value,
          "broker restart: the agent keeps serving the secret (attestations %d -> %d)"
          % (attest_before, attest_after), body)

    # --- the broker is down ---
    broker.stop()
    t0 = time.time()
    rc, out, err = run([b("coffer-agent")] + base + ["--retries", "2", "get-resource",
                                                     "kbs:///default/key/one"])
    check(rc == 3 and "unreachable" in err and "after 3 attempts" in err and out == b"",
          "broker down: one-shot exits 3 and says so after its retries", err)
    check(time.time() - t0 < 30, "broker down: retries are bounded")
    st, body = agent.req("/cdh/resource/default/key/one")
    check(st == 502 and b"unreachable" in body, "broker down: REST answers 502 with the reason",
          body)
    agent.stop()

    # --- config file, /aa/token enabled, rate limit ---
    broker.start()
    cfg = os.path.join(work, "agent.toml")
    with open(cfg, "w") as f:
        f.write('[agent]\ntee = "sample"\nserve_tee_key = true\n'
                '[broker]\nurl = "%s"\nkey_type = "EC-P256"\n'
                '[limits]\nrate_per_second = 3\n' % broker.url)
    agent2 = Agent(work, ["--config", cfg], "agent2")
    time.sleep(1.1)
    st, body = agent2.req("/aa/token?token_type=kbs")
    tok = json.loads(body) if st == 200 else {}
    check(st == 200 and tok.get("token", "").count(".") == 2 and
          "PRIVATE KEY" in tok.get("tee_keypair", ""), "REST /aa/token when enabled", body)
    # the TEE private key is handed out, then wiped: no copy of its PEM text
    # may stay in the agent's memory, freed blocks included
    # the server wipes its copy of the answer right after sending it: give
    # that thread a moment, or the copy still in flight is counted
    time.sleep(0.5)
    pem_lines = [l for l in tok.get("tee_keypair", "").splitlines()
                 if l and not l.startswith("-----")]
    if pem_lines:
        needle = pem_lines[1][:40] if len(pem_lines) > 1 else pem_lines[0][-24:]
        hits = heap_hits(agent2.proc.pid, needle.encode())
        if hits is not None:
            check(hits == 0, "REST /aa/token: no copy of the private key left in memory",
                  "%d copies" % hits)
    # the attestation token: one live copy (the agent's token cache), no
    # stale ones in freed memory (jansson and HTTP buffers are wiped)
    sig = tok.get("token", "").rsplit(".", 1)[-1]
    if len(sig) >= 40:
        hits = heap_hits(agent2.proc.pid, sig[:40].encode())
        if hits is not None:
            check(hits <= 1, "attestation token: no stale copies left in memory",
                  "%d copies" % hits)
    codes = [agent2.req("/info")[0] for _ in range(10)]
    check(429 in codes and 200 in codes, "REST: rate limit answers 429", codes)
    agent2.stop()
    with open(cfg, "w") as f:
        f.write('[agent]\ntee = "sample"\nbogus = 1\n')
    rc, out, err = run([b("coffer-agent"), "--config", cfg, "token"])
    check(rc == 2 and "bogus" in err, "config: unknown key refused", err)
    broker.stop()
    sim_chain(work)

    print("%d passed, %d failed" % (PASSED, FAILED))
    return 0 if FAILED == 0 else 1


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
    sys.exit(rc)
