#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""PyKCS11 against the module with keys released by the local Azure emulator (pykcs11.sh):
token "demo" without login; demo-rsa signs (PKCS#1 v1.5, PSS) and decrypts (OAEP), demo-ec
signs (ECDSA) and derives (ECDH), each checked with python3-cryptography against the public keys
Key Vault publishes (the certificate objects); demo-aes encrypts AES-GCM exactly as AES-GCM with
the vault's copy of the key. Released private and secret keys are sensitive and not extractable.
argv: module, PEM public key of demo-rsa, of demo-ec, the vault's demo-aes key bytes."""
import sys

import PyKCS11 as P
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

module, rsa_pem, ec_pem, aes_file = sys.argv[1:5]
pub_rsa = serialization.load_pem_public_key(open(rsa_pem, "rb").read())
pub_ec = serialization.load_pem_public_key(open(ec_pem, "rb").read())
aes_key = open(aes_file, "rb").read()
DATA = b"signed by a key released to the simulated CVM"


def ok(what):
    print("ok - " + what)


lib = P.PyKCS11Lib()
lib.load(module)
slots = [s for s in lib.getSlotList(tokenPresent=True) if lib.getTokenInfo(s).label.strip() == "demo"]
assert len(slots) == 1, "token demo not found"
info = lib.getTokenInfo(slots[0])
assert not info.flags & P.CKF_LOGIN_REQUIRED, "the emulator's token sets no PIN"
assert info.flags & P.CKF_WRITE_PROTECTED, "Key Vault tokens are write-protected"
sess = lib.openSession(slots[0])


def one(cls, label):
    objs = sess.findObjects([(P.CKA_CLASS, cls), (P.CKA_LABEL, label)])
    assert len(objs) == 1, "%d objects %s of class %d" % (len(objs), label, cls)
    return objs[0]


rsa, eck, aes = one(P.CKO_PRIVATE_KEY, "demo-rsa"), one(P.CKO_PRIVATE_KEY, "demo-ec"), one(
    P.CKO_SECRET_KEY, "demo-aes")
for k, name in ((rsa, "demo-rsa"), (eck, "demo-ec"), (aes, "demo-aes")):
    sens, extr, never = sess.getAttributeValue(k, [P.CKA_SENSITIVE, P.CKA_EXTRACTABLE,
                                                   P.CKA_NEVER_EXTRACTABLE])
    assert sens and not extr and never, "%s: sensitive=%s extractable=%s" % (name, sens, extr)
    # PyKCS11 answers None for an attribute the token refuses (CKR_ATTRIBUTE_SENSITIVE).
    secret = sess.getAttributeValue(k, [P.CKA_PRIVATE_EXPONENT if k == rsa else P.CKA_VALUE])
    assert secret == [None], "%s: secret attribute readable" % name
ok("demo-rsa, demo-ec, demo-aes released: sensitive, never extractable, values unreadable")

sig = bytes(sess.sign(rsa, DATA, P.Mechanism(P.CKM_SHA256_RSA_PKCS)))
pub_rsa.verify(sig, DATA, padding.PKCS1v15(), hashes.SHA256())
pss = P.RSA_PSS_Mechanism(P.CKM_SHA256_RSA_PKCS_PSS, P.CKM_SHA256, P.CKG_MGF1_SHA256, 32)
sig = bytes(sess.sign(rsa, DATA, pss))
pub_rsa.verify(sig, DATA, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
ok("demo-rsa: PKCS#1 v1.5 and PSS signatures verify with Key Vault's public key")

ct = pub_rsa.encrypt(DATA, padding.OAEP(padding.MGF1(hashes.SHA256()), hashes.SHA256(), None))
oaep = P.RSAOAEPMechanism(P.CKM_SHA256, P.CKG_MGF1_SHA256)
assert bytes(sess.decrypt(rsa, ct, oaep)) == DATA, "OAEP decryption gave other bytes"
ok("demo-rsa: RSA-OAEP (SHA-256) decryption of a ciphertext made with Key Vault's key")

sig = bytes(sess.sign(eck, DATA, P.Mechanism(P.CKM_ECDSA_SHA256)))
half = len(sig) // 2
der = utils.encode_dss_signature(int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big"))
pub_ec.verify(der, DATA, ec.ECDSA(hashes.SHA256()))
ok("demo-ec: ECDSA P-256 signature verifies with Key Vault's public key")

peer = ec.generate_private_key(ec.SECP256R1())
peer_point = peer.public_key().public_bytes(serialization.Encoding.X962,
                                            serialization.PublicFormat.UncompressedPoint)
derived = sess.deriveKey(eck, [(P.CKA_CLASS, P.CKO_SECRET_KEY), (P.CKA_KEY_TYPE, P.CKK_GENERIC_SECRET),
                               (P.CKA_VALUE_LEN, 32), (P.CKA_TOKEN, False),
                               (P.CKA_SENSITIVE, False), (P.CKA_EXTRACTABLE, True)],
                         P.ECDH1_DERIVE_Mechanism(peer_point))
shared = bytes(sess.getAttributeValue(derived, [P.CKA_VALUE], allAsBinary=True)[0])
assert shared == peer.exchange(ec.ECDH(), pub_ec), "ECDH differs from the peer's"
ok("demo-ec: ECDH derive equals the peer's exchange with Key Vault's public key")

iv, aad = bytes(range(12)), b"skr-pkcs11 aad"
ct = bytes(sess.encrypt(aes, DATA, P.AES_GCM_Mechanism(iv, aad, 128)))
assert ct == AESGCM(aes_key).encrypt(iv, DATA, aad), "AES-GCM differs from the vault's key"
assert bytes(sess.decrypt(aes, ct, P.AES_GCM_Mechanism(iv, aad, 128))) == DATA
ok("demo-aes: AES-GCM equals AES-GCM with the vault's copy of the key, and decrypts")

for label in ("demo-denied", "demo-nonexportable"):
    assert not sess.findObjects([(P.CKA_CLASS, P.CKO_PRIVATE_KEY), (P.CKA_LABEL, label)]), label
    one(P.CKO_PUBLIC_KEY, label)
ok("demo-denied and demo-nonexportable: public key only, no private object")
sess.closeSession()
print("pykcs11: all checks passed")
