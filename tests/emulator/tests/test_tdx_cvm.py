# SPDX-License-Identifier: Apache-2.0
"""`skr-emulator up DIR --cvm tdx`: the simulated TDX CVM end to end from Python (guest.py).
HCL report with a TD report (ReportType 4) in NV, IMDS /acc/tdquote, MAA AzureGuest with
IsolationInfo.Type "Tdx" (quote verified, REPORTDATA bound to the runtime data), tdxvm claims,
release of the demo keys (policy examples/policies/any-cvm.json), refusal of SEV-SNP-only
policies, evidence tampering, user-data refresh and report overrides."""
import base64
import hashlib
import json
import os
import subprocess

import pytest
from cryptography.hazmat.primitives import serialization

from conftest import ROOT, Emu
from helpers import check_released, decode_jws
from skremu import guest, hcl, jose, tdx

MAA_PATH = "/attest/AzureGuest?api-version=2020-10-01"
EXAMPLES = os.path.join(ROOT, "..", "..", "examples", "policies")


@pytest.fixture(scope="module")
def tdx_emu(tmp_path_factory):
    d = tmp_path_factory.mktemp("skr-emu-tdx")
    exe = os.path.join(ROOT, "skr-emulator")
    subprocess.run([exe, "up", str(d), "--cvm", "tdx"], check=True, stdout=subprocess.DEVNULL)
    try:
        yield Emu(d)
    finally:
        subprocess.run([exe, "down", str(d)], check=False)


@pytest.fixture(autouse=True)
def _clean_tdx_faults(request):
    yield
    if "tdx_emu" in request.fixturenames:
        request.getfixturevalue("tdx_emu").clear_faults()


def quote_key(emu):
    with open(os.path.join(emu.dir, "tdx", "quote-key.pub.pem"), "rb") as f:
        return serialization.load_pem_public_key(f.read())


def post_tdquote(emu, body):
    return emu.req(emu.env["SKR_EMU_IMDS"] + "/acc/tdquote", "POST", body)


def tdquote_fn(emu):
    def fetch(td_report):
        r = post_tdquote(emu, {"report": guest.b64url(td_report)})
        assert r.status == 200, r
        return guest.b64any_decode(r.json()["quote"])
    return fetch


def evidence(emu, nonce="ADE0101"):
    return guest.build_attestation_info(emu.env["SKR_EMU_TCTI"], None, nonce=nonce,
                                        tdquote=tdquote_fn(emu))


def post_attest(emu, info):
    return emu.req(emu.env["SKR_EMU_MAA"] + MAA_PATH, "POST",
                   guest.attestation_request_body(info))


def attest(emu, nonce="ADE0101"):
    info, eph = evidence(emu, nonce)
    r = post_attest(emu, info)
    assert r.status == 200, r
    return guest.decrypt_envelope(emu.env["SKR_EMU_TCTI"], eph, r.json()["token"]), eph


@pytest.fixture(scope="module")
def tdx_token(tdx_emu):
    return attest(tdx_emu)


def test_env_and_info_name_the_tdx_cvm(tdx_emu):
    assert tdx_emu.env["SKR_EMU_CVM"] == "tdx"
    assert tdx_emu.admin("GET", "/info")["cvm"] == "tdx"
    with open(os.path.join(tdx_emu.dir, "cvm", "cvm.json"), encoding="utf-8") as f:
        assert json.load(f)["tee"] == "tdx"


def test_hcl_report_holds_a_bound_td_report(tdx_emu):
    raw = guest.read_hcl_report(tdx_emu.env["SKR_EMU_TCTI"])
    assert len(raw) <= 2048                      # libtpms' NV index cap
    rep = hcl.parse(raw)
    assert rep.report_type == hcl.REPORT_TYPE_TDX and rep.hash_type == hcl.HASH_SHA256
    assert rep.hw_report[tdx.TD_REPORT_SIZE:] == b"\0" * (hcl.HW_SIZE - tdx.TD_REPORT_SIZE)
    td = tdx.check_report(rep.hw_raw)
    assert td.report_data == hashlib.sha256(rep.var_data).digest() + b"\0" * 32
    assert rep.binding_ok()
    assert rep.key("HCLAkPub")["kty"] == "RSA"
    assert td.attributes == b"\0" * 8            # not debuggable by default


def test_tdquote_binds_the_report(tdx_emu):
    rep = hcl.parse(guest.read_hcl_report(tdx_emu.env["SKR_EMU_TCTI"]))
    for encode in (guest.b64url, guest.b64):     # ITA sends standard b64 (spec §a')
        r = post_tdquote(tdx_emu, {"report": encode(rep.hw_raw)})
        assert r.status == 200, r
        quote = guest.b64any_decode(r.json()["quote"])
        assert tdx.verify_fake_quote(quote, quote_key(tdx_emu)) == rep.report_data
        assert tdx.quote_body_fields(quote)["mrtd"] == tdx.TdReport.parse(rep.hw_raw).mrtd


def test_tdquote_refuses_bad_reports(tdx_emu):
    rep = hcl.parse(guest.read_hcl_report(tdx_emu.env["SKR_EMU_TCTI"]))
    forged = bytearray(rep.hw_raw)
    forged[tdx.REPORT_DATA_OFFSET] ^= 1           # REPORTDATA changed without the MAC
    for body in ({"report": guest.b64url(bytes(forged))}, {"report": "!!"}, {"report": 7},
                 {"nope": 1}, {"report": guest.b64url(rep.hw_raw[:512])}):
        r = post_tdquote(tdx_emu, body)
        assert r.status == 400, (body, r)
        assert r.json()["error"] == "invalid_request"


def test_snp_emulator_serves_no_tdquote(emu):
    assert emu.env["SKR_EMU_CVM"] == "snp"
    r = emu.req(emu.env["SKR_EMU_IMDS"] + "/acc/tdquote", "POST", {"report": "AA"})
    assert r.status == 404


def test_token_claims_are_tdxvm(tdx_emu, tdx_token):
    jwt, eph = tdx_token
    _h, claims = decode_jws(jwt)
    assert claims["x-ms-attestation-type"] == "azurevm"
    tee = claims["x-ms-isolation-tee"]
    assert tee["x-ms-attestation-type"] == "tdxvm"
    assert tee["x-ms-compliance-status"] == "azure-compliant-cvm"
    assert not [k for k in tee if k.startswith("x-ms-sevsnpvm")]
    rep = hcl.parse(guest.read_hcl_report(tdx_emu.env["SKR_EMU_TCTI"]))
    td = tdx.TdReport.parse(rep.hw_raw)
    assert tee["tdx_report_data"] == rep.report_data.hex()
    assert tee["tdx_mrtd"] == td.mrtd.hex() and tee["tdx_mrseam"] == td.mrseam.hex()
    assert tee["tdx_rtmr0"] == td.rtmr0.hex() and tee["tdx_xfam"] == td.xfam.hex()
    assert tee["tdx_tee_tcb_svn"] == td.tee_tcb_svn.hex()
    assert tee["tdx_seamsvn"] == td.tee_tcb_svn[1] << 8 | td.tee_tcb_svn[0]
    assert tee["tdx_td_attributes"] == "00" * 8 and tee["tdx_td_attributes_debug"] is False
    assert tee["x-ms-runtime"]["keys"][0]["kid"] == "HCLAkPub"
    assert tee["x-ms-runtime"]["user-data"] == rep.runtime["user-data"]
    rt = claims["x-ms-runtime"]
    assert rt["keys"][0]["kid"] == "TpmEphemeralEncryptionKey"
    assert rt["keys"][0]["n"] == jose.public_jwk(eph.public_key)["n"]
    assert rt["client-payload"] == {"nonce": base64.b64encode(b"ADE0101").decode()}


@pytest.mark.parametrize("name", ["demo-rsa", "demo-ec", "demo-aes"])
def test_demo_keys_release_on_tdx(tdx_emu, tdx_token, name):
    jwt, eph = tdx_token
    r = tdx_emu.release(name, jwt, enc="RSA_AES_KEY_WRAP_256")
    assert r.status == 200, r
    key = decode_jws(r.json()["value"])[1]["response"]["key"]["key"]
    plain = guest.tpm_unwrap_key_hsm(tdx_emu.env["SKR_EMU_TCTI"], eph, key["key_hsm"])
    check_released(plain, key, tdx_emu.private("demo", name))


def test_snp_only_policies_refuse_tdx(tdx_emu, tdx_token):
    jwt, _eph = tdx_token
    for name in ("demo-nodebug", "demo-denied"):  # both require sevsnpvm
        r = tdx_emu.release(name, jwt)
        assert r.status == 403, (name, r)
        assert r.json()["error"]["innererror"]["code"] == "ReleasePolicyNotSatisfied"


@pytest.mark.parametrize("example,status", [("tdx-cvm.json", 200), ("any-cvm.json", 200),
                                            ("sev-snp-cvm.json", 403)])
def test_example_policies_on_tdx(tdx_emu, tdx_token, example, status):
    with open(os.path.join(EXAMPLES, example), encoding="utf-8") as f:
        pol = json.load(f)
    pol["anyOf"][0]["authority"] = tdx_emu.env["SKR_EMU_MAA"]
    name = "t-" + example.split(".")[0]
    r = tdx_emu.kv("POST", "/keys/%s/create" % name, {
        "kty": "oct-HSM", "key_size": 256, "attributes": {"exportable": True},
        "release_policy": {"data": jose.b64url(json.dumps(pol).encode())}})
    assert r.status == 200, r
    assert tdx_emu.release(name, tdx_token[0]).status == status


def _tamper(emu, mutate):
    info, _eph = evidence(emu)
    mutate(info["IsolationInfo"]["Evidence"])
    return post_attest(emu, info)


def test_tampered_quote_is_refused(tdx_emu):
    def flip(ev):
        q = bytearray(guest.b64any_decode(ev["Proof"]))
        q[100] ^= 1                               # inside the signed TD quote body
        ev["Proof"] = guest.b64(bytes(q))
    r = _tamper(tdx_emu, flip)
    assert r.status == 400 and r.json()["error"]["code"] == "InvalidQuote", r


def test_runtime_data_not_bound_is_refused(tdx_emu):
    def other(ev):
        rt = json.loads(guest.b64any_decode(ev["RunTimeData"]))
        rt["vm-configuration"]["secure-boot"] = False
        ev["RunTimeData"] = guest.b64(json.dumps(rt, separators=(",", ":")).encode())
    r = _tamper(tdx_emu, other)
    assert r.status == 400 and r.json()["error"]["code"] == "InvalidRuntimeData", r


def test_quote_of_a_foreign_signer_is_refused(tdx_emu):
    from cryptography.hazmat.primitives.asymmetric import ec
    rogue = ec.generate_private_key(ec.SECP256R1())

    def resign(ev):
        q = guest.b64any_decode(ev["Proof"])
        rep = hcl.parse(guest.read_hcl_report(tdx_emu.env["SKR_EMU_TCTI"]))
        assert tdx.quote_report_data(q) == rep.report_data
        ev["Proof"] = guest.b64(tdx.fake_quote(rep.hw_raw, rogue))
    r = _tamper(tdx_emu, resign)
    assert r.status == 400 and r.json()["error"]["code"] == "InvalidQuote", r


def test_user_data_refresh_rebuilds_the_td_report(tdx_emu):
    tcti = tdx_emu.env["SKR_EMU_TCTI"]
    data = hashlib.sha512(b"tdx user data").digest()
    guest.write_user_data(tcti, data)
    rep = hcl.parse(guest.read_hcl_report(tcti))
    assert rep.report_type == hcl.REPORT_TYPE_TDX
    assert rep.runtime["user-data"] == data.hex().upper()
    assert rep.binding_ok() and tdx.check_report(rep.hw_raw)
    jwt, _eph = attest(tdx_emu)
    tee = decode_jws(jwt)[1]["x-ms-isolation-tee"]
    assert tee["x-ms-runtime"]["user-data"] == data.hex().upper()
    assert tee["tdx_report_data"] == rep.report_data.hex()


def test_report_override_debuggable_td(tdx_emu):
    try:
        tdx_emu.admin("POST", "/cvm/report", {"tdx": {"attributes": "0100000000000000",
                                                      "mrconfigid": "ab" * 48}})
        jwt, _eph = attest(tdx_emu)
        tee = decode_jws(jwt)[1]["x-ms-isolation-tee"]
        assert tee["tdx_td_attributes_debug"] is True
        assert tee["tdx_td_attributes"] == "0100000000000000"
        assert tee["tdx_mrconfigid"] == "ab" * 48
        assert tdx_emu.admin("GET", "/info")["tdx"]["attributes"] == "0100000000000000"
    finally:
        tdx_emu.admin("POST", "/cvm/report", {})
    jwt, _eph = attest(tdx_emu)
    assert decode_jws(jwt)[1]["x-ms-isolation-tee"]["tdx_td_attributes_debug"] is False


def test_unknown_td_field_is_refused(tdx_emu):
    r = tdx_emu.req(tdx_emu.env["SKR_EMU_ADMIN"] + "/cvm/report", "POST",
                    {"tdx": {"no_such_field": "00"}})
    assert r.status == 400, r


@pytest.mark.parametrize("example,status", [("sev-snp-cvm.json", 200), ("any-cvm.json", 200),
                                            ("tdx-cvm.json", 403)])
def test_example_policies_on_snp(emu, example, status):
    """The counterpart on the default SEV-SNP CVM (session emulator)."""
    thim = emu.req(emu.env["SKR_EMU_IMDS"] + "/metadata/THIM/amd/certification",
                   headers={"Metadata": "true"}).json()
    info, eph = guest.build_attestation_info(emu.env["SKR_EMU_TCTI"], thim)
    r = post_attest(emu, info)
    assert r.status == 200, r
    jwt = guest.decrypt_envelope(emu.env["SKR_EMU_TCTI"], eph, r.json()["token"])
    with open(os.path.join(EXAMPLES, example), encoding="utf-8") as f:
        pol = json.load(f)
    pol["anyOf"][0]["authority"] = emu.env["SKR_EMU_MAA"]
    name = "s-" + example.split(".")[0]
    r = emu.kv("POST", "/keys/%s/create" % name, {
        "kty": "oct-HSM", "key_size": 256, "attributes": {"exportable": True},
        "release_policy": {"data": jose.b64url(json.dumps(pol).encode())}})
    assert r.status == 200, r
    assert emu.release(name, jwt).status == status
