# SPDX-License-Identifier: Apache-2.0
"""IMDS managed identity (§d.1) and Entra client credentials (§d.2): secret, certificate
assertion, AKS workload identity federated token."""
import time
import uuid

from skremu import jose
from skremu.pki import issue, new_rsa

VAULT = "https://vault.azure.net"
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _imds(emu, query, headers=None):
    return emu.req(emu.env["SKR_EMU_IMDS"] + "/metadata/identity/oauth2/token?" + query,
                   headers={"Metadata": "true"} if headers is None else headers)


def test_imds_token_fields_are_strings(emu):
    r = _imds(emu, "api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net")
    assert r.status == 200
    body = r.json()
    assert list(body) == ["access_token", "refresh_token", "expires_in", "expires_on",
                          "not_before", "resource", "token_type"]
    assert all(isinstance(v, str) for v in body.values())
    assert body["token_type"] == "Bearer" and body["resource"] == VAULT
    assert int(body["expires_on"]) > time.time()
    _h, claims = jose.split(body["access_token"])[:2]
    cvm = emu.identities["cvm"]
    assert claims["aud"] == VAULT and claims["oid"] == cvm["object_id"]
    assert claims["appid"] == cvm["client_id"] and claims["tid"] == emu.tenant
    # the raw (not URL-encoded) resource also works, as the quickstart script sends it
    assert _imds(emu, "api-version=2018-02-01&resource=https://vault.azure.net").status == 200


def test_imds_errors(emu):
    q = "api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
    for r in (_imds(emu, q, headers={}), _imds(emu, q, headers={"Metadata": "false"}),
              _imds(emu, "resource=https%3A%2F%2Fvault.azure.net"),
              _imds(emu, "api-version=2018-02-01"),
              _imds(emu, q + "&client_id=" + str(uuid.uuid4()))):
        assert r.status == 400
        assert set(r.json()) == {"error", "error_description"}


def test_imds_selectors(emu):
    reader = emu.identities["reader"]
    for sel in ("client_id", "object_id", "msi_res_id"):
        tok = emu.imds_token(**{sel: reader[sel]})
        assert jose.split(tok)[1]["oid"] == reader["object_id"]
    # priority client_id > object_id
    cvm = emu.identities["cvm"]
    tok = emu.imds_token(client_id=cvm["client_id"], object_id=reader["object_id"])
    assert jose.split(tok)[1]["oid"] == cvm["object_id"]


def _login(emu, form, tenant=None):
    url = "%s/%s/oauth2/v2.0/token" % (emu.env["SKR_EMU_LOGIN"], tenant or emu.tenant)
    return emu.req(url, "POST", form=form)


def _aad_error(r, status, code):
    assert r.status == status, r
    body = r.json()
    assert {"error", "error_description", "error_codes", "timestamp", "trace_id",
            "correlation_id"} <= set(body)
    assert body["error_codes"] == [code] and body["error_description"].startswith(
        "AADSTS%d:" % code)


def test_client_secret(emu):
    app = emu.identities["app"]
    with open(app["secret_file"]) as f:
        secret = f.read()
    form = {"client_id": app["client_id"], "client_secret": secret,
            "grant_type": "client_credentials", "scope": "https://vault.azure.net/.default"}
    r = _login(emu, form)
    assert r.status == 200, r
    body = r.json()
    assert body["token_type"] == "Bearer" and isinstance(body["expires_in"], int)
    assert emu.kv("GET", "/keys/demo-rsa", token=body["access_token"]).status == 200
    _aad_error(_login(emu, dict(form, client_secret="wrong")), 401, 7000215)
    _aad_error(_login(emu, dict(form, scope="https://graph.microsoft.com/.default")), 400, 70011)
    _aad_error(_login(emu, dict(form, client_id=str(uuid.uuid4()))), 400, 700016)
    _aad_error(_login(emu, dict(form, grant_type="password")), 400, 70003)
    _aad_error(_login(emu, {k: v for k, v in form.items() if k != "scope"}), 400, 900144)
    _aad_error(_login(emu, form, tenant=str(uuid.uuid4())), 400, 90002)
    r = _login(emu, dict(form, scope="https://managedhsm.azure.net/.default"))
    tok = r.json()["access_token"]
    assert emu.kv("GET", "/keys/hsm-aes", token=tok, base=emu.env["SKR_EMU_MHSM"]).status == 200
    assert emu.kv("GET", "/keys/demo-rsa", token=tok).status == 401


def _assertion(emu, key, cert, client_id, aud=None, exp_delta=600):
    now = int(time.time())
    return jose.sign_rs256({"alg": "RS256", "typ": "JWT", "x5t": jose.x5t(cert)},
                           {"aud": aud or "%s/%s/oauth2/v2.0/token" % (emu.env["SKR_EMU_LOGIN"],
                                                                       emu.tenant),
                            "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()),
                            "nbf": now, "exp": now + exp_delta}, key)


def test_client_certificate_assertion(emu):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    app = emu.identities["app"]
    with open(app["certificate_file"], "rb") as f:
        pem = f.read()
    cert = x509.load_pem_x509_certificate(pem)
    key = serialization.load_pem_private_key(pem[pem.index(b"-----BEGIN PRIVATE KEY"):], None)
    form = {"client_id": app["client_id"], "client_assertion_type": ASSERTION,
            "grant_type": "client_credentials", "scope": "https://vault.azure.net/.default",
            "client_assertion": _assertion(emu, key, cert, app["client_id"])}
    r = _login(emu, form)
    assert r.status == 200, r
    assert emu.kv("GET", "/keys", token=r.json()["access_token"]).status == 200
    other = new_rsa(2048)
    other_cert = issue("other", other.public_key(), other)
    bad = dict(form, client_assertion=_assertion(emu, other, other_cert, app["client_id"]))
    _aad_error(_login(emu, bad), 401, 700027)
    forged = dict(form, client_assertion=_assertion(emu, other, cert, app["client_id"]))
    _aad_error(_login(emu, forged), 401, 700027)
    expired = dict(form, client_assertion=_assertion(emu, key, cert, app["client_id"],
                                                     exp_delta=-3600))
    _aad_error(_login(emu, expired), 401, 700024)


def test_workload_identity_federated_token(emu):
    aks = emu.identities["aks"]
    with open(aks["federated_token_file"]) as f:
        fed = f.read().strip()
    form = {"client_id": aks["client_id"], "client_assertion_type": ASSERTION,
            "client_assertion": fed, "grant_type": "client_credentials",
            "scope": "https://vault.azure.net/.default"}
    r = _login(emu, form)
    assert r.status == 200, r
    assert jose.split(r.json()["access_token"])[1]["oid"] == aks["object_id"]
    key = new_rsa(2048)
    h, c, _s, _i = jose.split(fed)
    c["sub"] = "system:serviceaccount:other:intruder"
    _aad_error(_login(emu, dict(form, client_assertion=jose.sign_rs256(h, c, key))), 400, 70021)
    h, c, _s, _i = jose.split(fed)
    _aad_error(_login(emu, dict(form, client_assertion=jose.sign_rs256(h, c, key))), 401, 700027)
