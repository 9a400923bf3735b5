#!/usr/bin/python3
"""Interop of `coffer jose` with python3-jwcrypto, both directions, per
algorithm, plus tampering, wrong keys and algorithm confusion.
Exit 77 (skipped) only when jwcrypto is missing."""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

try:
    from jwcrypto import jwe, jwk, jws, jwt
    from jwcrypto.common import json_encode
except ImportError:
    print("SKIPPED: python3-jwcrypto is not installed", file=sys.stderr)
    sys.exit(77)

BIN = os.path.join(os.environ.get("COFFER_BIN_DIR", "bin"), "coffer")
if not os.path.exists(BIN):
    print(f"coffer binary not found at {BIN}", file=sys.stderr)
    sys.exit(1)
TMP = tempfile.mkdtemp(prefix="coffer-jose-py-")
checks = 0
failures = 0

ALL_JWE_ALGS = ["ECDH-ES+A256KW", "RSA-OAEP-256", "RSA-OAEP", "RSA1_5", "A256GCM", "A128GCM"]


def coffer(args, data=b""):
    r = subprocess.run([BIN, "jose"] + args, input=data, capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")


def check(cond, what):
    global checks, failures
    checks += 1
    if not cond:
        failures += 1
        print("FAIL:", what, file=sys.stderr)


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def flip(s, byte):
    b = bytearray(unb64u(s))
    b[byte % len(b)] ^= 0x01
    return b64u(bytes(b))


def path(name):
    return os.path.join(TMP, name)


def our_key(name, gen):
    rc, _, err = coffer(["keygen"] + gen + ["--out", path(name + ".jwk"), "--pub", path(name + ".pub.jwk")])
    if rc != 0:
        raise RuntimeError(f"keygen {gen}: {err}")
    check(os.stat(path(name + ".jwk")).st_mode & 0o777 == 0o600, f"{name}: private JWK mode")
    with open(path(name + ".jwk")) as f:
        priv = jwk.JWK(**json.load(f))
    with open(path(name + ".pub.jwk")) as f:
        pub = jwk.JWK(**json.load(f))
    return priv, pub


def write(name, data):
    with open(path(name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path(name)


PLAIN = bytes((i * 31 + 7) & 0xFF for i in range(1024))

JWE_CASES = [
    ("ECDH-ES+A256KW", ["--kty", "EC", "--crv", "P-256"], "P-256", 32),
    ("ECDH-ES+A256KW", ["--kty", "EC", "--crv", "P-384"], "P-384", 48),
    ("ECDH-ES+A256KW", ["--kty", "EC", "--crv", "P-521"], "P-521", 66),
    ("RSA-OAEP-256", ["--kty", "RSA", "--bits", "2048"], None, 0),
    ("RSA-OAEP", ["--kty", "RSA", "--bits", "2048"], None, 0),
]


def their_decrypt(text, key):
    t = jwe.JWE()
    t.allowed_algs = ALL_JWE_ALGS
    t.deserialize(text, key)
    return t.payload


def their_encrypt(key, alg, compact=False, protected=None):
    t = jwe.JWE(PLAIN, protected=json_encode(protected or {"alg": alg, "enc": "A256GCM"}), algs=ALL_JWE_ALGS)
    t.add_recipient(key)
    return t.serialize(compact=compact)


for alg, gen, crv, clen in JWE_CASES:
    tag = f"JWE {alg} {crv or 'RSA'}"
    priv, pub = our_key("jwe", gen)
    opriv, opub = our_key("jwe-other", gen)
    # ours -> theirs
    rc, out, err = coffer(["encrypt", "--key", path("jwe.pub.jwk"), "--alg", alg], PLAIN)
    check(rc == 0, f"{tag}: coffer encrypt: {err}")
    flat = json.loads(out)
    check(list(flat.keys()) == ["protected", "encrypted_key", "iv", "ciphertext", "tag"], f"{tag}: member order")
    hdr = json.loads(unb64u(flat["protected"]))
    if crv:
        expect = json.dumps({"alg": alg, "enc": "A256GCM", "epk": {"crv": crv, "kty": "EC", "x": hdr["epk"]["x"], "y": hdr["epk"]["y"]}}, separators=(",", ":"))
        check(len(unb64u(hdr["epk"]["x"])) == clen and len(unb64u(hdr["epk"]["y"])) == clen, f"{tag}: coordinate length")
    else:
        expect = json.dumps({"alg": alg, "enc": "A256GCM"}, separators=(",", ":"))
    check(unb64u(flat["protected"]).decode() == expect, f"{tag}: protected header serialization")
    try:
        check(their_decrypt(out.decode(), priv) == PLAIN, f"{tag}: jwcrypto decrypts ours")
    except Exception as e:
        check(False, f"{tag}: jwcrypto decrypt: {e}")
    rc, out, err = coffer(["encrypt", "--key", path("jwe.pub.jwk"), "--alg", alg, "--compact"], PLAIN)
    try:
        check(their_decrypt(out.decode().strip(), priv) == PLAIN, f"{tag}: jwcrypto decrypts our compact")
    except Exception as e:
        check(False, f"{tag}: jwcrypto decrypt compact: {e}")
    # ours -> theirs with a jwcrypto-generated key, as JWK and as PEM
    if crv:
        their = jwk.JWK.generate(kty="EC", crv=crv)
    else:
        their = jwk.JWK.generate(kty="RSA", size=2048)
    write("their.pub.jwk", their.export_public())
    rc, out, err = coffer(["encrypt", "--key", path("their.pub.jwk"), "--alg", alg], PLAIN)
    try:
        check(rc == 0 and their_decrypt(out.decode(), their) == PLAIN, f"{tag}: jwcrypto decrypts ours (its key)")
    except Exception as e:
        check(False, f"{tag}: jwcrypto decrypt (its key): {e}")
    write("their.pub.pem", their.export_to_pem())
    rc, out, err = coffer(["encrypt", "--key", path("their.pub.pem"), "--alg", alg], PLAIN)
    try:
        check(rc == 0 and their_decrypt(out.decode(), their) == PLAIN, f"{tag}: jwcrypto decrypts ours (PEM key)")
    except Exception as e:
        check(False, f"{tag}: jwcrypto decrypt (PEM key): {e}")
    write("their.pem", their.export_to_pem(private_key=True, password=None))
    rc, out, err = coffer(["decrypt", "--key", path("their.pem")], their_encrypt(their, alg, True).encode())
    check(rc == 0 and out == PLAIN, f"{tag}: coffer decrypts with a PEM private key: {err}")
    # theirs -> ours: JSON (flattened), compact, general with two recipients
    for compact in (False, True):
        rc, out, err = coffer(["decrypt", "--key", path("jwe.jwk")], their_encrypt(pub, alg, compact).encode())
        check(rc == 0 and out == PLAIN, f"{tag}: coffer decrypts jwcrypto (compact={compact}): {err}")
    g = jwe.JWE(PLAIN, protected=json_encode({"enc": "A256GCM"}), algs=ALL_JWE_ALGS)
    g.add_recipient(opub, header=json_encode({"alg": alg}))
    g.add_recipient(pub, header=json_encode({"alg": alg}))
    gtext = g.serialize()
    check("recipients" in json.loads(gtext), f"{tag}: jwcrypto made a general JWE")
    rc, out, err = coffer(["decrypt", "--key", path("jwe.jwk")], gtext.encode())
    check(rc == 0 and out == PLAIN, f"{tag}: coffer decrypts jwcrypto general: {err}")
    tpriv, _ = our_key("jwe-third", gen)
    rc, out, err = coffer(["decrypt", "--key", path("jwe-third.jwk")], gtext.encode())
    check(rc == 1 and out == b"" and "JWE decryption failed" in err, f"{tag}: wrong key ({rc}, {err})")
    # tampering with ours, one bit per member
    for m in ["protected", "encrypted_key", "iv", "ciphertext", "tag"]:
        for byte in (0, 9, 17):
            t = dict(flat)
            t[m] = flip(flat[m], byte)
            rc, out, err = coffer(["decrypt", "--key", path("jwe.jwk")], json.dumps(t).encode())
            check(rc != 0 and out == b"", f"{tag}: tampered {m}[{byte}] accepted")
            if m != "protected":
                check(rc == 1, f"{tag}: tampered {m} exit {rc}")
            try:
                their_decrypt(json.dumps(t), priv)
                check(False, f"{tag}: jwcrypto accepted tampered {m}")
            except Exception:
                check(True, "")
    rc, out, err = coffer(["decrypt", "--key", path("jwe-other.jwk")], json.dumps(flat).encode())
    check(rc == 1 and out == b"", f"{tag}: wrong key on ours")

# RSA1_5: decrypt only, behind --allow-rsa1_5
priv, pub = our_key("r15", ["--kty", "RSA", "--bits", "2048"])
text = their_encrypt(pub, "RSA1_5", True).encode()
rc, out, err = coffer(["decrypt", "--key", path("r15.jwk")], text)
check(rc == 2 and out == b"", f"RSA1_5 refused without the flag ({rc})")
rc, out, err = coffer(["decrypt", "--key", path("r15.jwk"), "--allow-rsa1_5"], text)
check(rc == 0 and out == PLAIN, f"RSA1_5 with --allow-rsa1_5: {err}")
parts = text.decode().split(".")
parts[1] = flip(parts[1], 40)
rc, out, err = coffer(["decrypt", "--key", path("r15.jwk"), "--allow-rsa1_5"], ".".join(parts).encode())
check(rc == 1 and out == b"" and "JWE decryption failed" in err, f"RSA1_5 bad padding: uniform failure ({rc}, {err})")
rc, out, err = coffer(["encrypt", "--key", path("r15.pub.jwk"), "--alg", "RSA1_5"], PLAIN)
check(rc == 0, f"RSA1_5 encrypt when named: {err}")
check(their_decrypt(out.decode(), priv) == PLAIN, "jwcrypto decrypts our RSA1_5")

# ---- JWS ----
JWS_CASES = [
    ("ES256", ["--kty", "EC", "--crv", "P-256"], dict(kty="EC", crv="P-256"), 64),
    ("ES384", ["--kty", "EC", "--crv", "P-384"], dict(kty="EC", crv="P-384"), 96),
    ("ES512", ["--kty", "EC", "--crv", "P-521"], dict(kty="EC", crv="P-521"), 132),
    ("EdDSA", ["--kty", "OKP", "--crv", "Ed25519"], dict(kty="OKP", crv="Ed25519"), 64),
    ("RS256", ["--kty", "RSA", "--bits", "2048"], dict(kty="RSA", size=2048), 256),
    ("PS256", ["--kty", "RSA", "--bits", "2048"], dict(kty="RSA", size=2048), 256),
]
PAYLOAD = b'{"hello":"world","n":1}'


def their_verify(tok, key):
    s = jws.JWS()
    s.deserialize(tok)
    s.verify(key)
    return s.payload


for alg, gen, tgen, siglen in JWS_CASES:
    tag = f"JWS {alg}"
    priv, pub = our_key("sig", gen)
    our_key("sig-other", gen)
    rc, out, err = coffer(["sign", "--key", path("sig.jwk"), "--alg", alg], PAYLOAD)
    check(rc == 0, f"{tag}: coffer sign: {err}")
    tok = out.decode().strip()
    check(len(unb64u(tok.split(".")[2])) == siglen, f"{tag}: signature length")
    try:
        check(their_verify(tok, pub) == PAYLOAD, f"{tag}: jwcrypto verifies ours")
    except Exception as e:
        check(False, f"{tag}: jwcrypto verify: {e}")
    their = jwk.JWK.generate(**tgen)
    s = jws.JWS(PAYLOAD)
    s.add_signature(their, alg, protected=json_encode({"alg": alg}))
    ttok = s.serialize(compact=True)
    write("sig-their.pub.jwk", their.export_public())
    rc, out, err = coffer(["verify", "--key", path("sig-their.pub.jwk")], ttok.encode())
    check(rc == 0 and out == PAYLOAD, f"{tag}: coffer verifies jwcrypto: {err}")
    write("sig-their.pem", their.export_to_pem())
    rc, out, err = coffer(["verify", "--key", path("sig-their.pem")], ttok.encode())
    check(rc == 0 and out == PAYLOAD, f"{tag}: coffer verifies with a PEM key: {err}")
    rc, out, err = coffer(["verify", "--key", path("sig-other.pub.jwk")], tok.encode())
    check(rc == 1 and out == b"", f"{tag}: wrong key ({rc})")
    p = tok.split(".")
    for i in range(3):
        for byte in (0, 6, 11):
            q = list(p)
            q[i] = flip(q[i], byte)
            rc, out, err = coffer(["verify", "--key", path("sig.pub.jwk")], ".".join(q).encode())
            check(rc != 0 and out == b"", f"{tag}: tampered part {i}[{byte}] accepted")
            if i > 0:
                check(rc == 1, f"{tag}: tampered part {i} exit {rc}")

# ---- algorithm confusion ----
_, ecpub = our_key("conf-ec", ["--kty", "EC", "--crv", "P-256"])
rpriv, rpub = our_key("conf-rsa", ["--kty", "RSA", "--bits", "2048"])
pem = rpub.export_to_pem()
for secret in (pem, rpub.export_public().encode(), unb64u(json.loads(rpub.export_public())["n"])):
    hk = jwk.JWK(kty="oct", k=b64u(secret))
    s = jws.JWS(PAYLOAD)
    s.add_signature(hk, "HS256", protected=json_encode({"alg": "HS256"}))
    rc, out, err = coffer(["verify", "--key", path("conf-rsa.pub.jwk")], s.serialize(compact=True).encode())
    check(rc == 1 and out == b"", f"HS256 keyed with the public key ({rc})")
none = b64u(b'{"alg":"none"}') + "." + b64u(PAYLOAD) + "."
rc, out, err = coffer(["verify", "--key", path("conf-ec.pub.jwk")], none.encode())
check(rc == 1 and out == b"", f"alg none ({rc})")
rc, out, _ = coffer(["sign", "--key", path("conf-rsa.jwk"), "--alg", "RS256"], PAYLOAD)
rt = out.decode().strip().split(".")
rc, out, err = coffer(["verify", "--key", path("conf-rsa.pub.jwk")], ".".join([b64u(b'{"alg":"PS256"}'), rt[1], rt[2]]).encode())
check(rc == 1, "RS256 relabelled PS256")
rc, out, err = coffer(["verify", "--key", path("conf-ec.pub.jwk")], ".".join(rt).encode())
check(rc == 1, "RS256 token with an EC key")
# JWT times: jwcrypto-made token, checked at chosen instants
claims = {"sub": "a", "iat": 1000, "nbf": 1000, "exp": 2000}
ek = jwk.JWK.generate(kty="EC", crv="P-256")
tk = jwt.JWT(header={"alg": "ES256"}, claims=claims)
tk.make_signed_token(ek)
write("jwt.pub.jwk", ek.export_public())
for now, want in ((1500, 0), (2000, 1), (999, 1)):
    rc, out, err = coffer(["verify", "--key", path("jwt.pub.jwk"), "--now", str(now)], tk.serialize().encode())
    check(rc == want, f"JWT at {now}: exit {rc}, expected {want}")

shutil.rmtree(TMP, ignore_errors=True)
print(f"jose_interop_python: {checks - failures}/{checks} checks passed")
sys.exit(1 if failures else 0)
