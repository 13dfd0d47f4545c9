# SPDX-License-Identifier: Apache-2.0
"""Test helpers: a software stand-in for the TPM ephemeral key, key_hsm unwrap (§f), checks."""
import json
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding

from skremu import jose

ENC_HASH = {"CKM_RSA_AES_KEY_WRAP": hashes.SHA1, "RSA_AES_KEY_WRAP_256": hashes.SHA256,
            "RSA_AES_KEY_WRAP_384": hashes.SHA384}
ENCS = tuple(ENC_HASH)

_KEY = {}


def wrapping_key():
    """One software RSA-2048 'ephemeral' key per test session."""
    if "k" not in _KEY:
        _KEY["k"] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY["k"]


def runtime_jwk(key, kid="TpmEphemeralEncryptionKey"):
    jwk = {"kid": kid, "kty": "RSA", "key_ops": ["encrypt"]}
    jwk.update({k: v for k, v in jose.public_jwk(key).items() if k != "kty"})
    return jwk


def cvm_claims(maa_url, key=None, **tee):
    """Claims shaped like an AzureGuest token of a compliant SEV-SNP CVM (§e.1)."""
    key = key or wrapping_key()
    iso = {"x-ms-attestation-type": "sevsnpvm", "x-ms-compliance-status": "azure-compliant-cvm",
           "x-ms-sevsnpvm-is-debuggable": False,
           "x-ms-sevsnpvm-launchmeasurement": "00" * 48, "x-ms-sevsnpvm-vmpl": 0}
    iso.update(tee)
    return {"iss": maa_url, "x-ms-attestation-type": "azurevm",
            "x-ms-isolation-tee": iso,
            "x-ms-runtime": {"keys": [runtime_jwk(key)], "client-payload": {"nonce": "QURFMDEwMQ=="}}}


def decode_jws(jws):
    header, payload, _sig, _inp = jose.split(jws)
    return header, payload


def unwrap(key_hsm, enc, key=None):
    key = key or wrapping_key()
    blob = json.loads(jose.b64url_decode(key_hsm))
    assert blob["header"]["enc"] == enc
    ct = jose.b64url_decode(blob["ciphertext"])
    n = key.key_size // 8
    h = ENC_HASH[enc]
    aes = key.decrypt(ct[:n], padding.OAEP(mgf=padding.MGF1(h()), algorithm=h(), label=None))
    assert len(aes) == 32
    return aes_key_unwrap_with_padding(aes, ct[n:]), blob


def check_released(plaintext, released_key, private_export):
    """The unwrapped material matches the JWS public members and the emulator's private copy."""
    kty = released_key["kty"]
    if kty.startswith("oct"):
        assert plaintext == jose.b64url_decode(private_export["k"])
        assert "n" not in released_key and "x" not in released_key
        return
    priv = serialization.load_der_private_key(plaintext, None)
    pub = jose.public_jwk(priv)
    if kty.startswith("RSA"):
        assert isinstance(priv, rsa.RSAPrivateKey)
        assert released_key["n"] == pub["n"]
        assert jose.b64_int(released_key["e"]) == jose.b64_int(pub["e"])
    else:
        assert isinstance(priv, ec.EllipticCurvePrivateKey)
        assert (released_key["crv"], released_key["x"], released_key["y"]) == \
            (pub["crv"], pub["x"], pub["y"])
    mine = serialization.load_pem_private_key(private_export["pem"].encode(), None)
    assert mine.private_numbers() == priv.private_numbers()


def pem_public_key(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read()).public_key()


def assert_token_fault(token, kind, public_key, good_issuer):
    """The token shows the injected fault itself (not only through a refusal elsewhere), and
    nothing else is wrong with it."""
    _h, claims, _s, _i = jose.split(token)
    now = time.time()
    if kind == "bad-signature":
        with pytest.raises(jose.JoseError):
            jose.verify_rs256(token, public_key)
    else:
        jose.verify_rs256(token, public_key)
    assert (claims["exp"] < now) == (kind == "expired"), claims
    assert (claims["iss"] != good_issuer) == (kind == "wrong-issuer"), claims


def assert_token_clean(token, public_key, good_issuer):
    _h, claims, _s, _i = jose.split(token)
    jose.verify_rs256(token, public_key)
    assert claims["exp"] > time.time() and claims["iss"] == good_issuer
