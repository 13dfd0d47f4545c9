# SPDX-License-Identifier: Apache-2.0
"""SNP/HCL builders and parsers, on our own reports and on the real Azure fixtures (no TPM)."""
import hashlib
import json

import pytest

from conftest_cvm import amd_chain, fixture_bytes  # noqa: F401
from skremu import hcl, snp


def _thim_fixture():
    return json.loads(fixture_bytes("uvm_host_amd_certificate.json"))


def _sample_tee():
    return json.loads(fixture_bytes("sampleAttestationToken.json"))["x-ms-isolation-tee"]


def test_snp_round_trip_and_signature(amd_chain):
    rep = snp.SnpReport(measurement="ab" * 48, host_data=b"\x11" * 32, vmpl=1, guest_svn=7,
                        family_id="01", image_id="02", report_data=b"r" * 64, debug=True,
                        migrate=True, smt=False, chip_id=amd_chain.chip_id,
                        reported_tcb=dict(bootloader=3, tee=1, snp=8, microcode=115))
    raw = amd_chain.sign_report(rep)
    assert len(raw) == 1184
    back = snp.SnpReport.parse(raw)
    assert back.to_bytes() == raw
    assert back.measurement == bytes.fromhex("ab" * 48) and back.vmpl == 1
    assert back.policy & snp.POLICY_DEBUG and back.policy & snp.POLICY_MIGRATE_MA
    assert not back.policy & snp.POLICY_SMT
    r, s = back.signature_rs()
    assert raw[0x2A0:0x2A0 + 72] == r.to_bytes(72, "little")
    assert raw[0x2A0 + 72:0x2A0 + 144] == s.to_bytes(72, "little")
    assert raw[0x2A0 + 144:] == b"\0" * 368
    snp.verify_report_signature(raw, amd_chain.vcek.public_key())
    claims = snp.snp_claims(back)
    assert claims["x-ms-sevsnpvm-is-debuggable"] is True
    assert claims["x-ms-sevsnpvm-tee-svn"] == 1 and claims["x-ms-sevsnpvm-vmpl"] == 1
    tampered = bytearray(raw)
    tampered[0x90] ^= 1
    with pytest.raises(snp.SnpError):
        snp.verify_report_signature(bytes(tampered), amd_chain.vcek.public_key())


def test_real_snp_report_verifies_with_real_vcek_chain():
    raw = fixture_bytes("snp_report.bin")
    thim = _thim_fixture()
    ark = snp.split_pem_chain(thim["certificateChain"])[1]
    rep = snp.verify_report_with_chain(raw, thim["vcekCert"] + thim["certificateChain"], ark)
    assert rep.version == 2 and rep.vmpl == 0 and rep.signature_algo == 1
    assert snp.tcbm(rep.current_tcb) == thim["tcbm"] == snp.tcbm(rep.reported_tcb)
    assert snp.SnpReport.parse(raw).to_bytes() == raw
    tampered = bytearray(raw)
    tampered[0x2A0] ^= 1
    with pytest.raises(snp.SnpError):
        snp.verify_report_with_chain(bytes(tampered), thim["vcekCert"] + thim["certificateChain"],
                                     ark)


def test_real_vcek_refused_under_a_foreign_ark(amd_chain):
    thim = _thim_fixture()
    with pytest.raises(snp.SnpError):
        snp.verify_vcek_chain(thim["vcekCert"] + thim["certificateChain"], amd_chain.ark_pem())
    with pytest.raises(snp.SnpError):
        snp.verify_vcek_chain(amd_chain.vcek_pem() + amd_chain.chain_pem(),
                              snp.split_pem_chain(thim["certificateChain"])[1])


def test_claims_match_the_real_sample_token_names_and_types():
    sample = {k: v for k, v in _sample_tee().items() if k.startswith("x-ms-sevsnpvm-")}
    ours = snp.snp_claims(fixture_bytes("snp_report.bin"))
    assert list(sorted(ours)) == list(sorted(sample))
    for name, value in sample.items():
        assert type(ours[name]) is type(value), name
        if isinstance(value, str):
            assert len(ours[name]) == len(value) and ours[name] == ours[name].lower(), name


def test_thim_shape_matches_the_recording(amd_chain):
    real = _thim_fixture()
    ours = amd_chain.thim_json()
    assert list(ours) == list(real)
    assert all(isinstance(ours[k], str) for k in ours)
    assert ours["cacheControl"] == real["cacheControl"]
    assert len(ours["tcbm"]) == 16 and int(ours["tcbm"], 16) == amd_chain.tcb
    assert ours["vcekCert"].startswith("-----BEGIN CERTIFICATE-----\n")
    assert ours["vcekCert"].endswith("-----END CERTIFICATE-----\n")
    ask, ark = snp.split_pem_chain(ours["certificateChain"])
    assert ark.subject == ark.issuer and ask.issuer == ark.subject
    vcek = snp.verify_vcek_chain(ours["vcekCert"] + ours["certificateChain"], amd_chain.ark_pem())
    tcb_value, hwid = snp.vcek_tcb_and_hwid(vcek)
    assert tcb_value == amd_chain.tcb and hwid == amd_chain.chip_id
    real_ext = {e.oid.dotted_string for e in snp.split_pem_chain(real["vcekCert"])[0].extensions}
    our_ext = {e.oid.dotted_string for e in vcek.extensions}
    assert real_ext <= our_ext


def test_chain_save_load(tmp_path, amd_chain):
    amd_chain.save(str(tmp_path / "amd"))
    back = snp.AmdChain.load(str(tmp_path / "amd"))
    raw = back.sign_report(snp.SnpReport(chip_id=back.chip_id, reported_tcb=back.tcb))
    snp.verify_report_with_chain(raw, amd_chain.vcek_pem() + amd_chain.chain_pem(),
                                 amd_chain.ark_pem())


def test_real_tdx_hcl_report_parses_and_binds():
    raw = fixture_bytes("snp_hcl_report.bin")
    rep = hcl.parse(raw)
    assert len(raw) == 2600 and rep.version == 2 and rep.report_size == 2418
    assert rep.request_type == hcl.REQUEST_AK_CERT and rep.report_type == hcl.REPORT_TYPE_TDX
    assert rep.hash_type == hcl.HASH_SHA256 and len(rep.var_data) == 1182
    assert len(rep.hw_raw) == 1024 and rep.hw_raw[0] == 0x81
    assert rep.binding_ok()
    assert [k["kid"] for k in rep.runtime["keys"]] == ["HCLAkPub", "HCLEkPub"]
    assert list(rep.runtime) == ["keys", "vm-configuration", "user-data"]
    bad = bytearray(raw)
    bad[hcl.VARDATA_OFFSET + 10] ^= 1
    assert not hcl.parse(bytes(bad)).binding_ok()


def test_hcl_build_matches_the_real_layout(amd_chain):
    real = hcl.parse(fixture_bytes("snp_hcl_report.bin"))
    var = hcl.runtime_json(real.runtime["keys"], real.runtime["vm-configuration"],
                           bytes.fromhex(real.runtime["user-data"]))
    assert var == real.var_data            # compact JSON in the real key order, byte for byte
    rep = snp.SnpReport(report_data=hcl.report_data_for(var), chip_id=amd_chain.chip_id)
    with pytest.raises(hcl.HclError):      # with HCLEkPub it does not fit swtpm's 2048 bytes
        hcl.build(amd_chain.sign_report(rep), var, pad_to=2048)
    raw = hcl.build(amd_chain.sign_report(rep), var, pad_to=2600)
    assert len(raw) == 2600
    back = hcl.parse(raw)
    assert back.report_type == hcl.REPORT_TYPE_SNP and back.binding_ok()
    assert back.report_size == hcl.VARDATA_OFFSET + len(var)
    assert back.hw_raw == rep.to_bytes()
    assert back.report_data[:32] == hashlib.sha256(var).digest()
    with pytest.raises(hcl.HclError):
        hcl.parse(b"HCLB" + raw[4:])
    with pytest.raises(hcl.HclError):
        hcl.build(rep.to_bytes(), var + b" " * 1000, pad_to=2048)
