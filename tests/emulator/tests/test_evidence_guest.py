# SPDX-License-Identifier: Apache-2.0
"""MAA's evidence checks (skremu.evidence) on evidence the simulated CVM produces (guest.py),
and every tampering refused."""
import base64
import copy
import json
import os
import struct

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from conftest_cvm import AkCa, ak_ca, amd_chain, cvm, fixture_bytes, start_cvm  # noqa: F401
from skremu import evidence, guest, hcl, snp


@pytest.fixture
def attested(cvm, amd_chain, ak_ca):
    info, eph = guest.build_attestation_info(cvm.tcti, amd_chain.thim_json(), nonce="ADE0101")
    return cvm, info, eph


def _verify(info, amd_chain, ak_ca):
    return evidence.verify_azure_guest(info, amd_chain.ark_pem(), ak_ca.pem)


def test_evidence_accepted_and_claims(attested, amd_chain, ak_ca):
    c, info, eph = attested
    wire = guest.attestation_request_body(info)
    decoded = json.loads(guest.b64any_decode(wire["AttestationInfo"]))
    res = _verify(decoded, amd_chain, ak_ca)
    tee = res.isolation_tee
    assert tee["x-ms-attestation-type"] == "sevsnpvm"
    assert tee["x-ms-compliance-status"] == "azure-compliant-cvm"
    assert tee["x-ms-sevsnpvm-is-debuggable"] is False
    sample = json.loads(fixture_bytes("sampleAttestationToken.json"))["x-ms-isolation-tee"]
    assert set(tee) == set(sample)
    assert tee["x-ms-runtime"]["keys"][0]["kid"] == "HCLAkPub"
    assert tee["x-ms-runtime"]["keys"][0]["key_ops"] == ["encrypt"]
    assert tee["x-ms-runtime"]["vm-configuration"] == c.config["vm_configuration"]
    assert res.ephemeral_jwk == {"kid": "TpmEphemeralEncryptionKey", "kty": "RSA",
                                 "e": "AQAB", "n": hcl.b64url_uint(
                                     eph.public_key.public_numbers().n),
                                 "key_ops": ["encrypt"]}
    assert res.ephemeral_key.public_numbers() == eph.public_key.public_numbers()
    assert sorted(res.pcrs) == list(range(8)) and res.attested_pcrs == list(range(8))
    assert res.client_payload == {"nonce": base64.b64encode(b"ADE0101").decode()}
    assert res.os["OSType"] == "Linux" and res.os["OSVersionMajor"] == 12


def test_alternative_encodings_accepted(attested, amd_chain, ak_ca):
    _, info, _ = attested
    alt = copy.deepcopy(info)
    for key, val in alt["TpmInfo"].items():
        if isinstance(val, str):
            alt["TpmInfo"][key] = base64.urlsafe_b64encode(
                guest.b64any_decode(val)).decode().rstrip("=")
    ev = alt["IsolationInfo"]["Evidence"]
    ev["Proof"] = guest.b64url(guest.b64any_decode(ev["Proof"]))
    alt["ClientPayload"] = {"nonce": "ADE0101"}
    res = _verify(alt, amd_chain, ak_ca)
    assert res.client_payload == {"nonce": "ADE0101"}


def _flip(b64text, offset):
    raw = bytearray(guest.b64any_decode(b64text))
    raw[offset % len(raw)] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def _proof(info):
    return json.loads(guest.b64any_decode(info["IsolationInfo"]["Evidence"]["Proof"]))


def _set_proof(info, proof):
    info["IsolationInfo"]["Evidence"]["Proof"] = base64.b64encode(
        json.dumps(proof).encode()).decode()


def _tamper_report_field(info):
    proof = _proof(info)
    raw = bytearray(guest.b64any_decode(proof["SnpReport"]))
    raw[0x90] ^= 1                       # measurement
    proof["SnpReport"] = guest.b64url(bytes(raw))
    _set_proof(info, proof)


def _tamper_report_signature(info):
    proof = _proof(info)
    raw = bytearray(guest.b64any_decode(proof["SnpReport"]))
    raw[0x2A0 + 5] ^= 1
    proof["SnpReport"] = guest.b64url(bytes(raw))
    _set_proof(info, proof)


def _tamper_runtime(info):
    ev = info["IsolationInfo"]["Evidence"]
    rt = json.loads(guest.b64any_decode(ev["RunTimeData"]))
    rt["vm-configuration"]["secure-boot"] = not rt["vm-configuration"]["secure-boot"]
    ev["RunTimeData"] = base64.b64encode(json.dumps(rt, separators=(",", ":")).encode()).decode()


def _tamper_pcr_value(info):
    info["TpmInfo"]["PCRs"][3]["Digest"] = _flip(info["TpmInfo"]["PCRs"][3]["Digest"], 0)


def _tamper_pcr_set(info):
    info["TpmInfo"]["PcrSet"] = list(range(7))


def _foreign_vcek_chain(info):
    other = snp.AmdChain.generate(chip_id=b"\0" * 64)
    proof = _proof(info)
    proof["VcekCertChain"] = guest.b64((other.vcek_pem() + other.chain_pem()).encode())
    _set_proof(info, proof)


def _report_for_other_tcb(info):
    proof = _proof(info)
    raw = bytearray(guest.b64any_decode(proof["SnpReport"]))
    raw[0x1A0] ^= 1                       # chip id: VCEK hwid no longer matches (and sig fails)
    proof["SnpReport"] = guest.b64url(bytes(raw))
    _set_proof(info, proof)


TAMPERS = {
    "quote": (lambda i: i["TpmInfo"].__setitem__("PcrQuote", _flip(i["TpmInfo"]["PcrQuote"], 40)),
              "InvalidQuote"),
    "quote-signature": (lambda i: i["TpmInfo"].__setitem__(
        "PcrSignature", _flip(i["TpmInfo"]["PcrSignature"], 20)), "InvalidQuote"),
    "pcr-value": (_tamper_pcr_value, "InvalidQuote"),
    "pcr-set": (_tamper_pcr_set, "InvalidQuote"),
    "report-field": (_tamper_report_field, "InvalidReport"),
    "report-signature": (_tamper_report_signature, "InvalidReport"),
    "report-chip-id": (_report_for_other_tcb, "InvalidReport"),
    "vcek-chain-foreign-ark": (_foreign_vcek_chain, "InvalidReport"),
    "runtime-data": (_tamper_runtime, "InvalidRuntimeData"),
    "certify-info": (lambda i: i["TpmInfo"].__setitem__(
        "EncKeyCertifyInfo", _flip(i["TpmInfo"]["EncKeyCertifyInfo"], 60)), "InvalidCertifyInfo"),
    "certify-signature": (lambda i: i["TpmInfo"].__setitem__(
        "EncKeyCertifyInfoSignature", _flip(i["TpmInfo"]["EncKeyCertifyInfoSignature"], 9)),
        "InvalidCertifyInfo"),
    "not-base64": (lambda i: i["TpmInfo"].__setitem__("AikPub", "!!"), "InvalidParameter"),
}


@pytest.mark.parametrize("name", sorted(TAMPERS))
def test_tampering_refused(attested, amd_chain, ak_ca, name):
    _, info, _ = attested
    bad = copy.deepcopy(info)
    fn, code = TAMPERS[name]
    fn(bad)
    with pytest.raises(evidence.EvidenceError) as exc:
        _verify(bad, amd_chain, ak_ca)
    assert exc.value.code == code, exc.value.message


def test_other_ephemeral_key_refused(attested, amd_chain, ak_ca, tmp_path):
    c, info, _ = attested
    info2, _ = guest.build_attestation_info(c.tcti, amd_chain.thim_json(), pcrs=range(4))
    bad = copy.deepcopy(info)
    bad["TpmInfo"]["EncKeyPub"] = info2["TpmInfo"]["EncKeyPub"]
    with pytest.raises(evidence.EvidenceError) as exc:
        _verify(bad, amd_chain, ak_ca)
    assert exc.value.code == "InvalidCertifyInfo"


def test_wrong_ak_refused(attested, amd_chain, ak_ca, tmp_path):
    """TPM evidence of another CVM (its own consistent AK) with this CVM's HCL report."""
    _, info, _ = attested
    other = start_cvm(tmp_path / "other", amd_chain, ak_ca)
    try:
        info2, _ = guest.build_attestation_info(other.tcti, amd_chain.thim_json())
    finally:
        other.stop()
    mixed = copy.deepcopy(info2)
    mixed["IsolationInfo"] = info["IsolationInfo"]
    with pytest.raises(evidence.EvidenceError) as exc:
        _verify(mixed, amd_chain, ak_ca)
    assert exc.value.code == "InvalidAikPub"
    half = copy.deepcopy(info)
    half["TpmInfo"]["AikPub"] = info2["TpmInfo"]["AikPub"]     # quote no longer verifies
    with pytest.raises(evidence.EvidenceError):
        _verify(half, amd_chain, ak_ca)


def test_ak_cert_from_another_ca_refused(attested, amd_chain):
    _, info, _ = attested
    with pytest.raises(evidence.EvidenceError) as exc:
        evidence.verify_azure_guest(info, amd_chain.ark_pem(), AkCa("other").pem)
    assert exc.value.code == "InvalidAikCert"


def test_debug_cvm_is_reported_not_refused(tmp_path, amd_chain, ak_ca):
    c = start_cvm(tmp_path / "dbg", amd_chain, ak_ca, {"debug": True})
    try:
        info, _ = guest.build_attestation_info(c.tcti, amd_chain.thim_json())
    finally:
        c.stop()
    res = _verify(info, amd_chain, ak_ca)
    assert res.isolation_tee["x-ms-sevsnpvm-is-debuggable"] is True


def test_envelope_and_key_hsm_unwrap_in_the_tpm(attested, amd_chain, ak_ca):
    c, info, eph = attested
    res = _verify(info, amd_chain, ak_ca)
    key, iv = os.urandom(32), os.urandom(12)
    sealed = AESGCM(key).encrypt(iv, b"h.p.s", b"Transport Key")
    env = {"EncryptedInnerKey": guest.b64(res.ephemeral_key.encrypt(key, padding.PKCS1v15())),
           "EncryptionParams": {"BlockMode": "ChainingModeGCM", "BlockPadding": "PKCS7",
                                "Cipher": "AES", "KeySizeInBits": 256, "Iv": guest.b64(iv)},
           "AuthenticationData": guest.b64(sealed[-16:]), "Jwt": guest.b64(sealed[:-16])}
    token = guest.b64url(json.dumps(env).encode())
    assert guest.decrypt_envelope(c.tcti, eph, token) == "h.p.s"
    for enc, h in (("CKM_RSA_AES_KEY_WRAP", hashes.SHA1()),
                   ("RSA_AES_KEY_WRAP_256", hashes.SHA256()),
                   ("RSA_AES_KEY_WRAP_384", hashes.SHA384())):
        kek, secret = os.urandom(32), os.urandom(37)
        c1 = res.ephemeral_key.encrypt(kek, padding.OAEP(padding.MGF1(h), h, None))
        key_hsm = {"schema_version": "1.0",
                   "header": {"kid": "TpmEphemeralEncryptionKey", "alg": "dir", "enc": enc},
                   "ciphertext": guest.b64url(c1 + aes_key_wrap_with_padding(kek, secret))}
        assert guest.tpm_unwrap_key_hsm(c.tcti, eph, key_hsm) == secret
        packed = guest.b64url(json.dumps(key_hsm).encode())
        assert guest.tpm_unwrap_key_hsm(c.tcti, eph, packed) == secret


def _platform_request(amd_chain, runtime, **fields):
    rep = snp.SnpReport(chip_id=amd_chain.chip_id, reported_tcb=amd_chain.tcb,
                        report_data=hcl.report_data_for(runtime), **fields)
    doc = {"SnpReport": guest.b64url(amd_chain.sign_report(rep)),
           "VcekCertChain": guest.b64url((amd_chain.vcek_pem() + amd_chain.chain_pem()).encode())}
    return guest.b64url(json.dumps(doc).encode())


def test_snp_platform(amd_chain):
    runtime = json.dumps({"keys": [{"kid": "k", "kty": "RSA", "e": "AQAB", "n": "AQ"}]}).encode()
    report = _platform_request(amd_chain, runtime, host_data="33" * 32)
    claims = evidence.verify_snp_platform(report, runtime, amd_chain.ark_pem())
    assert claims["x-ms-sevsnpvm-hostdata"] == "33" * 32
    assert claims["x-ms-runtime"]["keys"][0]["kid"] == "k"
    with pytest.raises(evidence.EvidenceError) as exc:
        evidence.verify_snp_platform(report, runtime + b" ", amd_chain.ark_pem())
    assert exc.value.code == "InvalidRuntimeData"
    other = snp.AmdChain.generate()
    with pytest.raises(evidence.EvidenceError) as exc:
        evidence.verify_snp_platform(report, runtime, other.ark_pem())
    assert exc.value.code == "InvalidReport"


def test_tpm_structure_parsers_refuse_garbage():
    with pytest.raises(evidence.EvidenceError):
        evidence.TpmAttest(b"\xff\x54\x43\x47" + b"\x80\x18", "x")
    with pytest.raises(evidence.EvidenceError):
        evidence.parse_tpmt_signature(struct.pack(">HH", 0x0018, 0x000B), "x")
    with pytest.raises(evidence.EvidenceError):
        evidence.TpmPublic.parse_tpm2b(struct.pack(">H", 4) + b"\0\x01\0\x0b", "x")
