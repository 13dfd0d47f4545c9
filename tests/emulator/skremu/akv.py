# SPDX-License-Identifier: Apache-2.0
"""Key Vault and Managed HSM data plane: keys (create, import, get, list, versions), certificates
(get) and Secure Key Release (spec §d.6, §d.7, §f, §g)."""
import datetime
import hashlib
import os
import re
import threading
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from . import jose, pki, policy
from .server import HttpError, Service, json_response

API_VERSIONS = ("7.0", "7.1", "7.2", "7.3-preview", "7.3", "7.4", "7.5", "7.6-preview.1",
                "7.6", "2025-07-01")
RELEASE_API_VERSIONS = ("7.3-preview", "7.3", "7.4", "7.5", "2025-07-01")
ENC_HASH = {"CKM_RSA_AES_KEY_WRAP": hashes.SHA1, "RSA_AES_KEY_WRAP_256": hashes.SHA256,
            "RSA_AES_KEY_WRAP_384": hashes.SHA384}
DEFAULT_ENC = "CKM_RSA_AES_KEY_WRAP"
RESOURCE = {"vault": "https://vault.azure.net", "managedhsm": "https://managedhsm.azure.net"}
KTYS = {"RSA", "RSA-HSM", "EC", "EC-HSM", "oct", "oct-HSM"}
RSA_SIZES = (2048, 3072, 4096)
OCT_SIZES = (128, 192, 256)
CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
KEY_OPS = {"RSA": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
           "EC": ["sign", "verify"], "oct": ["encrypt", "decrypt", "wrapKey", "unwrapKey"]}
NAME_RE = re.compile(r"^[0-9A-Za-z-]{1,127}$")


def base_kty(kty):
    return kty.replace("-HSM", "")


def generate(kty, size=None, curve=None, purpose=None):
    """Key material for kty: RSA/EC private key objects, oct bytes."""
    b = base_kty(kty)
    if b == "RSA":
        size = size or 2048
        if size not in RSA_SIZES:
            raise ValueError("RSA key_size must be one of 2048, 3072, 4096")
        return pki.new_rsa(size, purpose)
    if b == "EC":
        curve = curve or "P-256"
        if curve not in CURVES:
            raise ValueError("crv must be P-256, P-384 or P-521")
        return ec.generate_private_key(CURVES[curve]())
    size = size or 256
    if size not in OCT_SIZES:
        raise ValueError("oct key_size must be 128, 192 or 256")
    return os.urandom(size // 8)


class KeyVersion:
    def __init__(self, kty, material, exportable, release_policy, key_ops=None, immutable=False,
                 version=None):
        self.version = version or uuid.uuid4().hex
        self.kty = kty
        self.material = material
        self.exportable = bool(exportable)
        self.policy = release_policy        # normalised dict or None
        self.immutable = bool(immutable)
        self.key_ops = list(key_ops or KEY_OPS[base_kty(kty)])
        self.created = self.updated = int(time.time())
        self.enabled = True
        self._pkcs8 = None

    def public_members(self):
        if isinstance(self.material, bytes):
            return {}
        jwk = jose.public_jwk(self.material, akv_exponent=True)
        jwk.pop("kty")
        return jwk

    def plaintext_for_release(self):
        """§f: PKCS#8 DER for RSA/EC, raw bytes for oct (the material never changes: encoded
        once)."""
        if isinstance(self.material, bytes):
            return self.material
        if self._pkcs8 is None:
            self._pkcs8 = self.material.private_bytes(serialization.Encoding.DER,
                                                      serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption())
        return self._pkcs8

    def attributes(self, vault_kind):
        attrs = {"enabled": self.enabled, "created": self.created, "updated": self.updated,
                 "recoveryLevel": "CustomizedRecoverable+Purgeable",
                 "recoverableDays": 7 if vault_kind == "vault" else 90}
        attrs["exportable"] = self.exportable
        return attrs

    def policy_json(self, with_content_type=True):
        if self.policy is None:
            return None
        out = {}
        if with_content_type:
            out["contentType"] = "application/json; charset=utf-8"
        out["data"] = policy.encode(self.policy)
        out["immutable"] = self.immutable
        return out


class KeyRecord:
    def __init__(self, name):
        self.name = name
        self.versions = []
        self.certificate = None      # (x509 cert, version, created)

    @property
    def latest(self):
        return self.versions[-1]

    def get(self, version):
        if not version:
            return self.latest
        for v in self.versions:
            if v.version == version:
                return v
        return None


class Vault:
    def __init__(self, name, kind, host, port):
        self.name = name
        self.kind = kind
        self.host = host
        self.url = "https://%s:%d" % (host, port)
        self.keys = {}
        self.lock = threading.Lock()

    @property
    def resource(self):
        return RESOURCE[self.kind]

    def kid(self, name, version=None):
        return "%s/keys/%s%s" % (self.url, name, "/" + version if version else "")

    def add_version(self, name, kv):
        with self.lock:
            rec = self.keys.setdefault(name, KeyRecord(name))
            rec.versions.append(kv)
            return rec

    def self_signed_certificate(self, name, rec):
        """A Key Vault certificate = the key of the same name + a self-signed X.509 (issuer Self)."""
        kv = rec.latest
        now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
        subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(kv.material.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(name + ".skr.localhost")]),
                               critical=False)
                .sign(kv.material, hashes.SHA256()))
        rec.certificate = (cert, kv.version, int(time.time()))
        return cert


def select_wrapping_key(claims):
    """§e.4: first RSA key of the top-level x-ms-runtime.keys with key_ops ⊇ encrypt or use=enc."""
    runtime = claims.get("x-ms-runtime")
    keys = runtime.get("keys") if isinstance(runtime, dict) else None
    for jwk in keys if isinstance(keys, list) else []:
        if not isinstance(jwk, dict) or jwk.get("kty") not in ("RSA", "RSA-HSM"):
            continue
        ops = jwk.get("key_ops")
        ops = [ops] if isinstance(ops, str) else (ops or [])
        if "encrypt" in ops or jwk.get("use") == "enc":
            try:
                return jwk, _wrapping_public_key(jwk)
            except (KeyError, ValueError, jose.JoseError):
                continue
    return None, None


# The attestation token of a start-up is the same for every release it asks for: its wrapping
# key is built once (a fresh key object costs OpenSSL 3 a key export on first use, ~1 ms).
_WRAP_KEYS = {}
_WRAP_KEYS_LOCK = threading.Lock()


def _wrapping_public_key(jwk):
    memo = (jwk.get("kty"), jwk.get("n"), jwk.get("e"))
    with _WRAP_KEYS_LOCK:
        key = _WRAP_KEYS.get(memo)
    if key is None:
        key = jose.jwk_to_public_key(jwk)
        with _WRAP_KEYS_LOCK:
            if len(_WRAP_KEYS) >= 256:
                _WRAP_KEYS.clear()
            _WRAP_KEYS[memo] = key
    return key


def wrap_key_hsm(wrapping_jwk, wrapping_key, enc, plaintext):
    """C1 = RSA-OAEP(hash of enc, MGF1 same hash, empty label) of a fresh AES-256 key,
    C2 = AES-KWP (RFC 5649); key_hsm = b64url-np(JSON)."""
    aes = os.urandom(32)
    h = ENC_HASH[enc]
    c1 = wrapping_key.encrypt(aes, padding.OAEP(mgf=padding.MGF1(h()), algorithm=h(), label=None))
    c2 = aes_key_wrap_with_padding(aes, plaintext)
    kid = wrapping_jwk.get("kid") or jose.thumbprint(wrapping_jwk)
    blob = {"schema_version": "1.0", "header": {"kid": kid, "alg": "dir", "enc": enc},
            "ciphertext": jose.b64url(c1 + c2)}
    return jose.b64url(jose.compact_json(blob).encode())


class KeyVaultService(Service):
    name = "akv"
    endpoints = ("akv-key-create", "akv-key-import", "akv-key-list", "akv-key-versions",
                 "akv-key-get", "akv-release", "akv-certificate", "akv-certificate-list")

    def __init__(self, faults, counters, emu):
        super().__init__(faults, counters)
        self.emu = emu          # the Emulator: pki, identities, maa, tenant, vaults by host
        self._jws_header = None  # (leaf, chain, encoded JWS header) of the release answers

    # ---- plumbing -------------------------------------------------------------------------
    def extra_headers(self, req):
        return [("Cache-Control", "no-cache"), ("Pragma", "no-cache"), ("Expires", "-1"),
                ("Strict-Transport-Security", "max-age=31536000;includeSubDomains"),
                ("X-Content-Type-Options", "nosniff"),
                ("x-ms-keyvault-network-info",
                 "conn_type=Ipv4;addr=127.0.0.1;act_addr_fam=InterNetwork;"),
                ("x-ms-keyvault-region", "skr-local"),
                ("x-ms-keyvault-service-version", "1.9.358.1")]

    def route(self, req):
        vault = self.emu.vaults_by_host.get(req.host)
        if vault is None:
            return None
        parts = req.path.split("/")[1:]
        m = req.method
        if parts and parts[-1] == "" and len(parts) == 3:
            parts = parts[:-1]          # /keys/{name}/
        fn = None
        if parts[:1] == ["keys"]:
            fn = self._route_keys(m, parts)
        elif parts[:1] == ["certificates"]:
            if m == "GET" and len(parts) == 1:
                fn = ("akv-certificate-list", self.list_certificates)
            elif m == "GET" and len(parts) in (2, 3):
                fn = ("akv-certificate", self.get_certificate)
        if fn is None:
            return None
        endpoint, handler = fn
        return endpoint, lambda r: handler(r, vault, parts)

    def _route_keys(self, m, parts):
        n = len(parts)
        if m == "GET" and n == 1:
            return "akv-key-list", self.list_keys
        if m == "POST" and n == 3 and parts[2] == "create":
            return "akv-key-create", self.create_key
        if m == "PUT" and n == 2:
            return "akv-key-import", self.import_key
        if m == "GET" and n == 3 and parts[2] == "versions":
            return "akv-key-versions", self.list_versions
        if m == "GET" and n in (2, 3):
            return "akv-key-get", self.get_key
        if m == "POST" and parts[-1] == "release" and n in (3, 4):
            return "akv-release", self.release
        return None

    def not_found(self, req):
        return self.error(404, "NotFound", "The requested resource was not found: %s %s"
                          % (req.method, req.path))

    def _api_version(self, req, allowed=API_VERSIONS):
        v = req.query.get("api-version")
        if not v:
            raise self.error(400, "BadParameter", "The api-version query parameter "
                             "(?api-version=) is required for all requests.")
        if v not in allowed:
            raise self.error(400, "BadParameter", "The specified version (%s) is not recognized. "
                             "Consider using the latest supported version (%s)."
                             % (v, allowed[-1]))
        return v

    def _challenge(self, vault):
        return [("WWW-Authenticate", 'Bearer authorization="%s/%s", resource="%s"'
                 % (self.emu.login_url, self.emu.tenant, vault.resource))]

    def _unauthorized(self, vault, message):
        return self.error(401, "Unauthorized", message, headers=self._challenge(vault))

    def authenticate(self, req, vault, permission):
        """Bearer token issued by the emulator's Entra for this vault's resource; returns the
        identity, after checking its permission on this vault."""
        auth = req.headers.get("Authorization") or ""
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise self._unauthorized(vault, "AKV10000: Request is missing a Bearer or PoP token.")
        token = auth[7:].strip()
        try:
            _h, claims = jose.verify_rs256(token, self.emu.pki.entra_key.public_key())
        except jose.JoseError:
            raise self._unauthorized(vault, "AKV10032: Invalid issuer or signature.") from None
        if claims.get("iss") != self.emu.entra_issuer:
            raise self._unauthorized(vault, "AKV10032: Invalid issuer. Expected one of %s, "
                                     "found %s." % (self.emu.entra_issuer, claims.get("iss")))
        aud = claims.get("aud")
        if aud not in (vault.resource, vault.resource + "/"):
            raise self._unauthorized(vault, "AKV10022: Invalid audience. Expected %s, found: "
                                     "%s." % (vault.resource, aud))
        now = time.time()
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now:
            raise self._unauthorized(vault, "AKV10035: Token is expired.")
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now + 300:
            raise self._unauthorized(vault, "AKV10036: Token is not yet valid.")
        ident = self.emu.identity_by_oid(claims.get("oid"))
        perms = ident.get("permissions", {}).get(vault.name, []) if ident else []
        if permission not in perms and "all" not in perms:
            who = "appid=%s;oid=%s;iss=%s" % (claims.get("appid"), claims.get("oid"),
                                              claims.get("iss"))
            raise self.error(403, "Forbidden", "The user, group or application '%s' does not have "
                             "keys %s permission on key vault '%s;location=skr-local'. For help "
                             "resolving this issue, please see "
                             "https://go.microsoft.com/fwlink/?linkid=2125287"
                             % (who, permission, vault.name), innererror={"code": "AccessDenied"})
        return ident

    def _record(self, vault, name, version=None):
        rec = vault.keys.get(name)
        kv = rec.get(version) if rec else None
        if kv is None:
            raise self.error(404, "KeyNotFound", "A key with (name/id) %s%s was not found in this "
                             "key vault. If you recently deleted this key you may be able to "
                             "recover it using the correct recovery command. For help resolving "
                             "this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"
                             % (name, "/" + version if version else ""))
        return rec, kv

    def key_bundle(self, vault, name, kv):
        key = {"kid": vault.kid(name, kv.version), "kty": kv.kty, "key_ops": kv.key_ops}
        key.update(kv.public_members())
        out = {"key": key, "attributes": kv.attributes(vault.kind)}
        if kv.policy is not None:
            out["release_policy"] = kv.policy_json()
        return out

    # ---- keys -----------------------------------------------------------------------------
    def get_key(self, req, vault, parts):
        self._api_version(req)
        self.authenticate(req, vault, "get")
        version = parts[2] if len(parts) == 3 else None
        _rec, kv = self._record(vault, parts[1], version)
        return json_response(self.key_bundle(vault, parts[1], kv))

    def list_keys(self, req, vault, parts):
        self._api_version(req)
        self.authenticate(req, vault, "list")
        items = []
        for name, rec in sorted(vault.keys.items()):
            item = {"kid": vault.kid(name), "attributes": rec.latest.attributes(vault.kind)}
            if rec.certificate:
                item["managed"] = True
            items.append(item)
        return json_response({"value": items, "nextLink": None})

    def list_versions(self, req, vault, parts):
        self._api_version(req)
        self.authenticate(req, vault, "list")
        rec, _kv = self._record(vault, parts[1])
        items = [{"kid": vault.kid(parts[1], v.version), "attributes": v.attributes(vault.kind)}
                 for v in rec.versions]
        return json_response({"value": items, "nextLink": None})

    def _parse_policy(self, body):
        rp = body.get("release_policy")
        if rp is None:
            return None, False
        if not isinstance(rp, dict) or not isinstance(rp.get("data"), str):
            raise self.error(400, "BadParameter", "release_policy.data must be a b64url string.")
        try:
            return policy.normalize(policy.decode(rp["data"])), bool(rp.get("immutable", False))
        except policy.PolicyError as exc:
            raise self.error(400, "BadParameter", "Invalid release policy: %s" % exc) from None

    def _check_exportable(self, kty, exportable, pol):
        if exportable and not kty.endswith("-HSM"):
            raise self.error(400, "BadParameter", "Exportable keys must be HSM-protected "
                             "(RSA-HSM, EC-HSM or oct-HSM).")
        if exportable and pol is None:
            raise self.error(400, "BadParameter", "Exportable keys must have a release policy.")

    def create_key(self, req, vault, parts):
        self._api_version(req)
        self.authenticate(req, vault, "create")
        name = parts[1]
        body = req.json()
        kty = body.get("kty")
        if kty not in KTYS:
            raise self.error(400, "BadParameter", "Invalid kty %r." % (kty,))
        attrs = body.get("attributes") or {}
        pol, immutable = self._parse_policy(body)
        exportable = bool(attrs.get("exportable", False))
        self._check_exportable(kty, exportable, pol)
        try:
            material = generate(kty, body.get("key_size"), body.get("crv"))
        except ValueError as exc:
            raise self.error(400, "BadParameter", str(exc)) from None
        if not NAME_RE.match(name):
            raise self.error(400, "BadParameter", "Invalid key name %r." % name)
        kv = KeyVersion(kty, material, exportable, pol, body.get("key_ops"), immutable)
        vault.add_version(name, kv)
        return json_response(self.key_bundle(vault, name, kv))

    def import_key(self, req, vault, parts):
        self._api_version(req)
        self.authenticate(req, vault, "import")
        name = parts[1]
        body = req.json()
        jwk = body.get("key")
        if not isinstance(jwk, dict):
            raise self.error(400, "BadParameter", "The 'key' JWK is required.")
        try:
            kty, material = jwk_private(jwk, bool(body.get("hsm")))
        except (KeyError, ValueError, TypeError) as exc:
            raise self.error(400, "BadParameter", "Invalid JWK: %s" % exc) from None
        attrs = body.get("attributes") or {}
        pol, immutable = self._parse_policy(body)
        exportable = bool(attrs.get("exportable", False))
        self._check_exportable(kty, exportable, pol)
        kv = KeyVersion(kty, material, exportable, pol, jwk.get("key_ops"), immutable)
        vault.add_version(name, kv)
        return json_response(self.key_bundle(vault, name, kv))

    # ---- certificates ---------------------------------------------------------------------
    def certificate_bundle(self, vault, name, rec):
        cert, version, created = rec.certificate
        der = jose.cert_der(cert)
        kv = rec.get(version)
        base = vault.url
        attrs = {"enabled": True,
                 "nbf": int(cert.not_valid_before.replace(tzinfo=datetime.timezone.utc).timestamp()),
                 "exp": int(cert.not_valid_after.replace(tzinfo=datetime.timezone.utc).timestamp()),
                 "created": created, "updated": created,
                 "recoveryLevel": "CustomizedRecoverable+Purgeable", "recoverableDays": 90}
        pub = kv.material.public_key()
        key_props = {"exportable": kv.exportable, "kty": base_kty(kv.kty), "reuse_key": False}
        if isinstance(pub, rsa.RSAPublicKey):
            key_props["key_size"] = pub.key_size
        else:
            key_props["crv"] = jose.curve_name(pub)
        return {"id": "%s/certificates/%s/%s" % (base, name, version),
                "kid": "%s/keys/%s/%s" % (base, name, version),
                "sid": "%s/secrets/%s/%s" % (base, name, version),
                "x5t": jose.b64url(hashlib.sha1(der).digest()),
                "cer": jose.b64std(der),
                "attributes": attrs,
                "policy": {"id": "%s/certificates/%s/policy" % (base, name),
                           "key_props": key_props,
                           "secret_props": {"contentType": "application/x-pkcs12"},
                           "x509_props": {"subject": "CN=%s" % name,
                                          "sans": {"dns_names": [name + ".skr.localhost"]},
                                          "validity_months": 12},
                           "issuer": {"name": "Self"},
                           "attributes": {"enabled": True, "created": created,
                                          "updated": created}}}

    def get_certificate(self, req, vault, parts):
        self._api_version(req)
        self.authenticate(req, vault, "get")
        rec = vault.keys.get(parts[1])
        if rec is None or rec.certificate is None or (
                len(parts) == 3 and parts[2] and parts[2] != rec.certificate[1]):
            raise self.error(404, "CertificateNotFound", "A certificate with (name/id) %s was not "
                             "found in this key vault." % "/".join(parts[1:]))
        return json_response(self.certificate_bundle(vault, parts[1], rec))

    def list_certificates(self, req, vault, parts):
        self._api_version(req)
        self.authenticate(req, vault, "list")
        items = []
        for name, rec in sorted(vault.keys.items()):
            if rec.certificate:
                b = self.certificate_bundle(vault, name, rec)
                items.append({"id": "%s/certificates/%s" % (vault.url, name), "x5t": b["x5t"],
                              "attributes": b["attributes"]})
        return json_response({"value": items, "nextLink": None})

    # ---- release --------------------------------------------------------------------------
    def release(self, req, vault, parts):
        api = self._api_version(req, RELEASE_API_VERSIONS)
        self.authenticate(req, vault, "release")
        name = parts[1]
        version = parts[2] if len(parts) == 4 and parts[2] else None
        _rec, kv = self._record(vault, name, version)
        body = req.json()
        target = body.get("target")
        if not isinstance(target, str) or not target:
            raise self.error(400, "BadParameter", "The 'target' attestation token is required.")
        enc = body.get("enc") or DEFAULT_ENC
        if enc not in ENC_HASH:
            raise self.error(400, "BadParameter", "Unsupported 'enc' value %r; expected one of %s."
                             % (enc, ", ".join(ENC_HASH)))
        if not kv.exportable or kv.policy is None:
            raise self.error(400, "BadParameter", "The key '%s' is not exportable; only keys with "
                             "attributes.exportable = true and a release policy can be released."
                             % name)
        try:
            claims = policy.evaluate(kv.policy, target, self.emu.resolve_authority_key)
        except policy.TokenInvalid as exc:
            raise self.error(400, "BadParameter", "Target environment attestation statement "
                             "cannot be verified: %s." % exc) from None
        except policy.ReleaseDenied as exc:
            raise self.error(403, "Forbidden", "Target environment attestation statement does not "
                             "satisfy the key release policy: %s." % exc,
                             innererror={"code": "ReleasePolicyNotSatisfied"}) from None
        jwk, pub = select_wrapping_key(claims)
        if jwk is None:
            raise self.error(400, "BadParameter", "The attestation token has no RSA encryption key "
                             "in x-ms-runtime.keys to wrap the released key to.")
        key = {"kid": vault.kid(name, kv.version), "kty": kv.kty, "key_ops": kv.key_ops}
        key.update(kv.public_members())
        key["key_hsm"] = wrap_key_hsm(jwk, pub, enc, kv.plaintext_for_release())
        request = {"api-version": api, "enc": enc, "kid": vault.kid(name, version)}
        if isinstance(body.get("nonce"), str):
            request["nonce"] = body["nonce"]
        payload = {"request": request,
                   "response": {"key": {"key": key, "attributes": kv.attributes(vault.kind),
                                        "release_policy": kv.policy_json(False)}}}
        jws = self.sign_jws(payload)
        if req.fault("bad-signature"):
            jws = jose.corrupt_signature(jws)
        return json_response({"value": jws})

    def sign_jws(self, payload):
        p = self.emu.pki
        leaf = p.kv_leaf
        chain = tuple(p.kv_chain)
        cached = self._jws_header
        if cached is None or cached[0] is not leaf or cached[1] != chain:
            # the same header for every answer signed by this chain: encoded once per chain
            header = {"alg": "RS256", "kid": pki.thumb_sha1_hex(leaf), "x5t": jose.x5t(leaf),
                      "typ": "JWT", "x5t#S256": jose.x5t_s256(leaf),
                      "x5c": [jose.b64std(jose.cert_der(c)) for c in chain]}
            cached = self._jws_header = (leaf, chain, jose.compact_json(header).encode())
        return jose.sign_rs256(cached[2], payload, p.kv_leaf_key)


def jwk_private(jwk, hsm):
    """Private key material from an import JWK."""
    kty = jwk["kty"]
    b = base_kty(kty)
    if hsm and not kty.endswith("-HSM"):
        kty = b + "-HSM"
    if b == "RSA":
        n, e, d = (jose.b64_int(jwk[k]) for k in ("n", "e", "d"))
        p, q = jose.b64_int(jwk["p"]), jose.b64_int(jwk["q"])
        nums = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                     rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, n))
        key = nums.private_key()
        if key.key_size not in RSA_SIZES:
            raise ValueError("RSA size must be 2048, 3072 or 4096")
        return kty, key
    if b == "EC":
        crv = jwk["crv"]
        if crv not in CURVES:
            raise ValueError("unsupported crv")
        key = ec.derive_private_key(jose.b64_int(jwk["d"]), CURVES[crv]())
        return kty, key
    if b == "oct":
        raw = jose.b64url_decode(jwk["k"])
        if len(raw) * 8 not in OCT_SIZES:
            raise ValueError("oct key must be 128, 192 or 256 bits")
        return kty, raw
    raise ValueError("unsupported kty")


def private_pem(material):
    """PEM/raw export of seeded key material for the tests (DIR/keys)."""
    if isinstance(material, bytes):
        return material
    return material.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())


__all__ = ["KeyVaultService", "Vault", "KeyVersion", "generate", "select_wrapping_key",
           "wrap_key_hsm", "HttpError"]
