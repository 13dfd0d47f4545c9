# SPDX-License-Identifier: Apache-2.0
"""The provisioned swtpm looks like an Azure SEV-SNP CVM's vTPM (spec §h, §i)."""
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding

from conftest_cvm import ak_ca, amd_chain, cvm, start_cvm  # noqa: F401
from skremu import cvm as cvm_mod
from skremu import guest, hcl, snp


def test_handles_and_nv_indexes(cvm):
    with cvm.esapi(direct=False) as ectx:
        for h in (cvm_mod.SRK_HANDLE, cvm_mod.AK_HANDLE, cvm_mod.NV_AK_CERT,
                  cvm_mod.NV_HCL_REPORT):
            assert cvm_mod.handle_exists(ectx, h), hex(h)
        ak_pub, _, _ = ectx.read_public(ectx.tr_from_tpmpublic(cvm_mod.AK_HANDLE))
        assert int(ak_pub.publicArea.objectAttributes) == cvm_mod.AK_ATTRS
        assert ak_pub.publicArea.parameters.rsaDetail.keyBits == 2048
        attrs = int(ak_pub.publicArea.objectAttributes)
        assert attrs & 0x10000 and attrs & 0x40000          # TPMA_OBJECT restricted | sign
        assert not attrs & 0x20000                          # not a decryption key
        nv_pub, _ = ectx.nv_read_public(ectx.tr_from_tpmpublic(cvm_mod.NV_HCL_REPORT))
        assert nv_pub.nvPublic.dataSize == 2048
        ak_cert = cvm_mod.nv_read_all(ectx, cvm_mod.NV_AK_CERT)
    assert cvm.tcti == "swtpm:host=127.0.0.1,port=%d" % cvm.port
    cert = x509.load_der_x509_certificate(ak_cert)
    assert cert.public_key().public_numbers() == \
        cvm_mod.rsa_public_from_tpm(ak_pub).public_numbers()


def test_ak_cert_issued_by_the_ak_ca(cvm, ak_ca):
    cert = x509.load_der_x509_certificate(cvm.config["ak_cert_der"])
    ak_ca.key.public_key().verify(cert.signature, cert.tbs_certificate_bytes,
                                  padding.PKCS1v15(), cert.signature_hash_algorithm)
    assert cert.issuer == ak_ca.cert.subject


def test_hcl_report_in_nv(cvm, amd_chain):
    raw = guest.read_hcl_report(cvm.tcti)
    assert len(raw) == 2048
    rep = hcl.parse(raw)
    assert rep.version == 2 and rep.report_type == hcl.REPORT_TYPE_SNP
    assert rep.binding_ok()
    assert list(rep.runtime) == ["keys", "vm-configuration", "user-data"]
    assert [k["kid"] for k in rep.runtime["keys"]] == ["HCLAkPub"]
    akjwk = rep.key("HCLAkPub")
    assert list(akjwk) == ["kid", "key_ops", "kty", "e", "n"] and akjwk["key_ops"] == ["sign"]
    assert akjwk["n"] == hcl.b64url_uint(cvm.config["ak_public"].public_numbers().n)
    assert rep.runtime["user-data"] == "0" * 128
    snp_rep = snp.verify_report_with_chain(rep.hw_raw, amd_chain.vcek_pem() +
                                           amd_chain.chain_pem(), amd_chain.ark_pem())
    assert snp_rep.report_data[:32] == hashlib.sha256(rep.var_data).digest()
    assert not snp_rep.is_debuggable and snp_rep.chip_id == amd_chain.chip_id


def test_settable_report_fields(tmp_path, amd_chain, ak_ca):
    c = start_cvm(tmp_path / "dbg", amd_chain, ak_ca,
                  {"debug": True, "measurement": "11" * 48, "vmpl": 2, "host_data": "22" * 32,
                   "family_id": "33" * 16, "image_id": "44" * 16,
                   "reported_tcb": {"bootloader": 1, "tee": 2, "snp": 7, "microcode": 99}})
    try:
        rep = hcl.parse(guest.read_hcl_report(c.tcti))
    finally:
        c.stop()
    claims = snp.snp_claims(rep.hw_raw)
    assert claims["x-ms-sevsnpvm-is-debuggable"] is True
    assert claims["x-ms-sevsnpvm-launchmeasurement"] == "11" * 48
    assert claims["x-ms-sevsnpvm-vmpl"] == 2 and claims["x-ms-sevsnpvm-hostdata"] == "22" * 32
    assert claims["x-ms-sevsnpvm-familyId"] == "33" * 16
    assert claims["x-ms-sevsnpvm-imageId"] == "44" * 16
    assert (claims["x-ms-sevsnpvm-bootloader-svn"], claims["x-ms-sevsnpvm-tee-svn"],
            claims["x-ms-sevsnpvm-snpfw-svn"], claims["x-ms-sevsnpvm-microcode-svn"]) == \
        (1, 2, 7, 99)
    assert rep.binding_ok()
    snp.verify_report_signature(rep.hw_raw, amd_chain.vcek.public_key())


def test_user_data_write_regenerates_the_report(cvm, amd_chain):
    before = hcl.parse(guest.read_hcl_report(cvm.tcti))
    data = hashlib.sha512(b"nonce").digest()
    guest.write_user_data(cvm.tcti, data)
    after = hcl.parse(guest.read_hcl_report(cvm.tcti))
    assert after.runtime["user-data"] == data.hex().upper()
    assert after.binding_ok() and after.report_data != before.report_data
    assert after.runtime["keys"] == before.runtime["keys"]
    snp.verify_report_with_chain(after.hw_raw, amd_chain.vcek_pem() + amd_chain.chain_pem(),
                                 amd_chain.ark_pem())
    data2 = bytes(range(64))
    guest.write_user_data(cvm.tcti, data2)
    assert hcl.parse(guest.read_hcl_report(cvm.tcti)).runtime["user-data"] == data2.hex().upper()


def test_stop_ends_swtpm(tmp_path, amd_chain, ak_ca):
    import os
    c = start_cvm(tmp_path / "stop", amd_chain, ak_ca)
    pid = c.pid
    c.stop()
    try:
        os.kill(pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive
