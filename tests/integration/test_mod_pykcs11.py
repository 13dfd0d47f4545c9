#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""PyKCS11 (a second client) against the module with the file key source: slots, token flags,
mechanisms, objects, private-object hiding and login, RSA PKCS#1/PSS, ECDSA and Ed25519
signatures verified with python3-cryptography, RSA-OAEP decryption of a cryptography
ciphertext, ECDH equal to cryptography's, AES-GCM round trip, digest and random, and the
write-protection rules. Needs SKR_MODULE and SKR_SOURCE_DIR (skr_add_test sets them)."""
import os
import sys
import tempfile

if os.environ.get("SKR_PRELOAD") and os.environ["SKR_PRELOAD"] not in os.environ.get("LD_PRELOAD", ""):
    # libasan first; libstdc++ too, or ASan's __cxa_throw interceptor finds no real function
    # when PyKCS11's SWIG code throws (StopIteration).
    os.environ["LD_PRELOAD"] = os.environ["SKR_PRELOAD"] + " libstdc++.so.6"
    os.execv(sys.executable, [sys.executable] + sys.argv)

import PyKCS11 as P  # noqa: E402
from PyKCS11 import LowLevel  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils  # noqa: E402

KEYS = os.path.join(os.environ["SKR_SOURCE_DIR"], "tests", "data", "module")
PIN = "1234"
CKM_EDDSA = getattr(P, "CKM_EDDSA", 0x1057)
CKR_ACTION_PROHIBITED = getattr(P, "CKR_ACTION_PROHIBITED", 0x1B)


def conf(path):
    with open(path, "w") as f:
        f.write(f"""[module]
log-level = error
[attestation]
provider = none
[token demo]
label = demo
source = file
[token sec]
label = sec
pin = {PIN}
source = file
[key demo-rsa]
token = demo
file = {KEYS}/rsa.pem
cert-file = {KEYS}/rsa.crt
[key demo-ec]
token = demo
file = {KEYS}/ec.der
[key demo-ed]
token = demo
file = {KEYS}/ed.pem
[key demo-aes]
token = demo
file = {KEYS}/aes.bin
key-type = aes
[key sec-ec]
token = sec
file = {KEYS}/ec.pem
""")


def load_priv(name):
    with open(os.path.join(KEYS, name), "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def find1(s, cls, label):
    objs = s.findObjects([(P.CKA_CLASS, cls), (P.CKA_LABEL, label)])
    assert len(objs) == 1, f"{label}: {len(objs)} objects of class {cls}"
    return objs[0]


def expect_rv(rv, fn, *args):
    try:
        fn(*args)
    except P.PyKCS11Error as e:
        assert e.value == rv, f"expected {P.CKR.get(rv, hex(rv))}, got {e}"
        return
    raise AssertionError(f"expected {P.CKR.get(rv, hex(rv))}, got CKR_OK")


def main():
    tmp = tempfile.mkdtemp(prefix="skr-pykcs11-")
    path = os.path.join(tmp, "skr.conf")
    conf(path)
    os.environ["SKR_PKCS11_CONF"] = path
    lib = P.PyKCS11Lib()
    lib.load(os.environ["SKR_MODULE"])
    info = lib.getInfo()
    assert info.manufacturerID.strip() == "skr-pkcs11", info.manufacturerID

    slots = lib.getSlotList(tokenPresent=True)
    assert len(slots) == 2, slots
    demo, sec = slots
    ti = lib.getTokenInfo(demo)
    assert ti.label.strip() == "demo"
    assert ti.flags & P.CKF_WRITE_PROTECTED and ti.flags & P.CKF_TOKEN_INITIALIZED
    assert not ti.flags & P.CKF_LOGIN_REQUIRED
    assert not ti.flags & P.CKF_PROTECTED_AUTHENTICATION_PATH
    ti = lib.getTokenInfo(sec)
    assert ti.flags & P.CKF_LOGIN_REQUIRED and ti.flags & P.CKF_USER_PIN_INITIALIZED
    mechs = lib.getMechanismList(demo)
    for m in ("CKM_RSA_PKCS_OAEP", "CKM_ECDSA", "CKM_AES_GCM", "CKM_SHA256_HMAC"):
        assert m in mechs, m
    print("ok - slots, tokens, mechanisms")

    s = lib.openSession(demo, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION)
    data = b"pykcs11 says hello"

    rsa = load_priv("rsa.pem")
    k = find1(s, P.CKO_PRIVATE_KEY, "demo-rsa")
    sig = bytes(s.sign(k, data, P.Mechanism(P.CKM_SHA256_RSA_PKCS)))
    rsa.public_key().verify(sig, data, padding.PKCS1v15(), hashes.SHA256())
    pss = P.RSA_PSS_Mechanism(P.CKM_SHA256_RSA_PKCS_PSS, P.CKM_SHA256, P.CKG_MGF1_SHA256, 32)
    sig = bytes(s.sign(k, data, pss))
    rsa.public_key().verify(sig, data, padding.PSS(padding.MGF1(hashes.SHA256()), 32),
                            hashes.SHA256())
    print("ok - RSA PKCS#1 v1.5 and PSS signatures verify with cryptography")

    ct = rsa.public_key().encrypt(data, padding.OAEP(padding.MGF1(hashes.SHA256()),
                                                     hashes.SHA256(), None))
    pt = bytes(s.decrypt(k, ct, P.RSAOAEPMechanism(P.CKM_SHA256, P.CKG_MGF1_SHA256)))
    assert pt == data
    print("ok - RSA-OAEP decrypt")

    eck = load_priv("ec.pem")
    k = find1(s, P.CKO_PRIVATE_KEY, "demo-ec")
    raw = bytes(s.sign(k, data, P.Mechanism(P.CKM_ECDSA_SHA256)))
    r, sv = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    eck.public_key().verify(utils.encode_dss_signature(r, sv), data, ec.ECDSA(hashes.SHA256()))
    pub = s.findObjects([(P.CKA_CLASS, P.CKO_PUBLIC_KEY), (P.CKA_LABEL, "demo-ec")])[0]
    assert s.verify(pub, data, raw, P.Mechanism(P.CKM_ECDSA_SHA256))
    print("ok - ECDSA signature verifies with cryptography and in the module")

    peer = ec.generate_private_key(ec.SECP256R1())
    peer_pt = peer.public_key().public_bytes(serialization.Encoding.X962,
                                             serialization.PublicFormat.UncompressedPoint)
    tmpl = [(P.CKA_CLASS, P.CKO_SECRET_KEY), (P.CKA_KEY_TYPE, P.CKK_GENERIC_SECRET),
            (P.CKA_TOKEN, False), (P.CKA_SENSITIVE, False), (P.CKA_EXTRACTABLE, True),
            (P.CKA_VALUE_LEN, 32)]
    z = s.deriveKey(k, tmpl, P.ECDH1_DERIVE_Mechanism(peer_pt))
    zval = bytes(s.getAttributeValue(z, [P.CKA_VALUE])[0])
    assert zval == peer.exchange(ec.ECDH(), eck.public_key()), "ECDH secret differs"
    print("ok - ECDH derive equals cryptography")

    edk = load_priv("ed.pem")
    k = find1(s, P.CKO_PRIVATE_KEY, "demo-ed")
    sig = bytes(s.sign(k, data, P.Mechanism(CKM_EDDSA)))
    edk.public_key().verify(sig, data)
    print("ok - Ed25519 signature verifies with cryptography")

    aes = find1(s, P.CKO_SECRET_KEY, "demo-aes")
    gcm = P.AES_GCM_Mechanism(bytes(12), b"aad", 128)
    ct = bytes(s.encrypt(aes, data, gcm))
    assert bytes(s.decrypt(aes, ct, gcm)) == data
    digest = bytes(s.digest(data, P.Mechanism(P.CKM_SHA256)))
    h = hashes.Hash(hashes.SHA256())
    h.update(data)
    assert digest == h.finalize()
    assert len(s.generateRandom(32)) == 32
    print("ok - AES-GCM round trip, SHA-256, random")

    expect_rv(P.CKR_TOKEN_WRITE_PROTECTED, s.createObject,
              [(P.CKA_CLASS, P.CKO_DATA), (P.CKA_TOKEN, True), (P.CKA_VALUE, b"x")])
    expect_rv(CKR_ACTION_PROHIBITED, s.destroyObject, k)
    sens = s.getAttributeValue(find1(s, P.CKO_PRIVATE_KEY, "demo-rsa"),
                               [P.CKA_PRIVATE_EXPONENT], allAsBinary=True)
    assert sens[0] is None, "sensitive attribute readable"
    o = s.createObject([(P.CKA_CLASS, P.CKO_DATA), (P.CKA_TOKEN, False),
                        (P.CKA_LABEL, "mine"), (P.CKA_VALUE, b"v")])
    s.destroyObject(o)
    print("ok - write protection, sensitive attributes, session objects")

    s2 = lib.openSession(sec)
    assert not s2.findObjects([(P.CKA_CLASS, P.CKO_PRIVATE_KEY)]), "private key before login"
    expect_rv(P.CKR_PIN_INCORRECT, s2.login, "0000")
    s2.login(PIN)
    k = find1(s2, P.CKO_PRIVATE_KEY, "sec-ec")
    raw = bytes(s2.sign(k, data, P.Mechanism(P.CKM_ECDSA_SHA256)))
    r, sv = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    eck.public_key().verify(utils.encode_dss_signature(r, sv), data, ec.ECDSA(hashes.SHA256()))
    s2.logout()
    assert not s2.findObjects([(P.CKA_CLASS, P.CKO_PRIVATE_KEY)])
    print("ok - login, private objects, logout")

    s.closeSession()
    s2.closeSession()
    os.unlink(path)
    os.rmdir(tmp)
    print("ALL OK")


if __name__ == "__main__":
    main()
