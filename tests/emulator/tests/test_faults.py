# SPDX-License-Identifier: Apache-2.0
"""Each fault switch does what it says; counters count."""
import http.client
import json
import os
import ssl
import subprocess
import time

import pytest

from conftest import ROOT
from helpers import assert_token_clean, assert_token_fault, cvm_claims, pem_public_key
from skremu import client, jose

OIDC = "/.well-known/openid-configuration"


def _oidc(emu):
    return emu.req(emu.env["SKR_EMU_MAA"] + OIDC)


def test_latency(emu):
    emu.fault("maa-oidc", "latency", ms=400, count=1)
    t0 = time.monotonic()
    assert _oidc(emu).status == 200
    assert time.monotonic() - t0 >= 0.4          # sleep() guarantees the lower bound
    assert emu.admin("GET", "/faults")["faults"] == []


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_status_faults_fail_n_times_then_succeed(emu, kind):
    emu.reset_counters()
    emu.fault("akv-key-get", kind, count=2, retry_after=7)
    for _ in range(2):
        r = emu.kv("GET", "/keys/demo-rsa")
        assert r.status == int(kind)
        assert set(r.json()["error"]) == {"code", "message"}
        if kind in ("429", "503"):
            assert r.header("Retry-After") == "7"
    assert emu.kv("GET", "/keys/demo-rsa").status == 200
    assert emu.counters()["akv-key-get"] == 3


def test_429_default_retry_after(emu):
    emu.fault("imds-token", "429", count=1)
    r = emu.req(emu.env["SKR_EMU_IMDS"] + "/metadata/identity/oauth2/token?api-version=2018-02-01"
                "&resource=https://vault.azure.net", headers={"Metadata": "true"})
    assert r.status == 429 and r.header("Retry-After") == "1"


def test_connection_reset(emu):
    emu.fault("maa-certs", "reset", count=1)
    with pytest.raises((ConnectionResetError, http.client.RemoteDisconnected, ssl.SSLError,
                        ConnectionAbortedError, BrokenPipeError)):
        emu.req(emu.env["SKR_EMU_MAA"] + "/certs")
    assert emu.req(emu.env["SKR_EMU_MAA"] + "/certs").status == 200


def test_truncated_and_malformed_json(emu):
    full = _oidc(emu).body
    emu.fault("maa-oidc", "truncate", count=1)
    r = _oidc(emu)
    assert r.status == 200 and 0 < len(r.body) < len(full) and full.startswith(r.body)
    with pytest.raises(ValueError):
        json.loads(r.body)
    emu.fault("maa-oidc", "malformed", count=1)
    r = _oidc(emu)
    with pytest.raises(ValueError):
        json.loads(r.body)
    assert json.loads(_oidc(emu).body)


def test_service_wide_fault(emu):
    emu.fault("maa", "503", count=2)
    assert _oidc(emu).status == 503
    assert emu.req(emu.env["SKR_EMU_MAA"] + "/certs").status == 503
    assert _oidc(emu).status == 200


def test_release_jws_bad_signature(emu):
    from cryptography import x509
    import base64
    emu.fault("akv-release", "bad-signature", count=1)
    maa = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    for expect_ok in (False, True):
        jws = emu.release("demo-aes", maa).json()["value"]
        h = jose.split(jws)[0]
        leaf = x509.load_der_x509_certificate(base64.b64decode(h["x5c"][0]))
        if expect_ok:
            jose.verify_rs256(jws, leaf.public_key())
        else:
            with pytest.raises(jose.JoseError):
                jose.verify_rs256(jws, leaf.public_key())


TOKEN_KINDS = ("expired", "wrong-issuer", "bad-signature")


def _entra(emu):
    return (pem_public_key(os.path.join(emu.dir, "pki", "entra-signing.crt")),
            "https://sts.windows.net/%s/" % emu.tenant)


@pytest.mark.parametrize("kind", TOKEN_KINDS)
@pytest.mark.parametrize("endpoint", ["imds-token", "imds"])
def test_bearer_token_faults(emu, endpoint, kind):
    emu.fault(endpoint, kind, count=1)
    bad = emu.imds_token()
    assert_token_fault(bad, kind, *_entra(emu))
    r = emu.kv("GET", "/keys/demo-rsa", token=bad)
    assert r.status == 401 and r.json()["error"]["code"] == "Unauthorized"
    good = emu.imds_token()
    assert_token_clean(good, *_entra(emu))
    assert emu.kv("GET", "/keys/demo-rsa", token=good).status == 200


@pytest.mark.parametrize("kind", TOKEN_KINDS)
def test_entra_token_faults(emu, kind):
    app = emu.identities["app"]
    with open(app["secret_file"]) as f:
        form = {"client_id": app["client_id"], "client_secret": f.read(),
                "grant_type": "client_credentials",
                "scope": "https://vault.azure.net/.default"}
    url = "%s/%s/oauth2/v2.0/token" % (emu.env["SKR_EMU_LOGIN"], emu.tenant)
    emu.fault("entra-token", kind, count=1)
    tok = emu.req(url, "POST", form=form).json()["access_token"]
    assert_token_fault(tok, kind, *_entra(emu))
    assert emu.kv("GET", "/keys", token=tok).status == 401
    tok = emu.req(url, "POST", form=form).json()["access_token"]
    assert_token_clean(tok, *_entra(emu))
    assert emu.kv("GET", "/keys", token=tok).status == 200


@pytest.mark.parametrize("kind,status", [("expired", 400), ("wrong-issuer", 403),
                                         ("bad-signature", 400)])
def test_maa_snp_token_faults_refused_by_release(emu, kind, status):
    """MAA token faults on the SevSnpVm path (the AzureGuest path: test_guest_flow)."""
    emu.fault("maa", kind, count=1)
    # a token minted by the admin hook is not subject to faults; drive the real MAA endpoint
    import hashlib
    from skremu import snp
    chain = snp.AmdChain.load(os.path.join(emu.dir, "amd"))
    from helpers import runtime_jwk, wrapping_key
    runtime = json.dumps({"keys": [runtime_jwk(wrapping_key())]}).encode()
    rep = snp.SnpReport(report_data=hashlib.sha256(runtime).digest() + b"\0" * 32,
                        reported_tcb=chain.tcb, current_tcb=chain.tcb, chip_id=chain.chip_id)
    report = jose.b64url(json.dumps({"SnpReport": jose.b64url(chain.sign_report(rep)),
                                     "VcekCertChain": jose.b64url((chain.vcek_pem() +
                                                                   chain.chain_pem()).encode())
                                     }).encode())
    body = {"report": report, "runtimeData": {"data": jose.b64url(runtime), "dataType": "JSON"}}
    url = emu.env["SKR_EMU_MAA"] + "/attest/SevSnpVm?api-version=2022-08-01"
    pol = {"version": "1.0.0", "anyOf": [{"authority": emu.env["SKR_EMU_MAA"], "allOf": [
        {"claim": "x-ms-attestation-type", "equals": "sevsnpvm"}]}]}
    name = "snp-" + kind
    if emu.kv("GET", "/keys/" + name).status == 404:
        assert emu.kv("POST", "/keys/%s/create" % name, {
            "kty": "oct-HSM", "attributes": {"exportable": True},
            "release_policy": {"data": jose.b64url(json.dumps(pol).encode())}}).status == 200
    maa_key = pem_public_key(os.path.join(emu.dir, "pki", "maa-signing.crt"))
    bad = emu.req(url, "POST", body).json()["token"]
    assert_token_fault(bad, kind, maa_key, emu.env["SKR_EMU_MAA"])
    assert emu.release(name, bad).status == status
    good = emu.req(url, "POST", body).json()["token"]
    assert_token_clean(good, maa_key, emu.env["SKR_EMU_MAA"])
    assert emu.release(name, good).status == 200


def _peer_names(url, ca):
    """The DNS names of the certificate the server presents (verification off, to look)."""
    from cryptography import x509
    import socket
    u = client.urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", u.port), 10) as raw:
        with ctx.wrap_socket(raw, server_hostname=u.hostname) as tls:
            der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    return cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)


@pytest.mark.parametrize("service,fault_on,path", [
    ("akv", "akv", "SKR_EMU_VAULT"), ("akv", "akv-release", "SKR_EMU_MHSM"),
    ("maa", "maa", "SKR_EMU_MAA"), ("maa", "maa-certs", "SKR_EMU_MAA"),
    ("entra", "entra", "SKR_EMU_LOGIN")])
def test_tls_wrong_host(emu, service, fault_on, path):
    url = emu.env[path]
    host = client.urllib.parse.urlsplit(url).hostname
    emu.fault(fault_on, "wrong-host-cert", count=1)
    names = _peer_names(url, emu.ca)
    assert names == ["wrong-host.invalid.skr.localhost"] and host not in names
    emu.fault(fault_on, "wrong-host-cert", count=1)
    with pytest.raises(ssl.SSLCertVerificationError):
        emu.req(url + "/")
    assert emu.admin("GET", "/faults")["faults"] == []
    assert host in _peer_names(url, emu.ca) or \
        ("*." + host.split(".", 1)[1]) in _peer_names(url, emu.ca)
    if service == "akv":
        assert emu.kv("GET", "/keys/demo-rsa" if path == "SKR_EMU_VAULT" else "/keys/hsm-aes",
                      base=url).status == 200


def test_admin_rejects_unknown_kind(emu):
    r = emu.req(emu.env["SKR_EMU_ADMIN"] + "/faults", "POST", {"endpoint": "x", "kind": "boom"})
    assert r.status == 400


def test_cli_fault_and_counters(emu):
    exe = os.path.join(ROOT, "skr-emulator")
    out = subprocess.run([exe, "fault", emu.dir, "endpoint=maa-oidc", "kind=500", "count=1"],
                         check=True, capture_output=True, text=True).stdout
    assert json.loads(out)["faults"][0]["kind"] == "500"
    assert _oidc(emu).status == 500
    assert _oidc(emu).status == 200
    out = subprocess.run([exe, "counters", emu.dir], check=True, capture_output=True,
                         text=True).stdout
    assert json.loads(out)["counters"]["maa-oidc"] >= 2
    st = subprocess.run([exe, "status", emu.dir], capture_output=True, text=True)
    assert st.returncode == 0 and st.stdout.startswith("running")
