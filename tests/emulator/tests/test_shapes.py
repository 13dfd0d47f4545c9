# SPDX-License-Identifier: Apache-2.0
"""Shape conformance against the real recordings in ../shared/fixtures/azure/."""
import base64
import hashlib
import json
import re

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import load_recording
from helpers import cvm_claims, decode_jws
from skremu import jose

AKV_REC = "test_key_client.pyTestKeyClienttest_key_release[7.3_vault].json"
OIDC_REC = "test_attestation_async.pyTestAsyncAzureAttestationtest_shared_getopenidmetadataasync.json"


def _entry(rec, method, needle):
    return next(e for e in rec["Entries"] if e["RequestMethod"] == method and needle in
                e["RequestUri"])


def _real_release():
    rec = load_recording(AKV_REC)
    e = _entry(rec, "POST", "/release")
    return e, e["ResponseBody"]["value"]


def _shape(obj):
    """Structure of a JSON value: dict keys (ordered) and the types of leaves."""
    if isinstance(obj, dict):
        return {k: _shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_shape(obj[0])] if obj else []
    return type(obj).__name__


def test_release_jws_header_like_recording(emu):
    _e, real = _real_release()
    real_h = json.loads(jose.b64url_decode(real.split(".")[0]))
    r = emu.release("demo-rsa", emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"])), api="7.3")
    assert r.status == 200
    jws = r.json()["value"]
    segs = jws.split(".")
    assert all("=" not in s and "+" not in s and "/" not in s for s in segs)  # b64url-np
    h = json.loads(jose.b64url_decode(segs[0]))
    assert list(h) == list(real_h)           # alg, kid, x5t, typ, x5t#S256, x5c — same order
    assert h["alg"] == "RS256" and h["typ"] == "JWT"
    leaf_der = base64.b64decode(h["x5c"][0], validate=True)   # standard b64
    assert h["kid"] == hashlib.sha1(leaf_der).hexdigest().upper()
    assert re.fullmatch(r"[0-9A-F]{40}", h["kid"]) and re.fullmatch(r"[0-9A-F]{40}", real_h["kid"])
    assert h["x5t"] == jose.b64url(hashlib.sha1(leaf_der).digest())
    assert h["x5t#S256"] == jose.b64url(hashlib.sha256(leaf_der).digest())
    assert len(h["x5c"]) == len(real_h["x5c"]) == 3
    chain = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in h["x5c"]]
    jose.verify_rs256(jws, chain[0].public_key())
    for child, parent in zip(chain, chain[1:]):
        assert child.issuer == parent.subject
        pub = parent.public_key()
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        pub.verify(child.signature, child.tbs_certificate_bytes,
                   ec.ECDSA(child.signature_hash_algorithm))
    with open(emu.ca, "rb") as f:
        assert chain[-1] == x509.load_pem_x509_certificate(f.read())
    sans = chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    host = emu.env["SKR_EMU_VAULT"].split("//")[1].split(":")[0]
    wild = "*." + host.split(".", 1)[1]
    assert wild in sans.get_values_for_type(x509.DNSName)


def test_release_payload_and_key_hsm_like_recording(emu):
    _e, real = _real_release()
    real_p = json.loads(jose.b64url_decode(real.split(".")[1]))
    r = emu.release("demo-rsa", emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"])), api="7.3")
    _h, p = decode_jws(r.json()["value"])
    assert _shape(p) == _shape(real_p)
    assert p["request"]["kid"] == emu.env["SKR_EMU_VAULT"] + "/keys/demo-rsa"
    assert p["response"]["key"]["key"]["e"] == real_p["response"]["key"]["key"]["e"] == "AAEAAQ"
    real_kh = json.loads(jose.b64url_decode(real_p["response"]["key"]["key"]["key_hsm"]))
    kh_text = p["response"]["key"]["key"]["key_hsm"]
    assert "=" not in kh_text
    kh = json.loads(jose.b64url_decode(kh_text))
    assert _shape(kh) == _shape(real_kh)
    assert list(kh["header"]) == ["kid", "alg", "enc"]
    assert "=" not in kh["ciphertext"]
    # RSA-2048 key wrapped to an RSA-2048 key: 256 + 1232 bytes, like the recording (1488)
    assert len(jose.b64url_decode(kh["ciphertext"])) == len(
        jose.b64url_decode(real_kh["ciphertext"])) == 1488


def test_key_bundle_like_recording(emu):
    rec = load_recording(AKV_REC)
    real = next(e for e in rec["Entries"] if e["RequestMethod"] == "POST" and
                e["RequestUri"].endswith("create?api-version=7.3") and e["StatusCode"] == 200)
    pol = real["RequestBody"]["release_policy"]["data"]
    policy = json.loads(jose.b64url_decode(pol))
    policy["anyOf"][0]["authority"] = emu.env["SKR_EMU_MAA"] + "/"
    r = emu.kv("POST", "/keys/shape-rsa/create", {
        "kty": "RSA-HSM", "attributes": {"exportable": True},
        "release_policy": {"data": jose.b64url(json.dumps(policy).encode())}}, api="7.3")
    assert r.status == 200, r
    got = r.json()
    assert _shape(got) == _shape(real["ResponseBody"])
    # the normalisation AKV applied in the recording, reproduced byte for byte
    norm_real = jose.b64url_decode(real["ResponseBody"]["release_policy"]["data"]).decode()
    norm_got = jose.b64url_decode(got["release_policy"]["data"]).decode()
    assert norm_got == norm_real.replace(
        "https://kashifkhankeyvaultsite.azurewebsites.net/", emu.env["SKR_EMU_MAA"] + "/")


def test_401_challenge_like_recording(emu):
    rec = load_recording(AKV_REC)
    real = next(e for e in rec["Entries"] if e["StatusCode"] == 401)
    r = emu.kv("POST", "/keys/demo-rsa/create", {"kty": "RSA-HSM"}, auth=False, api="7.3")
    assert r.status == 401
    assert r.json() == real["ResponseBody"]
    pattern = r'Bearer authorization="([^"]+)/([0-9a-f-]{36})", resource="([^"]+)"'
    real_m = re.fullmatch(pattern, real["ResponseHeaders"]["WWW-Authenticate"])
    m = re.fullmatch(pattern, r.header("WWW-Authenticate"))
    assert real_m and m
    assert m.group(1) == emu.env["SKR_EMU_LOGIN"] and m.group(2) == emu.tenant
    assert m.group(3) == real_m.group(3) == "https://vault.azure.net"
    for h in ("x-ms-keyvault-region", "x-ms-keyvault-service-version",
              "x-ms-keyvault-network-info", "x-ms-request-id"):
        assert r.header(h), h
    r = emu.kv("GET", "/keys/hsm-aes", auth=False, base=emu.env["SKR_EMU_MHSM"])
    assert r.status == 401 and 'resource="https://managedhsm.azure.net"' in \
        r.header("WWW-Authenticate")


def test_error_json_shape(emu):
    rec = load_recording(AKV_REC)
    real = next(e for e in rec["Entries"] if e["StatusCode"] == 401)["ResponseBody"]
    for r in (emu.kv("GET", "/keys/no-such-key"), emu.kv("GET", "/keys/demo-rsa", api="1.0"),
              emu.release("demo-nonexportable", "x.y.z")):
        body = r.json()
        assert list(body) == list(real) == ["error"]
        assert set(body["error"]) >= set(real["error"])
        assert r.header("x-ms-request-id")


def test_oidc_metadata_like_recording(emu):
    real = load_recording(OIDC_REC)["Entries"][0]["ResponseBody"]
    r = emu.req(emu.env["SKR_EMU_MAA"] + "/.well-known/openid-configuration")
    assert r.status == 200
    got = r.json()
    assert list(got) == list(real)
    maa = emu.env["SKR_EMU_MAA"]
    assert got["issuer"] == maa and got["jwks_uri"] == maa + "/certs"
    assert got["revocation_endpoint"] == maa + "/revoke"
    for k in ("response_types_supported", "id_token_signing_alg_values_supported",
              "claims_supported"):
        assert got[k] == real[k]


def test_certs_and_token_header_like_real_maa(emu):
    with open(__import__("conftest").fixture_path("maa_sgx_token_sharedwus.jwt")) as f:
        real_h = json.loads(jose.b64url_decode(f.read().strip().split(".")[0]))
    certs = emu.req(emu.env["SKR_EMU_MAA"] + "/certs").json()
    assert list(certs) == ["keys"]
    k = certs["keys"][0]
    assert list(k) == ["x5c", "kid", "kty"] and k["kty"] == "RSA"
    assert len(base64.b64decode(k["kid"], validate=True)) == len(
        base64.b64decode(real_h["kid"])) == 32
    token = emu.maa_token({})
    h = json.loads(jose.b64url_decode(token.split(".")[0]))
    assert list(h) == list(real_h) == ["alg", "jku", "kid", "typ"]
    assert h["kid"] == k["kid"] and h["jku"] == emu.env["SKR_EMU_MAA"] + "/certs"


def test_thim_like_recording(emu):
    with open(__import__("conftest").fixture_path("uvm_host_amd_certificate.json")) as f:
        real = json.load(f)
    r = emu.req(emu.env["SKR_EMU_IMDS"] + "/metadata/THIM/amd/certification",
                headers={"Metadata": "true"})
    assert r.status == 200 and list(r.json()) == list(real)
    r = emu.req(emu.env["SKR_EMU_IMDS"] + "/metadata/THIM/amd/certification")
    assert r.status == 400
