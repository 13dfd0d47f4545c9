# SPDX-License-Identifier: Apache-2.0
"""Microsoft Azure Attestation: OIDC metadata, /certs, AzureGuest (encrypted envelope, §d.3/§e.1)
and SevSnpVm (plain JWT, §d.4/§e.2). Evidence checks are h5's skremu.evidence."""
import base64
import hashlib
import json
import os
import time

from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import jose
from .server import Service, json_response

GUEST_API_VERSIONS = ("2020-10-01",)
SNP_API_VERSIONS = ("2022-08-01", "2020-10-01")
TOKEN_LIFETIME = 8 * 3600
# The claims_supported list of the real openid-configuration recording, in its order.
CLAIMS_SUPPORTED = ["cnf", "nonce", "x-ms-ver", "x-ms-attestation-type", "x-ms-policy-hash",
                    "x-ms-policy-signer", "x-ms-sgx-is-debuggable", "x-ms-sgx-mrenclave",
                    "x-ms-sgx-mrsigner", "x-ms-sgx-svn", "x-ms-sgx-ehd", "x-ms-sgx-collateral",
                    "is-debuggable", "sgx-mrsigner", "sgx-mrenclave", "product-id", "svn", "tee"]
# The emulator's attestation policy text (its hash is x-ms-policy-hash).
POLICY_TEXT = "version=1.0; authorizationrules{=> permit();}; issuancerules{};"


def _evidence():
    from . import evidence  # h5's module; imported lazily so metadata works without it
    return evidence


def _b64_any(text):
    """Decode standard b64 or b64url, padded or not."""
    return jose.b64url_decode(text)


def _b64_text(value):
    """AttestationInfo string fields are b64 of the value (CVM-LIB); the Python tool sends raw."""
    if not isinstance(value, str):
        return value
    try:
        raw = base64.b64decode(value, validate=True)
        return raw.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return value


class MaaService(Service):
    name = "maa"
    endpoints = ("maa-oidc", "maa-certs", "maa-attest-guest", "maa-attest-snp")

    def __init__(self, faults, counters, emu):
        super().__init__(faults, counters)
        self.emu = emu

    def extra_headers(self, req):
        return [("x-ms-maa-service-version", "1.11.02096.389")]

    @property
    def url(self):
        return self.emu.maa_url

    def route(self, req):
        if req.host not in (self.emu.pki.maa_host, "127.0.0.1", "localhost"):
            return None
        path = req.path.rstrip("/") or "/"
        if req.method == "GET" and path == "/.well-known/openid-configuration":
            return "maa-oidc", self.oidc
        if req.method == "GET" and path == "/certs":
            return "maa-certs", self.certs
        if req.method == "POST" and path.lower() == "/attest/azureguest":
            return "maa-attest-guest", self.attest_guest
        if req.method == "POST" and path.lower() == "/attest/sevsnpvm":
            return "maa-attest-snp", self.attest_snp
        return None

    def oidc(self, req):
        u = self.url
        return json_response({"response_types_supported": ["token", "none"],
                              "id_token_signing_alg_values_supported": ["RS256"],
                              "revocation_endpoint": u + "/revoke", "issuer": u,
                              "jwks_uri": u + "/certs", "claims_supported": CLAIMS_SUPPORTED})

    def jwks(self):
        p = self.emu.pki
        return {"keys": [{"x5c": [jose.b64std(jose.cert_der(p.maa_cert))], "kid": p.maa_kid,
                          "kty": "RSA"}]}

    def certs(self, req):
        return json_response(self.jwks())

    def _api(self, req, allowed):
        v = req.query.get("api-version")
        if v not in allowed:
            raise self.error(400, "InvalidParameter", "The api-version '%s' is not supported for "
                             "this operation; supported: %s." % (v, ", ".join(allowed)))
        return v

    def _times(self, req):
        now = int(time.time())
        if req.fault("expired"):
            now -= TOKEN_LIFETIME + 3600
        return {"exp": now + TOKEN_LIFETIME, "iat": now, "nbf": now}

    def _issuer(self, req):
        if req.fault("wrong-issuer"):
            return "https://wrong-issuer.%s" % self.url.split("://", 1)[1]
        return self.url

    def sign(self, req, claims):
        p = self.emu.pki
        header = {"alg": "RS256", "jku": self.url + "/certs", "kid": p.maa_kid, "typ": "JWT"}
        payload = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode()
        token = jose.sign_rs256(header, payload, p.maa_key)
        if req.fault("bad-signature"):
            token = jose.corrupt_signature(token)
        return token

    def _common(self, req):
        claims = self._times(req)
        claims["iss"] = self._issuer(req)
        claims["jti"] = hashlib.sha256(os.urandom(32)).hexdigest()
        claims["x-ms-policy-hash"] = jose.b64url(hashlib.sha256(POLICY_TEXT.encode()).digest())
        claims["x-ms-ver"] = "1.0"
        return claims

    # ---- AzureGuest -------------------------------------------------------------------------
    def attest_guest(self, req):
        self._api(req, GUEST_API_VERSIONS)
        body = req.json()
        try:
            info = json.loads(_b64_any(body["AttestationInfo"]))
            if not isinstance(info, dict):
                raise ValueError("not an object")
        except (KeyError, ValueError, TypeError, UnicodeDecodeError):
            raise self.error(400, "InvalidParameter", "AttestationInfo must be the base64url "
                             "encoding of a JSON object.") from None
        ev = _evidence()
        try:
            result = ev.verify_azure_guest(info, self.emu.trusted_ark_pem, self.emu.ak_ca_pem,
                                           self.emu.tdx_quote_public)
        except ev.EvidenceError as exc:
            raise self.error(400, exc.code, exc.message) from None
        claims = self.guest_claims(req, info, result)
        jwt = self.sign(req, claims)
        return json_response({"token": self.envelope(jwt, result.ephemeral_key)})

    def guest_claims(self, req, info, result):
        claims = self._common(req)
        tee = result.isolation_tee
        vmconf = tee.get("x-ms-runtime", {}).get("vm-configuration", {}) \
            if isinstance(tee, dict) else {}
        osinfo = getattr(result, "os", None) or {}
        ostype = osinfo.get("OSType") or _b64_text(info.get("OSType", "Linux"))
        pcrs = getattr(result, "attested_pcrs", None) or _pcr_indices(result.pcrs)
        secure_boot = bool(vmconf.get("secure-boot", False))
        claims.update({
            "secureboot": secure_boot,
            "x-ms-attestation-type": "azurevm",
            "x-ms-azurevm-attestation-protocol-ver": str(info.get("AttestationProtocolVersion",
                                                                  "2.0")),
            "x-ms-azurevm-attested-pcrs": sorted(int(i) for i in pcrs),
            "x-ms-azurevm-bootdebug-enabled": False,
            "x-ms-azurevm-dbvalidated": secure_boot,
            "x-ms-azurevm-dbxvalidated": secure_boot,
            "x-ms-azurevm-debuggersdisabled": True,
            "x-ms-azurevm-default-securebootkeysvalidated": secure_boot,
            "x-ms-azurevm-elam-enabled": False,
            "x-ms-azurevm-flightsigning-enabled": False,
            "x-ms-azurevm-hvci-policy": 0,
            "x-ms-azurevm-hypervisordebug-enabled": False,
            "x-ms-azurevm-is-windows": str(ostype).lower() == "windows",
            "x-ms-azurevm-kerneldebug-enabled": False,
            "x-ms-azurevm-osbuild": osinfo.get("OSBuild") or _b64_text(
                info.get("OSBuild", "NotApplication")),
            "x-ms-azurevm-osdistro": osinfo.get("OSDistro") or _b64_text(info.get("OSDistro", "")),
            "x-ms-azurevm-ostype": ostype,
            "x-ms-azurevm-osversion-major": int(osinfo.get("OSVersionMajor",
                                                           info.get("OSVersionMajor", 0))),
            "x-ms-azurevm-osversion-minor": int(osinfo.get("OSVersionMinor",
                                                           info.get("OSVersionMinor", 0))),
            "x-ms-azurevm-signingdisabled": True,
            "x-ms-azurevm-testsigning-enabled": False,
            "x-ms-azurevm-vmid": str(vmconf.get("vmUniqueId", "")).upper(),
            "x-ms-isolation-tee": tee,
        })
        runtime = {"keys": [result.ephemeral_jwk]}
        if result.client_payload:
            runtime["client-payload"] = result.client_payload
        claims["x-ms-runtime"] = runtime
        return claims

    @staticmethod
    def envelope(jwt, ephemeral_key):
        """§d.3: AES-256-GCM (12-byte IV, AAD "Transport Key", 16-byte tag) of the JWT; the AES
        key RSAES-PKCS1-v1_5 encrypted to the TPM ephemeral key."""
        key = os.urandom(32)
        iv = os.urandom(12)
        sealed = AESGCM(key).encrypt(iv, jwt.encode(), b"Transport Key")
        env = {"EncryptedInnerKey": jose.b64std(ephemeral_key.encrypt(key, padding.PKCS1v15())),
               "EncryptionParams": {"BlockMode": "ChainingModeGCM", "BlockPadding": "PKCS7",
                                    "Cipher": "AES", "KeySizeInBits": 256,
                                    "Iv": jose.b64std(iv)},
               "AuthenticationData": jose.b64std(sealed[-16:]),
               "Jwt": jose.b64std(sealed[:-16])}
        return jose.b64url(json.dumps(env, separators=(",", ":")).encode())

    # ---- SevSnpVm ---------------------------------------------------------------------------
    def attest_snp(self, req):
        self._api(req, SNP_API_VERSIONS)
        body = req.json()
        report = body.get("report")
        rtd = body.get("runtimeData") or {}
        if not isinstance(report, str) or not isinstance(rtd, dict) or \
                not isinstance(rtd.get("data"), str):
            raise self.error(400, "InvalidParameter", "report and runtimeData.data are required.")
        try:
            runtime = _b64_any(rtd["data"])
        except ValueError:
            raise self.error(400, "InvalidParameter", "runtimeData.data is not base64url.") \
                from None
        ev = _evidence()
        try:
            flat = ev.verify_snp_platform(report, runtime, self.emu.trusted_ark_pem)
        except ev.EvidenceError as exc:
            raise self.error(400, exc.code, exc.message) from None
        claims = self._common(req)
        if "nonce" in body:
            claims["nonce"] = str(body["nonce"])
        claims["x-ms-attestation-type"] = "sevsnpvm"
        claims["x-ms-compliance-status"] = "azure-compliant-cvm"
        claims.update(flat)
        if rtd.get("dataType", "JSON") == "JSON":
            try:
                claims["x-ms-runtime"] = json.loads(runtime)
            except (ValueError, UnicodeDecodeError):
                raise self.error(400, "InvalidParameter", "runtimeData is not JSON.") from None
        return json_response({"token": self.sign(req, claims)})


def _pcr_indices(pcrs):
    if isinstance(pcrs, dict):
        return sorted(int(k) for k in pcrs)
    out = []
    for p in pcrs or []:
        out.append(int(p["Index"]) if isinstance(p, dict) else int(p))
    return sorted(out)
