# SPDX-License-Identifier: Apache-2.0
"""Entra ID (AAD) client-credentials token endpoint: client secret, client assertion signed by a
registered certificate, and federated (AKS workload identity) assertions. Also the token issuer
shared with IMDS."""
import datetime
import hmac
import os
import time
import uuid

from . import jose
from .server import HttpError, Service, json_response

SCOPES = {"https://vault.azure.net/.default": "https://vault.azure.net",
          "https://managedhsm.azure.net/.default": "https://managedhsm.azure.net"}
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FEDERATED_AUDIENCE = "api://AzureADTokenExchange"
ACCESS_TOKEN_LIFETIME = 3599


def issue_access_token(emu, ident, resource, req=None):
    """A v1-style access token signed by the Entra key (aud = resource, oid/appid, exp)."""
    now = int(time.time())
    expired = req is not None and req.fault("expired")
    if expired:
        now -= ACCESS_TOKEN_LIFETIME + 3600
    iss = emu.entra_issuer
    if req is not None and req.fault("wrong-issuer"):
        iss = "https://sts.windows.net/11111111-2222-3333-4444-555555555555/"
    cert = emu.pki.entra_cert
    header = {"typ": "JWT", "alg": "RS256", "x5t": jose.x5t(cert), "kid": jose.x5t(cert)}
    claims = {"aud": resource, "iss": iss, "iat": now, "nbf": now,
              "exp": now + ACCESS_TOKEN_LIFETIME,
              "aio": jose.b64url(os.urandom(24)), "appid": ident["client_id"],
              "appidacr": "2" if ident.get("type") == "service-principal" else "1",
              "idp": iss, "oid": ident["object_id"], "rh": "0.AAAA" + jose.b64url(os.urandom(12)),
              "sub": ident["object_id"], "tid": emu.tenant, "uti": jose.b64url(os.urandom(16)),
              "ver": "1.0"}
    if ident.get("type") == "managed-identity" and ident.get("msi_res_id"):
        claims["xms_mirid"] = ident["msi_res_id"]
    token = jose.sign_rs256(header, claims, emu.pki.entra_key)
    if req is not None and req.fault("bad-signature"):
        token = jose.corrupt_signature(token)
    return token, now + ACCESS_TOKEN_LIFETIME, now


class EntraService(Service):
    name = "entra"
    endpoints = ("entra-token", "entra-oidc", "entra-keys")

    def __init__(self, faults, counters, emu):
        super().__init__(faults, counters)
        self.emu = emu

    def extra_headers(self, req):
        return [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache"),
                ("x-ms-ests-server", "2.1.0 - SKR emulator")]

    def route(self, req):
        if req.host != self.emu.pki.login_host:
            return None
        parts = req.path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != self.emu.tenant:
            if len(parts) >= 2 and req.method == "POST" and parts[1:] == ["oauth2", "v2.0", "token"]:
                return "entra-token", self.token
            return None
        rest = parts[1:]
        if req.method == "POST" and rest == ["oauth2", "v2.0", "token"]:
            return "entra-token", self.token
        if req.method == "GET" and rest == ["v2.0", ".well-known", "openid-configuration"]:
            return "entra-oidc", self.oidc
        if req.method == "GET" and rest == ["discovery", "v2.0", "keys"]:
            return "entra-keys", self.keys
        return None

    def aad_error(self, status, error, code, description):
        now = datetime.datetime.now(datetime.timezone.utc)
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        desc = "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s" % (
            code, description, trace, corr, now.strftime("%Y-%m-%d %H:%M:%SZ"))
        return HttpError(status, {"error": error, "error_description": desc, "error_codes": [code],
                                  "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
                                  "trace_id": trace, "correlation_id": corr,
                                  "error_uri": "%s/error?code=%d" % (self.emu.login_url, code)})

    def token_endpoint(self):
        return "%s/%s/oauth2/v2.0/token" % (self.emu.login_url, self.emu.tenant)

    def oidc(self, req):
        base = "%s/%s" % (self.emu.login_url, self.emu.tenant)
        return json_response({"token_endpoint": base + "/oauth2/v2.0/token",
                              "token_endpoint_auth_methods_supported":
                                  ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                              "jwks_uri": base + "/discovery/v2.0/keys",
                              "id_token_signing_alg_values_supported": ["RS256"],
                              "issuer": base + "/v2.0"})

    def keys(self, req):
        cert = self.emu.pki.entra_cert
        jwk = {"kty": "RSA", "use": "sig", "kid": jose.x5t(cert), "x5t": jose.x5t(cert)}
        jwk.update({k: v for k, v in jose.public_jwk(cert.public_key()).items() if k != "kty"})
        jwk["x5c"] = [jose.b64std(jose.cert_der(cert))]
        jwk["issuer"] = self.emu.entra_issuer
        return json_response({"keys": [jwk]})

    def token(self, req):
        parts = req.path.strip("/").split("/")
        if parts[0] != self.emu.tenant:
            raise self.aad_error(400, "invalid_tenant", 90002, "Tenant '%s' not found. Check to "
                                 "make sure you have the correct tenant ID." % parts[0])
        form = req.form()
        for p in ("grant_type", "client_id", "scope"):
            if not form.get(p):
                raise self.aad_error(400, "invalid_request", 900144, "The request body must "
                                     "contain the following parameter: '%s'." % p)
        if form["grant_type"] != "client_credentials":
            raise self.aad_error(400, "unsupported_grant_type", 70003, "The app requested an "
                                 "unsupported grant type '%s'." % form["grant_type"])
        resource = SCOPES.get(form["scope"])
        if resource is None:
            raise self.aad_error(400, "invalid_scope", 70011, "The provided value for the input "
                                 "parameter 'scope' is not valid. The scope %s is not valid."
                                 % form["scope"])
        ident = self.emu.identity_by_client_id(form["client_id"])
        if ident is None or ident.get("type") not in ("service-principal", "workload-identity"):
            raise self.aad_error(400, "unauthorized_client", 700016, "Application with identifier "
                                 "'%s' was not found in the directory '%s'."
                                 % (form["client_id"], self.emu.tenant))
        if form.get("client_secret"):
            self._check_secret(ident, form["client_secret"])
        elif form.get("client_assertion"):
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise self.aad_error(400, "invalid_request", 50027, "Invalid client_assertion_type.")
            self._check_assertion(ident, form["client_assertion"])
        else:
            raise self.aad_error(401, "invalid_client", 7000218, "The request body must contain "
                                 "the following parameter: 'client_assertion' or 'client_secret'.")
        token, _exp, _now = issue_access_token(self.emu, ident, resource, req)
        return json_response({"token_type": "Bearer", "expires_in": ACCESS_TOKEN_LIFETIME,
                              "ext_expires_in": ACCESS_TOKEN_LIFETIME, "access_token": token})

    def _check_secret(self, ident, secret):
        expected = ident.get("secret")
        if not expected or not hmac.compare_digest(expected.encode(), secret.encode()):
            raise self.aad_error(401, "invalid_client", 7000215, "Invalid client secret provided. "
                                 "Ensure the secret being sent in the request is the client secret "
                                 "value, not the client secret ID, for a secret added to app '%s'."
                                 % ident["client_id"])

    def _check_assertion(self, ident, assertion):
        try:
            header, claims, _s, _i = jose.split(assertion)
        except jose.JoseError:
            raise self.aad_error(400, "invalid_request", 50027, "JWT token is invalid or "
                                 "malformed.") from None
        now = time.time()
        if claims.get("iss") == ident["client_id"]:
            key = self.emu.sp_cert_key(ident, header.get("x5t"))
            if key is None:
                raise self.aad_error(401, "invalid_client", 700027, "Client assertion failed "
                                     "signature validation. [Reason - The key was not found.]")
            aud_ok = claims.get("aud") in (self.token_endpoint(),
                                           "%s/%s/v2.0" % (self.emu.login_url, self.emu.tenant))
            if claims.get("sub") != ident["client_id"] or not aud_ok:
                raise self.aad_error(401, "invalid_client", 700021, "Client assertion application "
                                     "identifier or audience does not match.")
        else:
            fed = [f for f in ident.get("federated", [])
                   if f["issuer"] == claims.get("iss") and f["subject"] == claims.get("sub")]
            aud = claims.get("aud")
            auds = aud if isinstance(aud, list) else [aud]
            if not fed or fed[0].get("audience", FEDERATED_AUDIENCE) not in auds:
                raise self.aad_error(400, "invalid_request", 70021, "No matching federated "
                                     "identity record found for presented assertion. Assertion "
                                     "Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: "
                                     "'%s'." % (claims.get("iss"), claims.get("sub"), aud))
            key = self.emu.federated_issuer_key(fed[0]["issuer"])
        try:
            jose.verify_rs256(assertion, key)
        except jose.JoseError:
            raise self.aad_error(401, "invalid_client", 700027, "Client assertion failed "
                                 "signature validation.") from None
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now - 300 or \
                (isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + 300):
            raise self.aad_error(401, "invalid_client", 700024, "Client assertion is not within "
                                 "its valid time range.")
