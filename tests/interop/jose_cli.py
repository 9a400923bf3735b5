#!/usr/bin/python3
"""`coffer jose` command line contract (CLI.md): flags, exit codes, file modes.
Needs only the coffer binary."""
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

BIN = os.path.join(os.environ.get("COFFER_BIN_DIR", "bin"), "coffer")
if not os.path.exists(BIN):
    print(f"coffer binary not found at {BIN}", file=sys.stderr)
    sys.exit(1)
TMP = tempfile.mkdtemp(prefix="coffer-jose-cli-")
failures = 0
checks = 0


def run(args, data=b""):
    r = subprocess.run([BIN, "jose"] + args, input=data, capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def expect(args, rc, data=b"", what=None):
    global failures, checks
    checks += 1
    got, out, err = run(args, data)
    if got != rc:
        failures += 1
        print(f"FAIL: {what or args}: exit {got}, expected {rc}: {err.strip()}", file=sys.stderr)
    return out


def ok(cond, what):
    global failures, checks
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def p(name):
    return os.path.join(TMP, name)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


# help and usage
expect(["--help"], 0)
expect([], 2)
expect(["keygen", "--help"], 0)
expect(["frobnicate"], 2)
expect(["keygen", "--kty", "EC", "--crv", "P-256", "--bogus"], 2)
expect(["keygen"], 2, what="keygen without --kty")
expect(["keygen", "--kty", "EC"], 2, what="EC without --crv")
expect(["keygen", "--kty", "EC", "--crv", "P-999"], 2)
expect(["keygen", "--kty", "EC", "--crv", "Ed25519"], 2)
expect(["keygen", "--kty", "RSA", "--bits", "1024"], 2)
expect(["keygen", "--kty", "RSA", "--bits", "abc"], 2)
expect(["keygen", "--kty", "RSA", "--crv", "P-256", "--bits", "2048"], 2)
expect(["keygen", "--kty", "OKP", "--crv", "X25519"], 2)
expect(["keygen", "--kty", "EC", "--crv", "P-256", "--use", "maybe"], 2)
expect(["keygen", "--kty", "EC", "--crv"], 2, what="flag without a value")

# keygen files and modes
expect(["keygen", "--kty", "EC", "--crv", "P-256", "--kid", "k1", "--out", p("ec.jwk"), "--pub", p("ec.pub.jwk")], 0)
ok(mode(p("ec.jwk")) == 0o600, "private key mode 0600")
ok(mode(p("ec.pub.jwk")) == 0o644, "public key mode 0644")
priv = json.load(open(p("ec.jwk")))
pub = json.load(open(p("ec.pub.jwk")))
ok("d" in priv and "d" not in pub and pub["kid"] == "k1", "private/public members")
ok(list(pub)[:4] == ["crv", "kty", "x", "y"], "RFC 7638 member order")
open(p("world.jwk"), "w").write("x")
os.chmod(p("world.jwk"), 0o644)
expect(["keygen", "--kty", "EC", "--crv", "P-256", "--out", p("world.jwk")], 1, what="overwrite a world-readable file")
ok(open(p("world.jwk")).read() == "x", "world-readable file untouched")
out = expect(["keygen", "--kty", "OKP", "--crv", "Ed25519", "--alg", "EdDSA"], 0, what="keygen to stdout")
ok(json.loads(out)["alg"] == "EdDSA" and json.loads(out)["crv"] == "Ed25519", "keygen stdout JSON")
expect(["keygen", "--kty", "EC", "--crv", "P-384", "--use", "enc", "--out", p("enc.jwk"), "--pub", p("enc.pub.jwk")], 0)

# encrypt / decrypt
expect(["encrypt"], 2, b"x", "encrypt without --key")
expect(["encrypt", "--key", p("missing.jwk")], 2, b"x")
open(p("garbage.jwk"), "w").write("hello")
expect(["encrypt", "--key", p("garbage.jwk")], 2, b"x")
expect(["encrypt", "--key", p("ec.pub.jwk"), "--alg", "dir"], 2, b"x")
expect(["encrypt", "--key", p("ec.pub.jwk"), "--alg", "RSA-OAEP-256"], 2, b"x")
open(p("ed.jwk"), "w").write(out.decode())
expect(["encrypt", "--key", p("ed.jwk")], 2, b"x", "encrypt to Ed25519")
jwe = expect(["encrypt", "--key", p("ec.pub.jwk"), "--out", p("msg.jwe")], 0, b"secret bytes\x00\xff")
ok(jwe == b"", "encrypt --out writes nothing to stdout")
expect(["decrypt", "--key", p("ec.pub.jwk"), "--in", p("msg.jwe")], 2, what="decrypt with a public key")
expect(["decrypt", "--key", p("ec.jwk"), "--in", p("msg.jwe"), "--out", p("msg.out")], 0)
ok(open(p("msg.out"), "rb").read() == b"secret bytes\x00\xff", "decrypted bytes")
ok(mode(p("msg.out")) == 0o600, "decrypted file mode 0600")
expect(["keygen", "--kty", "EC", "--crv", "P-256", "--out", p("ec2.jwk")], 0)
expect(["decrypt", "--key", p("ec2.jwk"), "--in", p("msg.jwe")], 1, what="wrong key")
expect(["decrypt", "--key", p("ec.jwk")], 2, b"not a jwe", "garbage JWE")
expect(["decrypt", "--key", p("ec.jwk")], 2, b"", "empty JWE")
c = expect(["encrypt", "--key", p("enc.pub.jwk"), "--compact"], 0, b"abc")
ok(c.count(b".") == 4, "compact JWE has five parts")
ok(expect(["decrypt", "--key", p("enc.jwk")], 0, c) == b"abc", "compact round trip")

# sign / verify
expect(["sign", "--key", p("ec.pub.jwk")], 2, b"x", "sign with a public key")
expect(["sign", "--key", p("ec.jwk"), "--alg", "HS256"], 2, b"x")
expect(["sign", "--key", p("ec.jwk"), "--alg", "ES384"], 2, b"x")
expect(["sign", "--key", p("enc.jwk")], 1, b"x", "sign with a use=enc key")
tok = expect(["sign", "--key", p("ec.jwk")], 0, b"payload")
hdr = json.loads(__import__("base64").urlsafe_b64decode(tok.split(b".")[0] + b"=="))
ok(hdr == {"alg": "ES256", "kid": "k1"}, f"header {hdr}")
ok(expect(["verify", "--key", p("ec.pub.jwk")], 0, tok) == b"payload", "verify prints the payload")
expect(["verify"], 2, tok, "verify without a key")
expect(["verify", "--key", p("ec.pub.jwk"), "--jwks", p("ec.pub.jwk")], 2, tok)
expect(["verify", "--key", p("ec.pub.jwk"), "--now", "-5"], 2, tok)
expect(["verify", "--key", p("ec.pub.jwk"), "--now", "12x"], 2, tok)
expect(["verify", "--key", p("ec.pub.jwk"), "--leeway", "999999"], 2, tok)
expect(["verify", "--key", p("ec.pub.jwk")], 2, b"a.b", "two-part token")
json.dump({"keys": [{"kty": "oct", "k": "AAAA"}]}, open(p("bad.jwks"), "w"))
expect(["verify", "--jwks", p("bad.jwks")], 2, tok, "JWKS without a usable key")
json.dump({"keys": [{"kty": "oct", "k": "AAAA"}, json.load(open(p("ec.pub.jwk")))]}, open(p("good.jwks"), "w"))
expect(["verify", "--jwks", p("good.jwks")], 0, tok, "JWKS skipping an oct key")
json.dump({"nokeys": []}, open(p("nokeys.jwks"), "w"))
expect(["verify", "--jwks", p("nokeys.jwks")], 2, tok)
# claims: exp/nbf with --now and --leeway
jwt = expect(["sign", "--key", p("ec.jwk")], 0, b'{"exp":2000,"nbf":1000}').strip()
expect(["verify", "--key", p("ec.pub.jwk"), "--now", "1500"], 0, jwt)
expect(["verify", "--key", p("ec.pub.jwk"), "--now", "2000"], 1, jwt, "expired")
expect(["verify", "--key", p("ec.pub.jwk"), "--now", "2005", "--leeway", "10"], 0, jwt, "leeway")
expect(["verify", "--key", p("ec.pub.jwk"), "--now", "999"], 1, jwt, "not yet valid")
expect(["verify", "--key", p("ec.pub.jwk"), "--now=1500"], 0, jwt, "--flag=value form")
# PEM keys on the command line
pem_priv = p("ec.pem")
r = subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", pem_priv], capture_output=True)
if r.returncode == 0:
    subprocess.run(["openssl", "pkey", "-in", pem_priv, "-pubout", "-out", p("ec.pub.pem")], check=True)
    t = expect(["sign", "--key", pem_priv], 0, b"pem")
    expect(["verify", "--key", p("ec.pub.pem")], 0, t)
    e = expect(["encrypt", "--key", p("ec.pub.pem")], 0, b"pem")
    ok(expect(["decrypt", "--key", pem_priv], 0, e) == b"pem", "PEM round trip")

shutil.rmtree(TMP, ignore_errors=True)
print(f"jose_cli: {checks - failures}/{checks} checks passed")
sys.exit(1 if failures else 0)
