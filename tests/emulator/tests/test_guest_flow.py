# SPDX-License-Identifier: Apache-2.0
"""The whole SKR flow from Python through the simulated vTPM (h5's guest.py): HCL report, quote,
ephemeral key + certify, AzureGuest attestation, envelope opened in the TPM, release, key_hsm
unwrapped in the TPM + AES-KWP, released key checked. Plus every evidence tampering."""
import base64
import json

import pytest

from helpers import (ENCS, assert_token_clean, assert_token_fault, check_released, decode_jws,
                     pem_public_key)
from skremu import guest, hcl, jose

MAA_PATH = "/attest/AzureGuest?api-version=2020-10-01"


def thim(emu):
    r = emu.req(emu.env["SKR_EMU_IMDS"] + "/metadata/THIM/amd/certification",
                headers={"Metadata": "true"})
    assert r.status == 200, r
    return r.json()


def evidence(emu, nonce="ADE0101"):
    return guest.build_attestation_info(emu.env["SKR_EMU_TCTI"], thim(emu), nonce=nonce)


def post_attest(emu, info):
    return emu.req(emu.env["SKR_EMU_MAA"] + MAA_PATH, "POST",
                   guest.attestation_request_body(info))


def attest(emu, nonce="ADE0101"):
    info, eph = evidence(emu, nonce)
    r = post_attest(emu, info)
    assert r.status == 200, r
    jwt = guest.decrypt_envelope(emu.env["SKR_EMU_TCTI"], eph, r.json()["token"])
    return jwt, eph


def release_and_unwrap(emu, name, jwt, eph, enc, vault="demo", base=None):
    r = emu.release(name, jwt, enc=enc, base=base)
    assert r.status == 200, r
    _h, payload = decode_jws(r.json()["value"])
    key = payload["response"]["key"]["key"]
    plain = guest.tpm_unwrap_key_hsm(emu.env["SKR_EMU_TCTI"], eph, key["key_hsm"])
    published = emu.kv("GET", "/keys/" + name, base=base).json()["key"]   # the public JWK
    assert published["kid"] == key["kid"]
    check_released(plain, dict(published, kty=key["kty"]), emu.private(vault, name))
    return payload


@pytest.fixture(scope="module")
def session_token(emu):
    return attest(emu)


def test_hcl_report_in_nv(emu):
    raw = guest.read_hcl_report(emu.env["SKR_EMU_TCTI"])
    rep = hcl.parse(raw)
    assert raw[:4] == b"HCLA"
    assert rep.binding_ok()
    assert rep.key("HCLAkPub")["kty"] == "RSA"


def test_token_claims(emu, session_token):
    jwt, eph = session_token
    h, claims = decode_jws(jwt)
    assert h == {"alg": "RS256", "jku": emu.env["SKR_EMU_MAA"] + "/certs",
                 "kid": h["kid"], "typ": "JWT"}
    certs = emu.req(emu.env["SKR_EMU_MAA"] + "/certs").json()
    from cryptography import x509
    key = [k for k in certs["keys"] if k["kid"] == h["kid"]][0]
    cert = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
    jose.verify_rs256(jwt, cert.public_key())
    assert claims["iss"] == emu.env["SKR_EMU_MAA"]
    assert claims["exp"] - claims["iat"] == 8 * 3600 and claims["nbf"] == claims["iat"]
    assert claims["x-ms-attestation-type"] == "azurevm"
    assert claims["x-ms-azurevm-attested-pcrs"] == list(range(8))
    tee = claims["x-ms-isolation-tee"]
    assert tee["x-ms-attestation-type"] == "sevsnpvm"
    assert tee["x-ms-compliance-status"] == "azure-compliant-cvm"
    assert tee["x-ms-sevsnpvm-is-debuggable"] is False
    assert tee["x-ms-runtime"]["keys"][0]["kid"] == "HCLAkPub"
    rt = claims["x-ms-runtime"]
    assert rt["client-payload"] == {"nonce": base64.b64encode(b"ADE0101").decode()}
    assert rt["keys"][0]["kid"] == "TpmEphemeralEncryptionKey"
    assert rt["keys"][0]["n"] == jose.public_jwk(eph.public_key)["n"]
    sample = json.load(open(__import__("conftest").fixture_path("sampleAttestationToken.json")))
    assert set(sample) - set(claims) == set()
    assert set(sample["x-ms-isolation-tee"]) - set(tee) == set()


def test_envelope_shape(emu):
    """§d.3: {"token": b64url(envelope)}; the envelope's names and values the C++ client library
    requires; RSAES inner key of 256 bytes (RSA-2048 ephemeral key), 12-byte IV, 16-byte tag,
    standard base64."""
    info, eph = evidence(emu)
    r = post_attest(emu, info)
    assert r.status == 200, r
    assert list(r.json()) == ["token"]
    text = r.json()["token"]
    assert "=" not in text and "+" not in text and "/" not in text
    env = json.loads(jose.b64url_decode(text))
    assert sorted(env) == ["AuthenticationData", "EncryptedInnerKey", "EncryptionParams", "Jwt"]
    p = env["EncryptionParams"]
    assert {k: p[k] for k in ("BlockMode", "BlockPadding", "Cipher", "KeySizeInBits")} == \
        {"BlockMode": "ChainingModeGCM", "BlockPadding": "PKCS7", "Cipher": "AES",
         "KeySizeInBits": 256}
    for field, size in ((env["EncryptedInnerKey"], 256), (p["Iv"], 12),
                        (env["AuthenticationData"], 16)):
        assert len(base64.b64decode(field, validate=True)) == size
    jwt = guest.decrypt_envelope(emu.env["SKR_EMU_TCTI"], eph, text)
    assert jwt.count(".") == 2 and len(base64.b64decode(env["Jwt"], validate=True)) == len(jwt)


@pytest.mark.parametrize("enc", ENCS)
@pytest.mark.parametrize("name", ["demo-rsa", "demo-ec", "demo-aes"])
def test_full_flow(emu, session_token, name, enc):
    jwt, eph = session_token
    p = release_and_unwrap(emu, name, jwt, eph, enc)
    assert p["request"]["enc"] == enc


def test_one_attestation_one_release(emu):
    emu.reset_counters()
    jwt, eph = attest(emu)
    release_and_unwrap(emu, "demo-aes", jwt, eph, "RSA_AES_KEY_WRAP_256")
    c = emu.counters()
    assert c["maa-attest-guest"] == 1 and c["akv-release"] == 1


def test_managed_hsm_flow(emu, session_token):
    jwt, eph = session_token
    release_and_unwrap(emu, "hsm-rsa", jwt, eph, "RSA_AES_KEY_WRAP_384", vault="demohsm",
                       base=emu.env["SKR_EMU_MHSM"])


def test_denied_and_nonexportable(emu, session_token):
    jwt, _eph = session_token
    assert emu.release("demo-denied", jwt).status == 403
    assert emu.release("demo-nonexportable", jwt).status == 400


# ---- tampering: MAA answers 400 with an error JSON ------------------------------------------

def _flip(b64text, offset):
    raw = bytearray(guest.b64any_decode(b64text))
    raw[offset % len(raw)] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _proof(info):
    return json.loads(guest.b64any_decode(info["IsolationInfo"]["Evidence"]["Proof"]))


def _set_proof(info, proof):
    info["IsolationInfo"]["Evidence"]["Proof"] = base64.b64encode(
        json.dumps(proof).encode()).decode()


def _tamper_report(offset):
    def fn(info):
        p = _proof(info)
        raw = bytearray(guest.b64any_decode(p["SnpReport"]))
        raw[offset] ^= 0x01
        p["SnpReport"] = guest.b64url(bytes(raw))
        _set_proof(info, p)
    return fn


def _tpm(field, offset):
    def fn(info):
        info["TpmInfo"][field] = _flip(info["TpmInfo"][field], offset)
    return fn


def _pcr_value(info):
    info["TpmInfo"]["PCRs"][0]["Digest"] = base64.b64encode(b"\x11" * 32).decode()


def _runtime(info):
    rt = guest.b64any_decode(info["IsolationInfo"]["Evidence"]["RunTimeData"])
    info["IsolationInfo"]["Evidence"]["RunTimeData"] = base64.b64encode(
        rt.replace(b'"secure-boot":', b'"secure-boot" :')).decode()


TAMPERS = {
    "quote": _tpm("PcrQuote", 40),
    "quote-signature": _tpm("PcrSignature", 20),
    "pcr-value": _pcr_value,
    "report-measurement": _tamper_report(0x90),
    "report-signature": _tamper_report(0x2A0 + 5),
    "runtime-data": _runtime,
    "certify-info": _tpm("EncKeyCertifyInfo", 30),
    "certify-signature": _tpm("EncKeyCertifyInfoSignature", 10),
    "enc-key-pub": _tpm("EncKeyPub", 60),
    "aik-cert": _tpm("AikCert", 200),
}


@pytest.mark.parametrize("what", sorted(TAMPERS))
def test_tampered_evidence_rejected(emu, what):
    info, _eph = evidence(emu)
    TAMPERS[what](info)
    r = post_attest(emu, info)
    assert r.status == 400, (what, r)
    err = r.json()["error"]
    assert isinstance(err["code"], str) and isinstance(err["message"], str)


def test_wrong_api_version_and_garbage(emu):
    info, _eph = evidence(emu)
    r = emu.req(emu.env["SKR_EMU_MAA"] + "/attest/AzureGuest?api-version=2022-08-01", "POST",
                guest.attestation_request_body(info))
    assert r.status == 400 and "error" in r.json()
    r = emu.req(emu.env["SKR_EMU_MAA"] + MAA_PATH, "POST", {"AttestationInfo": "!!"})
    assert r.status == 400 and "error" in r.json()


# ---- policy mismatch through a changed CVM -----------------------------------------------------

def test_debug_cvm_refused(emu):
    emu.cvm_report(debug=True)
    try:
        jwt, eph = attest(emu)
        tee = decode_jws(jwt)[1]["x-ms-isolation-tee"]
        assert tee["x-ms-sevsnpvm-is-debuggable"] is True
        r = emu.release("demo-nodebug", jwt)
        assert r.status == 403 and r.json()["error"]["code"] == "Forbidden"
    finally:
        emu.cvm_report()
    jwt, eph = attest(emu)
    release_and_unwrap(emu, "demo-nodebug", jwt, eph, "RSA_AES_KEY_WRAP_256")


def test_measurement_decides_demo_denied(emu):
    jwt, _eph = attest(emu)
    assert emu.release("demo-denied", jwt).status == 403
    emu.cvm_report(measurement="ff" * 48)
    try:
        jwt, eph = attest(emu)
        release_and_unwrap(emu, "demo-denied", jwt, eph, "CKM_RSA_AES_KEY_WRAP")
    finally:
        emu.cvm_report()


def _policy_key(emu, name, *conditions):
    """An exportable oct-HSM key released only under `conditions` from the emulator's MAA."""
    if emu.kv("GET", "/keys/" + name).status == 200:
        return
    pol = {"version": "1.0.0", "anyOf": [{"authority": emu.env["SKR_EMU_MAA"],
                                          "allOf": list(conditions)}]}
    r = emu.kv("POST", "/keys/%s/create" % name, {
        "kty": "oct-HSM", "key_size": 256, "attributes": {"exportable": True},
        "release_policy": {"data": jose.b64url(json.dumps(pol).encode())}})
    assert r.status == 200, r


def test_tcb_decides_release(emu):
    """A CVM at a lower TCB attests (THIM serves the VCEK of that TCB, as Azure's does), its SVN
    claims say so, and a policy that requires the newer bootloader refuses it."""
    _policy_key(emu, "needs-bl3", {"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-bootloader-svn",
                                   "greaterOrEquals": 3})
    before = thim(emu)
    emu.cvm_report(reported_tcb={"bootloader": 2, "tee": 0, "snp": 8, "microcode": 115})
    try:
        assert thim(emu)["tcbm"] == "7308000000000002" != before["tcbm"]
        jwt, _eph = attest(emu)
        tee = decode_jws(jwt)[1]["x-ms-isolation-tee"]
        assert tee["x-ms-sevsnpvm-bootloader-svn"] == 2
        assert tee["x-ms-sevsnpvm-microcode-svn"] == 115
        r = emu.release("needs-bl3", jwt)
        assert r.status == 403 and r.json()["error"]["code"] == "Forbidden", r
    finally:
        emu.cvm_report()
    assert thim(emu)["tcbm"] == before["tcbm"]
    jwt, eph = attest(emu)
    assert decode_jws(jwt)[1]["x-ms-isolation-tee"]["x-ms-sevsnpvm-bootloader-svn"] == 3
    release_and_unwrap(emu, "needs-bl3", jwt, eph, "RSA_AES_KEY_WRAP_256")


def test_family_and_image_id_decide_release(emu):
    _policy_key(emu, "needs-image",
                {"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-familyId",
                 "equals": "01000000000000000000000000000000"},
                {"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-imageId",
                 "equals": "02000000000000000000000000000000"})
    emu.cvm_report(family_id="aa" * 16, image_id="bb" * 16)
    try:
        jwt, _eph = attest(emu)
        tee = decode_jws(jwt)[1]["x-ms-isolation-tee"]
        assert tee["x-ms-sevsnpvm-familyId"] == "aa" * 16
        assert tee["x-ms-sevsnpvm-imageId"] == "bb" * 16
        assert emu.release("needs-image", jwt).status == 403
    finally:
        emu.cvm_report()
    jwt, eph = attest(emu)
    release_and_unwrap(emu, "needs-image", jwt, eph, "CKM_RSA_AES_KEY_WRAP")


# ---- MAA faults seen by the release ------------------------------------------------------------

@pytest.mark.parametrize("kind,status", [("bad-signature", 400), ("expired", 400),
                                         ("wrong-issuer", 403)])
def test_maa_token_faults(emu, kind, status):
    maa_key = pem_public_key(emu.dir + "/pki/maa-signing.crt")
    emu.fault("maa-attest-guest", kind, count=1)
    jwt, _eph = attest(emu)
    assert_token_fault(jwt, kind, maa_key, emu.env["SKR_EMU_MAA"])
    r = emu.release("demo-rsa", jwt)
    assert r.status == status and "error" in r.json(), r
    jwt, _eph = attest(emu)
    assert_token_clean(jwt, maa_key, emu.env["SKR_EMU_MAA"])
    assert emu.release("demo-rsa", jwt).status == 200


def test_sevsnpvm_platform_attestation(emu):
    """SevSnpVm (§d.4): an SNP report signed with the test VCEK, runtime JSON bound by
    report_data, plain JWT with flat claims (§e.2)."""
    import hashlib
    import os
    from skremu import snp
    chain = snp.AmdChain.load(os.path.join(emu.dir, "amd"))
    runtime = json.dumps({"keys": [{"kid": "HCLTransferKey", "kty": "RSA", "e": "AQAB",
                                    "n": "AQAB", "key_ops": ["encrypt"]}]}).encode()
    rep = snp.SnpReport(report_data=hashlib.sha256(runtime).digest() + b"\0" * 32,
                        reported_tcb=chain.tcb, current_tcb=chain.tcb, chip_id=chain.chip_id)
    raw = chain.sign_report(rep)
    report = jose.b64url(json.dumps({"SnpReport": jose.b64url(raw), "VcekCertChain": jose.b64url(
        (chain.vcek_pem() + chain.chain_pem()).encode())}).encode())
    body = {"report": report, "runtimeData": {"data": jose.b64url(runtime), "dataType": "JSON"},
            "nonce": "noncesevsnp987"}
    r = emu.req(emu.env["SKR_EMU_MAA"] + "/attest/SevSnpVm?api-version=2022-08-01", "POST", body)
    assert r.status == 200, r
    h, claims = decode_jws(r.json()["token"])
    assert list(h) == ["alg", "jku", "kid", "typ"] and h["alg"] == "RS256"
    jose.verify_rs256(r.json()["token"], pem_public_key(emu.dir + "/pki/maa-signing.crt"))
    assert claims["x-ms-attestation-type"] == "sevsnpvm"
    assert claims["x-ms-compliance-status"] == "azure-compliant-cvm"
    assert claims["nonce"] == "noncesevsnp987"
    assert claims["iss"] == emu.env["SKR_EMU_MAA"] and claims["x-ms-ver"] == "1.0"
    assert claims["exp"] - claims["iat"] == 8 * 3600 and "x-ms-policy-hash" in claims
    assert "x-ms-isolation-tee" not in claims          # flat claims (§e.2), not AzureGuest's
    assert claims["x-ms-sevsnpvm-bootloader-svn"] == snp.tcb_parts(chain.tcb)["bootloader"]
    sample = json.load(open(__import__("conftest").fixture_path("sampleAttestationToken.json")))
    assert {k for k in sample["x-ms-isolation-tee"] if k.startswith("x-ms-sevsnpvm-")} <= \
        set(claims)
    assert claims["x-ms-runtime"]["keys"][0]["kid"] == "HCLTransferKey"
    assert claims["x-ms-sevsnpvm-reportdata"].startswith(hashlib.sha256(runtime).hexdigest())
    body["runtimeData"]["data"] = jose.b64url(runtime + b" ")
    r = emu.req(emu.env["SKR_EMU_MAA"] + "/attest/SevSnpVm?api-version=2022-08-01", "POST", body)
    assert r.status == 400 and "error" in r.json()
