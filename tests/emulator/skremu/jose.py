# SPDX-License-Identifier: Apache-2.0
"""Minimal JOSE: base64url, compact JWS RS256, JWKs from cryptography keys, RFC 7638 thumbprints."""
import base64
import hashlib
import json
import threading

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa


class JoseError(Exception):
    pass


def b64url(data):
    """b64url without padding (RFC 7515)."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    """Accept b64url with or without padding, and standard b64 too."""
    if isinstance(text, bytes):
        text = text.decode()
    text = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64std(data):
    return base64.b64encode(data).decode()


def compact_json(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def int_b64(value, length=None):
    if length is None:
        length = max(1, (value.bit_length() + 7) // 8)
    return b64url(value.to_bytes(length, "big"))


def b64_int(text):
    return int.from_bytes(b64url_decode(text), "big")


_CURVES = {"P-256": (ec.SECP256R1, 32), "P-384": (ec.SECP384R1, 48), "P-521": (ec.SECP521R1, 66)}
_CURVE_BY_NAME = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def curve_name(key):
    return _CURVE_BY_NAME[key.curve.name]


def curve_for(crv):
    return _CURVES[crv][0]()


def public_jwk(key, akv_exponent=False):
    """Public JWK members of an RSA or EC key (private or public object).

    akv_exponent: Key Vault returns e as 4 bytes ("AAEAAQ"), MAA and most libraries as "AQAB".
    """
    if isinstance(key, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        key = key.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        nums = key.public_numbers()
        e = int_b64(nums.e, 4) if akv_exponent else int_b64(nums.e)
        return {"kty": "RSA", "n": int_b64(nums.n, (nums.n.bit_length() + 7) // 8), "e": e}
    if isinstance(key, ec.EllipticCurvePublicKey):
        crv = curve_name(key)
        size = _CURVES[crv][1]
        nums = key.public_numbers()
        return {"kty": "EC", "crv": crv, "x": int_b64(nums.x, size), "y": int_b64(nums.y, size)}
    raise JoseError("unsupported key type")


def jwk_to_public_key(jwk):
    kty = jwk.get("kty", "")
    if kty.startswith("RSA"):
        return rsa.RSAPublicNumbers(b64_int(jwk["e"]), b64_int(jwk["n"])).public_key()
    if kty.startswith("EC"):
        return ec.EllipticCurvePublicNumbers(
            b64_int(jwk["x"]), b64_int(jwk["y"]), curve_for(jwk["crv"])).public_key()
    raise JoseError("unsupported JWK kty %r" % kty)


def thumbprint(jwk):
    """RFC 7638 SHA-256 thumbprint, b64url-np."""
    kty = jwk["kty"].replace("-HSM", "")
    if kty == "RSA":
        members = {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}
        # RFC 7638 requires the minimal encoding of e
        members["e"] = int_b64(b64_int(jwk["e"]))
    elif kty == "EC":
        members = {"crv": jwk["crv"], "kty": "EC", "x": jwk["x"], "y": jwk["y"]}
    elif kty == "oct":
        members = {"k": jwk["k"], "kty": "oct"}
    else:
        raise JoseError("unsupported kty")
    data = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64url(hashlib.sha256(data).digest())


def sign_rs256(header, payload, key):
    """Compact JWS. header/payload: dicts (serialized compactly, in insertion order) or bytes."""
    h = header if isinstance(header, bytes) else compact_json(header).encode()
    p = payload if isinstance(payload, bytes) else compact_json(payload).encode()
    signing_input = (b64url(h) + "." + b64url(p)).encode()
    sig = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return signing_input.decode() + "." + b64url(sig)


def split(token):
    parts = token.split(".")
    if len(parts) != 3:
        raise JoseError("not a compact JWS")
    try:
        header = json.loads(b64url_decode(parts[0]))
        payload = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError) as exc:
        raise JoseError("malformed JWS: %s" % exc) from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise JoseError("malformed JWS: header/payload not objects")
    return header, payload, sig, (parts[0] + "." + parts[1]).encode()


# Tokens whose RS256 signature already verified, keyed by (token, key modulus, exponent): the
# same bearer and MAA tokens come back on every Key Vault request (64 releases = 64 times), and
# the answer for identical inputs cannot change. Only successes are kept; bounded.
_VERIFIED = {}
_VERIFIED_MAX = 1024
_VERIFIED_LOCK = threading.Lock()


def verify_rs256(token, public_key):
    """Return (header, payload) if the RS256 signature verifies; raise JoseError otherwise."""
    header, payload, sig, signing_input = split(token)
    if header.get("alg") != "RS256":
        raise JoseError("unsupported alg %r" % header.get("alg"))
    if isinstance(public_key, rsa.RSAPrivateKey):
        public_key = public_key.public_key()
    try:
        nums = public_key.public_numbers()
        memo = (token if isinstance(token, str) else bytes(token), nums.n, nums.e)
    except AttributeError:  # not an RSA key: verify() below raises
        memo = None
    with _VERIFIED_LOCK:
        if memo is not None and memo in _VERIFIED:
            return header, payload
    try:
        public_key.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except Exception as exc:  # cryptography raises InvalidSignature
        raise JoseError("bad signature") from exc
    if memo is not None:
        with _VERIFIED_LOCK:
            if len(_VERIFIED) >= _VERIFIED_MAX:
                _VERIFIED.clear()
            _VERIFIED[memo] = True
    return header, payload


def corrupt_signature(token):
    """Flip one bit of the signature (fault injection)."""
    head, sig = token.rsplit(".", 1)
    raw = bytearray(b64url_decode(sig))
    raw[len(raw) // 2] ^= 0x01
    return head + "." + b64url(bytes(raw))


def cert_der(cert):
    return cert.public_bytes(serialization.Encoding.DER)


def x5t(cert):
    return b64url(hashlib.sha1(cert_der(cert)).digest())


def x5t_s256(cert):
    return b64url(hashlib.sha256(cert_der(cert)).digest())
