# SPDX-License-Identifier: Apache-2.0
"""Key Vault release and the policy engine, driven with MAA-signed tokens and a software
wrapping key (the TPM flow is in test_guest_flow.py)."""
import json

import pytest

from helpers import ENCS, check_released, cvm_claims, decode_jws, unwrap
from skremu import jose


def _release_ok(emu, name, enc=None, vault="demo", base=None, **kw):
    token = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    r = emu.release(name, token, enc=enc, base=base, **kw)
    assert r.status == 200, r
    _h, payload = decode_jws(r.json()["value"])
    key = payload["response"]["key"]["key"]
    plain, blob = unwrap(key["key_hsm"], enc or "CKM_RSA_AES_KEY_WRAP")
    assert blob["header"] == {"kid": "TpmEphemeralEncryptionKey", "alg": "dir",
                              "enc": enc or "CKM_RSA_AES_KEY_WRAP"}
    check_released(plain, key, emu.private(vault, name))
    return payload


@pytest.mark.parametrize("enc", ENCS)
@pytest.mark.parametrize("name", ["demo-rsa", "demo-ec", "demo-aes"])
def test_release_each_kind_and_enc(emu, name, enc):
    payload = _release_ok(emu, name, enc)
    assert payload["request"]["enc"] == enc
    get = emu.kv("GET", "/keys/" + name).json()
    assert payload["response"]["key"]["key"]["kid"] == get["key"]["kid"]
    for member in ("n", "e", "crv", "x", "y"):
        assert payload["response"]["key"]["key"].get(member) == get["key"].get(member)


def test_release_default_enc_and_versioned(emu):
    versions = emu.kv("GET", "/keys/demo-rsa/versions").json()["value"]
    ver = versions[-1]["kid"].rsplit("/", 1)[1]
    token = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    r = emu.release("demo-rsa", token, version=ver, api="7.3")
    assert r.status == 200, r
    _h, p = decode_jws(r.json()["value"])
    assert p["request"] == {"api-version": "7.3", "enc": "CKM_RSA_AES_KEY_WRAP",
                            "kid": emu.env["SKR_EMU_VAULT"] + "/keys/demo-rsa/" + ver}


def test_release_empty_version_segment_like_the_sdk(emu):
    token = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    r = emu.kv("POST", "/keys/demo-rsa//release", {"target": token}, api="7.3")
    assert r.status == 200, r


def test_release_managed_hsm(emu):
    _release_ok(emu, "hsm-aes", "RSA_AES_KEY_WRAP_256", vault="demohsm",
                base=emu.env["SKR_EMU_MHSM"])


def test_release_all_api_versions(emu):
    token = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    for api in ("7.3", "7.4", "7.5", "7.3-preview", "2025-07-01"):
        assert emu.release("demo-aes", token, api=api).status == 200
    r = emu.release("demo-aes", token, api="7.2")
    assert r.status == 400 and r.json()["error"]["code"] == "BadParameter"
    r = emu.release("demo-aes", token, api=None)
    assert r.status == 400


@pytest.mark.parametrize("method,path,body", [
    ("GET", "/keys", None), ("GET", "/keys/demo-rsa", None),
    ("GET", "/keys/demo-rsa/versions", None),
    ("GET", "/certificates", None), ("GET", "/certificates/demo-rsa", None),
    ("POST", "/keys/t-api/create", {"kty": "EC-HSM"}),
    ("PUT", "/keys/t-api", {"key": {"kty": "oct", "k": "AAAAAAAAAAAAAAAAAAAAAA"}, "hsm": True})])
def test_api_version_checked_on_every_endpoint(emu, method, path, body):
    for api in (None, "1.0", "7.7"):
        _err(emu.kv(method, path, body, api=api), 400, "BadParameter")
    assert emu.kv(method, path, body, api="7.6").status == 200


def _err(r, status, code=None):
    assert r.status == status, r
    err = r.json()["error"]
    assert set(err) >= {"code", "message"}
    if code:
        assert err["code"] == code
    return err


def test_refuse_non_exportable(emu):
    token = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    err = _err(emu.release("demo-nonexportable", token), 400, "BadParameter")
    assert "demo-nonexportable" in err["message"] and "exportable" in err["message"]


def test_refuse_policy_mismatch_measurement(emu):
    token = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    _err(emu.release("demo-denied", token), 403, "Forbidden")


def test_refuse_policy_mismatch_debug(emu):
    token = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"], **{
        "x-ms-sevsnpvm-is-debuggable": True}))
    _err(emu.release("demo-nodebug", token), 403, "Forbidden")
    token = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    assert emu.release("demo-nodebug", token).status == 200


def test_refuse_wrong_authority(emu):
    claims = cvm_claims("https://sharedeus.eus.attest.azure.net")
    _err(emu.release("demo-rsa", emu.maa_token(claims)), 403, "Forbidden")


def test_authority_trailing_slash_ignored(emu):
    token = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"] + "/"))
    assert emu.release("demo-rsa", token).status == 200


def test_refuse_expired_and_not_yet_valid(emu):
    claims = cvm_claims(emu.env["SKR_EMU_MAA"])
    claims.update({"exp": 1000000000, "iat": 999971200, "nbf": 999971200})
    _err(emu.release("demo-rsa", emu.maa_token(claims)), 400, "BadParameter")
    claims = cvm_claims(emu.env["SKR_EMU_MAA"])
    claims.update({"nbf": 4000000000, "exp": 4000028800})
    _err(emu.release("demo-rsa", emu.maa_token(claims)), 400, "BadParameter")


def test_refuse_bad_token_signature(emu):
    token = jose.corrupt_signature(emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"])))
    _err(emu.release("demo-rsa", token), 400, "BadParameter")
    _err(emu.release("demo-rsa", "not-a-jwt"), 400, "BadParameter")


def test_refuse_token_without_runtime_key(emu):
    claims = cvm_claims(emu.env["SKR_EMU_MAA"])
    claims["x-ms-runtime"]["keys"][0]["key_ops"] = ["sign"]
    _err(emu.release("demo-rsa", emu.maa_token(claims)), 400, "BadParameter")


def test_refuse_missing_permission(emu):
    reader = emu.identities["reader"]
    token = emu.imds_token(client_id=reader["client_id"])
    assert emu.kv("GET", "/keys/demo-rsa", token=token).status == 200
    maa = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    err = _err(emu.release("demo-rsa", maa, token=token), 403, "Forbidden")
    assert "release" in err["message"] and err["innererror"] == {"code": "AccessDenied"}


def test_refuse_missing_or_wrong_bearer(emu):
    maa = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    r = emu.kv("POST", "/keys/demo-rsa/release", {"target": maa}, auth=False)
    _err(r, 401, "Unauthorized")
    assert r.header("WWW-Authenticate").startswith("Bearer authorization=")
    for bad in ("garbage", jose.corrupt_signature(emu.imds_token()),
                emu.imds_token("https://managedhsm.azure.net"),
                emu.imds_token("https://storage.azure.com")):
        _err(emu.release("demo-rsa", maa, token=bad), 401, "Unauthorized")


def test_refuse_bad_enc_and_missing_target(emu):
    maa = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))
    _err(emu.release("demo-rsa", maa, enc="A256KW"), 400, "BadParameter")
    _err(emu.kv("POST", "/keys/demo-rsa/release", {}), 400, "BadParameter")
    _err(emu.release("no-such-key", maa), 404, "KeyNotFound")


def _create(emu, name, pol, kty="RSA-HSM", **extra):
    body = {"kty": kty, "attributes": {"exportable": True},
            "release_policy": {"data": jose.b64url(json.dumps(pol).encode())}}
    body.update(extra)
    r = emu.kv("POST", "/keys/%s/create" % name, body)
    assert r.status == 200, r
    return r.json()


def test_policy_nested_and_string_forms(emu):
    maa = emu.env["SKR_EMU_MAA"]
    pol = {"anyOf": [{"anyOf": [{"claim": "x-ms-isolation-tee.x-ms-attestation-type",
                                 "equals": "tdxvm"},
                                {"allOf": [
                                    {"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable",
                                     "equals": False},
                                    {"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-vmpl",
                                     "equals": 0},
                                    {"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-vmpl",
                                     "lessOrEquals": "1"},
                                    {"claim": "x-ms-runtime.client-payload.nonce",
                                     "exists": True}]}],
                      "authority": maa + "/"}], "version": "1.0.0"}
    bundle = _create(emu, "t-nested", pol, kty="oct-HSM", key_size=128)
    norm = json.loads(jose.b64url_decode(bundle["release_policy"]["data"]))
    assert list(norm) == ["version", "anyOf"]
    assert list(norm["anyOf"][0]) == ["authority", "anyOf"]
    inner = norm["anyOf"][0]["anyOf"][1]["allOf"]
    assert inner[0] == {"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable",
                        "equals": "false"}
    assert inner[1]["equals"] == "0"
    assert bundle["release_policy"]["contentType"] == "application/json; charset=utf-8"
    ok = emu.maa_token(cvm_claims(maa))
    assert emu.release("t-nested", ok).status == 200
    bad = emu.maa_token(cvm_claims(maa, **{"x-ms-sevsnpvm-vmpl": 2}))
    assert emu.release("t-nested", bad).status == 403


def test_create_import_get_list(emu):
    maa = emu.env["SKR_EMU_MAA"]
    pol = {"version": "1.0.0", "anyOf": [{"authority": maa, "allOf": [
        {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"}]}]}
    for kty, extra in (("RSA-HSM", {"key_size": 3072}), ("EC-HSM", {"crv": "P-384"}),
                       ("EC-HSM", {"crv": "P-521"}), ("oct-HSM", {"key_size": 192})):
        b = _create(emu, "t-" + kty.lower() + str(list(extra.values())[0]), pol, kty, **extra)
        assert b["key"]["kty"] == kty and b["attributes"]["exportable"] is True
    r = emu.kv("POST", "/keys/t-bad/create", {"kty": "RSA", "attributes": {"exportable": True},
                                               "release_policy": {"data": jose.b64url(
                                                   json.dumps(pol).encode())}})
    assert r.status == 400
    # import an EC key and release it
    from cryptography.hazmat.primitives.asymmetric import ec
    k = ec.generate_private_key(ec.SECP256R1())
    jwk = jose.public_jwk(k)
    jwk["d"] = jose.int_b64(k.private_numbers().private_value, 32)
    r = emu.kv("PUT", "/keys/t-imported", {"key": jwk, "hsm": True,
                                           "attributes": {"exportable": True},
                                           "release_policy": {"data": jose.b64url(
                                               json.dumps(pol).encode()), "immutable": False}})
    assert r.status == 200, r
    assert r.json()["key"]["kty"] == "EC-HSM"
    names = [k["kid"].rsplit("/", 1)[1] for k in emu.kv("GET", "/keys").json()["value"]]
    assert {"demo-rsa", "demo-ec", "demo-aes", "t-imported"} <= set(names)
    token = emu.maa_token(cvm_claims(maa))
    r = emu.release("t-imported", token, enc="RSA_AES_KEY_WRAP_384")
    assert r.status == 200
    _h, p = decode_jws(r.json()["value"])
    plain, _b = unwrap(p["response"]["key"]["key"]["key_hsm"], "RSA_AES_KEY_WRAP_384")
    from cryptography.hazmat.primitives import serialization
    got = serialization.load_der_private_key(plain, None)
    assert got.private_numbers().private_value == k.private_numbers().private_value
    # new version via create; versions list grows, GET without version = latest
    _create(emu, "t-imported", pol, "EC-HSM")
    vers = emu.kv("GET", "/keys/t-imported/versions").json()["value"]
    assert len(vers) == 2
    assert emu.kv("GET", "/keys/t-imported").json()["key"]["kid"] == vers[-1]["kid"]


@pytest.mark.parametrize("kty,size", [("RSA-HSM", 4096), ("oct-HSM", 128), ("oct-HSM", 256),
                                       ("EC-HSM", "P-256")])
def test_create_sizes_release(emu, kty, size):
    """The key types and sizes of the issue not covered above, created through the API and
    released (RSA-4096 wraps to 2640 bytes of ciphertext, like the quickstart's release)."""
    pol = {"version": "1.0.0", "anyOf": [{"authority": emu.env["SKR_EMU_MAA"], "allOf": [
        {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"}]}]}
    name = "t-size-%s-%s" % (kty.lower(), str(size).lower())
    extra = {"crv": size} if kty == "EC-HSM" else {"key_size": size}
    b = _create(emu, name, pol, kty, **extra)
    p = _release_ok(emu, name, "RSA_AES_KEY_WRAP_256")
    key = p["response"]["key"]["key"]
    assert key["kid"] == b["key"]["kid"]
    if kty == "RSA-HSM":
        assert len(jose.b64url_decode(key["n"])) == 512
        kh = json.loads(jose.b64url_decode(key["key_hsm"]))
        assert len(jose.b64url_decode(kh["ciphertext"])) == 2640
    elif kty == "oct-HSM":
        assert len(jose.b64url_decode(emu.private("demo", name)["k"])) == size // 8


@pytest.mark.parametrize("kind", ["RSA", "oct"])
def test_import_rsa_and_oct(emu, kind):
    import os
    from cryptography.hazmat.primitives.asymmetric import rsa
    pol = {"version": "1.0.0", "anyOf": [{"authority": emu.env["SKR_EMU_MAA"], "allOf": [
        {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"}]}]}
    if kind == "RSA":
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        n = k.private_numbers()
        jwk = jose.public_jwk(k)
        for member, value in (("d", n.d), ("p", n.p), ("q", n.q), ("dp", n.dmp1),
                              ("dq", n.dmq1), ("qi", n.iqmp)):
            jwk[member] = jose.int_b64(value)
    else:
        secret = os.urandom(32)
        jwk = {"kty": "oct", "k": jose.b64url(secret)}
    name = "t-imported-" + kind.lower()
    r = emu.kv("PUT", "/keys/" + name, {"key": jwk, "hsm": True,
                                        "attributes": {"exportable": True},
                                        "release_policy": {"data": jose.b64url(
                                            json.dumps(pol).encode())}})
    assert r.status == 200, r
    assert r.json()["key"]["kty"] == kind + "-HSM"
    p = _release_ok(emu, name, "RSA_AES_KEY_WRAP_384")
    plain, _b = unwrap(p["response"]["key"]["key"]["key_hsm"], "RSA_AES_KEY_WRAP_384")
    if kind == "RSA":
        from cryptography.hazmat.primitives import serialization
        got = serialization.load_der_private_key(plain, None)
        assert got.private_numbers() == k.private_numbers()
    else:
        assert plain == secret
    r = emu.kv("PUT", "/keys/t-imported-soft", {"key": jwk, "attributes": {"exportable": True},
                                                "release_policy": {"data": jose.b64url(
                                                    json.dumps(pol).encode())}})
    assert r.status == 400, r          # exportable keys must be HSM keys


def test_certificates(emu):
    from cryptography import x509
    for name in ("demo-rsa", "demo-ec"):
        r = emu.kv("GET", "/certificates/" + name)
        assert r.status == 200, r
        c = r.json()
        assert {"id", "kid", "sid", "x5t", "cer", "attributes", "policy"} <= set(c)
        cert = x509.load_der_x509_certificate(jose.b64url_decode(c["cer"]))
        key = emu.kv("GET", "/keys/" + name).json()["key"]
        assert c["kid"] == key["kid"]
        assert jose.public_jwk(cert.public_key())["kty"] in ("RSA", "EC")
        pub = jose.public_jwk(cert.public_key())
        for m in ("n", "x", "y"):
            if m in pub:
                assert pub[m] == key[m]
        assert c["x5t"] == jose.x5t(cert)
    assert emu.kv("GET", "/certificates/demo-aes").status == 404


class _Authority:
    """A second attestation authority for the policy engine: OIDC metadata and a JWKS over HTTPS
    on its own loopback port (the emulator's maa.skr.localhost certificate, so the emulator's CA
    verifies it), signing with its own RSA key. Records the paths it served."""

    def __init__(self, emu, x5c=False):
        import http.server
        import ssl
        import threading
        from skremu import pki
        self.key = pki.new_rsa(2048)
        self.kid = "foreign-key-1"
        jwk = {"kty": "RSA", "kid": self.kid, "use": "sig"}
        if x5c:
            cert = pki.issue("foreign", self.key.public_key(), self.key)
            jwk["x5c"] = [jose.b64std(jose.cert_der(cert))]
        else:
            jwk.update({k: v for k, v in jose.public_jwk(self.key).items() if k in ("n", "e")})
        self.seen = []
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.seen.append(self.path)
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": outer.url, "jwks_uri": outer.url + "/discovery/keys"}
                elif self.path == "/discovery/keys":
                    body = {"keys": [jwk]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(emu.dir + "/pki/maa.crt", emu.dir + "/pki/maa.key")
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.url = "https://maa.skr.localhost:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def token(self, claims, key=None, kid=None):
        import time
        now = int(time.time())
        full = {"iat": now, "nbf": now, "exp": now + 3600}
        full.update(claims)
        return jose.sign_rs256({"alg": "RS256", "kid": kid or self.kid, "typ": "JWT",
                                "jku": "https://attacker.invalid/keys"}, full, key or self.key)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("x5c", [False, True], ids=["n-e", "x5c"])
def test_policy_authority_keys_from_its_oidc_metadata(emu, x5c):
    """§g: another authority's token is checked with the key its OIDC metadata's jwks_uri
    publishes under the token's kid (fetched over HTTPS, verified with the emulator CA); the
    token's jku is not followed."""
    auth = _Authority(emu, x5c)
    try:
        name = "t-foreign-" + ("x5c" if x5c else "ne")
        _create(emu, name, {"version": "1.0.0", "anyOf": [{"authority": auth.url, "allOf": [
            {"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"}]}]},
            kty="oct-HSM", key_size=256)
        ok = auth.token(cvm_claims(auth.url))
        r = emu.release(name, ok, enc="RSA_AES_KEY_WRAP_256")
        assert r.status == 200, r
        assert auth.seen[:2] == ["/.well-known/openid-configuration", "/discovery/keys"]
        _h, p = decode_jws(r.json()["value"])
        plain, _b = unwrap(p["response"]["key"]["key"]["key_hsm"], "RSA_AES_KEY_WRAP_256")
        check_released(plain, p["response"]["key"]["key"], emu.private("demo", name))
        from skremu import pki
        forged = auth.token(cvm_claims(auth.url), key=pki.new_rsa(2048))
        _err(emu.release(name, forged), 400, "BadParameter")
        _err(emu.release(name, auth.token(cvm_claims(auth.url), kid="unknown")), 400,
             "BadParameter")
        own = emu.maa_token(cvm_claims(emu.env["SKR_EMU_MAA"]))     # right key, wrong authority
        _err(emu.release(name, own), 403, "Forbidden")
        assert emu.release("demo-rsa", ok).status == 403              # and the other way round
    finally:
        auth.close()
