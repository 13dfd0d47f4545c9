# SPDX-License-Identifier: Apache-2.0
"""The whole emulator in one process: PKI, seeded vaults and identities, the simulated CVM
(h5's cvm.py), IMDS/Entra/MAA/Key Vault servers, and the admin endpoint."""
import base64
import http.client
import json
import logging
import os
import secrets
import ssl
import threading
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from . import akv, entra, imds, jose, maa, pki, policy, seed, tdx
from .server import Counters, Faults, Server, Service, json_response, tls_context

LOG = logging.getLogger("skremu")
IMDS_API_VERSIONS = ("2017-09-01", "2018-02-01", "2019-08-01", "2019-11-01", "2020-06-01",
                     "2021-02-01", "2021-05-01", "2021-10-01", "2023-07-01")


class AdminService(Service):
    """Loopback plain-HTTP control plane (README "Admin endpoint")."""
    name = "admin"

    def __init__(self, faults, counters, emu):
        super().__init__(faults, counters)
        self.emu = emu

    def route(self, req):
        p = req.path.rstrip("/")
        table = {("GET", "/faults"): self.get_faults, ("POST", "/faults"): self.set_fault,
                 ("DELETE", "/faults"): self.clear_faults,
                 ("GET", "/counters"): self.get_counters,
                 ("DELETE", "/counters"): self.reset_counters,
                 ("GET", "/info"): self.info, ("POST", "/cvm/report"): self.cvm_report,
                 ("POST", "/maa/token"): self.maa_token}
        fn = table.get((req.method, p))
        if fn is None and req.method == "GET" and p.startswith("/keys/"):
            fn = self.get_key
        return ("admin", fn) if fn else None

    def get_faults(self, req):
        return json_response({"faults": self.faults.list()})

    def set_fault(self, req):
        body = req.json()
        items = body.get("faults") if isinstance(body.get("faults"), list) else [body]
        try:
            for f in items:
                self.faults.set(f["endpoint"], f["kind"], f.get("count"), f.get("ms"),
                                f.get("retry_after"))
        except (KeyError, ValueError, TypeError) as exc:
            raise self.error(400, "BadParameter", "bad fault: %s" % exc) from None
        return json_response({"faults": self.faults.list()})

    def clear_faults(self, req):
        self.faults.clear(req.query.get("endpoint"), req.query.get("kind"))
        return json_response({"faults": self.faults.list()})

    def get_counters(self, req):
        return json_response({"counters": self.counters.get()})

    def reset_counters(self, req):
        self.counters.reset()
        return json_response({"counters": {}})

    def info(self, req):
        return json_response(self.emu.info())

    def get_key(self, req):
        parts = req.path.strip("/").split("/")
        if len(parts) != 3:
            raise self.not_found(req)
        vault = self.emu.vaults.get(parts[1])
        rec = vault.keys.get(parts[2]) if vault else None
        if rec is None:
            raise self.error(404, "KeyNotFound", "no such key")
        return json_response({"versions": [self.emu.private_export(v) for v in rec.versions]})

    def maa_token(self, req):
        body = req.json()
        return json_response({"token": self.emu.mint_maa_token(body.get("claims") or {})})

    def cvm_report(self, req):
        body = req.json()
        try:
            self.emu.regenerate_report(body.get("snp") or {}, body.get("tdx") or {})
        except Exception as exc:  # report the failure to the test
            LOG.exception("regenerate report")
            raise self.error(400, "BadParameter", "cannot regenerate the report: %s" % exc) \
                from None
        return json_response({"ok": True, "snp": body.get("snp") or {},
                              "tdx": body.get("tdx") or {}})


class Emulator:
    def __init__(self, directory, seed_data, with_cvm=True, cvm_type="snp"):
        if cvm_type not in ("snp", "tdx"):
            raise ValueError("cvm type must be snp or tdx, not %r" % cvm_type)
        self.dir = os.path.abspath(directory)
        self.seed = seed_data
        self.with_cvm = with_cvm
        self.cvm_type = cvm_type
        self.tenant = seed_data.get("tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47")
        self.entra_issuer = "https://sts.windows.net/%s/" % self.tenant
        self.imds_api_versions = IMDS_API_VERSIONS
        self.faults = Faults()
        self.counters = Counters()
        self.vaults = {}
        self.vaults_by_host = {}
        self.identities = []
        self.sp_certs = {}           # client_id -> [(x5t, public key)]
        self.federated_keys = {}     # issuer -> private key
        self.cvm = None
        self.amd = None
        self.snp_fields = dict(seed_data.get("cvm", {}).get("snp", {}))
        self.td_fields = dict(seed_data.get("cvm", {}).get("tdx", {}))
        self.servers = {}
        self._base_snp = {}
        self._base_td = {}
        # TDX: the quoting key IMDS /acc/tdquote signs with and MAA trusts (stand-in for the
        # PCK chain up to Intel's root); the route is only served by a TDX CVM (tdquote set).
        self.tdx_quote_key = None
        self.tdquote = None
        self._stop = threading.Event()
        self._serving = []           # servers whose serve_forever() runs

    # ---- lookups used by the services -----------------------------------------------------
    def identity_by_oid(self, oid):
        return next((i for i in self.identities if i["object_id"] == oid), None)

    def identity_by_client_id(self, cid):
        return next((i for i in self.identities if i["client_id"] == cid), None)

    def managed_identity(self, selector, value):
        mis = [i for i in self.identities if i["type"] == "managed-identity"]
        if selector is None:
            return next((i for i in mis if i.get("system_assigned")), None)
        if selector == "msi_res_id":
            value = urllib.parse.unquote(value).lower()
            return next((i for i in mis if i.get("msi_res_id", "").lower() == value), None)
        return next((i for i in mis if i.get(selector, "").lower() == value.lower()), None)

    def sp_cert_key(self, ident, x5t_value):
        for thumb, key in self.sp_certs.get(ident["client_id"], []):
            if thumb == x5t_value:
                return key
        return None

    def federated_issuer_key(self, issuer):
        return self.federated_keys[issuer].public_key()

    def thim_json(self):
        return self.amd.thim_json()

    @property
    def trusted_ark_pem(self):
        return self.amd.ark_pem()

    @property
    def tdx_quote_public(self):
        return self.tdx_quote_key.public_key() if self.tdx_quote_key is not None else None

    def _tdquote(self, report_text):
        """IMDS /acc/tdquote: the TD report (b64 or b64url) checked like a quoting enclave does,
        then a quote v4 signed by the emulator's quoting key, as b64url without padding."""
        try:
            raw = jose.b64url_decode(report_text)
            tdx.check_report(raw)
        except (ValueError, TypeError) as exc:
            raise ValueError("not a valid TD report: %s" % exc) from None
        return jose.b64url(tdx.fake_quote(raw, self.tdx_quote_key))

    @property
    def ak_ca_pem(self):
        return pki.pem_cert(self.pki.ak_ca).encode()

    def resolve_authority_key(self, authority, header):
        """Signing key of a policy authority. The emulator's own MAA is answered in-process from
        the same JWKS its /certs serves; any other authority is fetched over HTTPS
        (authority/.well-known/openid-configuration -> jwks_uri -> kid). The token's jku is not
        trusted."""
        if policy.same_authority(authority, self.maa_url):
            jwks = self.maa.jwks()
        else:
            jwks = fetch_jwks(authority, os.path.join(self.dir, "ca.pem"))
        for k in jwks.get("keys", []):
            if k.get("kid") == header.get("kid"):
                if k.get("x5c"):
                    return _x5c_public_key(k["x5c"][0])
                return jose.jwk_to_public_key(k)
        raise policy.TokenInvalid("no signing key %r at authority %s"
                                  % (header.get("kid"), authority))

    def private_export(self, kv):
        out = {"version": kv.version, "kty": kv.kty, "exportable": kv.exportable}
        if isinstance(kv.material, bytes):
            out["k"] = jose.b64url(kv.material)
        else:
            out["pem"] = akv.private_pem(kv.material).decode()
        return out

    # ---- start-up ---------------------------------------------------------------------------
    def _bind(self):
        self.maa = maa.MaaService(self.faults, self.counters, self)
        self.akv = akv.KeyVaultService(self.faults, self.counters, self)
        self.entra = entra.EntraService(self.faults, self.counters, self)
        self.imds = imds.ImdsService(self.faults, self.counters, self)
        self.admin = AdminService(self.faults, self.counters, self)
        for svc in (self.maa, self.akv, self.entra, self.imds, self.admin):
            self.servers[svc.name] = Server(svc)

    def _tls(self, paths):
        wrong = paths["wrong-host"]
        for name in ("maa", "akv", "entra"):
            svc = self.servers[name].service
            self.servers[name].ssl_context = tls_context(*paths[name], wrong_host=wrong,
                                                         service=svc)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        pki.set_key_cache(os.environ.get("SKR_EMU_KEY_CACHE") or os.path.join(
            os.path.expanduser("~"), ".cache", "skr-emulator"))
        pki.prefill_cache(self._cached_rsa_keys())
        self._bind()
        akv_port = self.servers["akv"].port
        vault_hosts, mhsm_hosts = [], []
        for v in self.seed["vaults"]:
            kind = v.get("kind", "vault")
            host = "%s.%s.%s" % (v["name"], "vault" if kind == "vault" else "managedhsm",
                                 pki.DOMAIN)
            (vault_hosts if kind == "vault" else mhsm_hosts).append(host)
            vault = akv.Vault(v["name"], kind, host, akv_port)
            self.vaults[v["name"]] = vault
            self.vaults_by_host[host] = vault
        self.pki = pki.Pki(vault_hosts, mhsm_hosts)
        self.maa_url = "https://%s:%d" % (self.pki.maa_host, self.servers["maa"].port)
        self.login_url = "https://%s:%d" % (self.pki.login_host, self.servers["entra"].port)
        self.pki.set_maa_url(self.maa_url)
        self._tls(self.pki.write(self.dir))
        self._seed_keys()
        self._seed_identities()
        from . import snp
        self.amd = snp.AmdChain.generate(new_rsa=pki.new_rsa)
        if "reported_tcb" in self.snp_fields:     # the seed's CVM runs at another TCB
            self.amd.reissue_vcek(snp.SnpReport(
                reported_tcb=self.snp_fields["reported_tcb"]).reported_tcb)
        self.amd.save(os.path.join(self.dir, "amd"))
        self.tdx_quote_key = ec.generate_private_key(ec.SECP256R1())
        os.makedirs(os.path.join(self.dir, "tdx"), exist_ok=True)
        with open(os.path.join(self.dir, "tdx", "quote-key.pub.pem"), "wb") as f:
            f.write(self.tdx_quote_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        if self.with_cvm:
            self._start_cvm()
        for srv in self.servers.values():
            srv.start()
            self._serving.append(srv)
        self.write_env()

    def _cached_rsa_keys(self):
        """(bits, purpose) of every cached RSA key start() asks pki.new_rsa() for (a name
        missing here is only generated later, serially)."""
        out = [(2048, p) for p in ("kv-jws-leaf", "ak-ca", "maa-signing", "entra-signing",
                                   "amd-ark", "amd-ask")]
        for spec in self.seed.get("keys", []):
            if akv.base_kty(spec["kty"]) == "RSA":
                out.append((spec.get("size") or 2048,
                            "key-%s-%s" % (spec["vault"], spec["name"])))
        for spec in self.seed.get("identities", []):
            if spec.get("certificate"):
                out.append((2048, "sp-" + spec["name"]))
            if spec.get("federated"):
                out.append((2048, "oidc-issuer"))
        return out

    def _seed_keys(self):
        keys_dir = os.path.join(self.dir, "keys")
        os.makedirs(keys_dir, mode=0o700, exist_ok=True)
        for spec in self.seed.get("keys", []):
            vault = self.vaults[spec["vault"]]
            material = akv.generate(spec["kty"], spec.get("size"), spec.get("curve"),
                                    purpose="key-%s-%s" % (vault.name, spec["name"]))
            kv = akv.KeyVersion(spec["kty"], material, spec.get("exportable", False),
                                seed.key_policy(spec, self.maa_url), spec.get("key_ops"),
                                spec.get("immutable", False))
            rec = vault.add_version(spec["name"], kv)
            if spec.get("certificate"):
                cert = vault.self_signed_certificate(spec["name"], rec)
                with open(os.path.join(keys_dir, "%s.%s.crt" % (vault.name, spec["name"])),
                          "w") as f:
                    f.write(pki.pem_cert(cert))
            path = os.path.join(keys_dir, "%s.%s.%s" % (vault.name, spec["name"],
                                                       "bin" if isinstance(material, bytes)
                                                       else "pem"))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(akv.private_pem(material))

    def _seed_identities(self):
        id_dir = os.path.join(self.dir, "identities")
        os.makedirs(id_dir, mode=0o700, exist_ok=True)
        public = []
        for spec in self.seed.get("identities", []):
            ident = dict(spec)
            entry = {k: ident.get(k) for k in ("name", "type", "client_id", "object_id",
                                               "msi_res_id", "system_assigned") if k in ident}
            if ident.get("secret") == "generate":
                ident["secret"] = secrets.token_urlsafe(30)
            if ident.get("secret"):
                entry["secret_file"] = self._write_private(id_dir, ident["name"] + ".secret",
                                                           ident["secret"].encode())
            if ident.get("certificate"):
                entry["certificate_file"] = self._sp_cert(id_dir, ident)
            for fed in ident.get("federated", []):
                entry["federated_token_file"] = self._federated_token(id_dir, ident, fed)
            self.identities.append(ident)
            public.append(entry)
        with open(os.path.join(self.dir, "identities.json"), "w") as f:
            json.dump({"tenant": self.tenant, "identities": public}, f, indent=2)

    @staticmethod
    def _write_private(d, name, data):
        path = os.path.join(d, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path

    def _sp_cert(self, d, ident):
        key = pki.new_rsa(2048, "sp-" + ident["name"])
        cert = pki.issue("sp-" + ident["name"], key.public_key(), key, days=365)
        self.sp_certs.setdefault(ident["client_id"], []).append((jose.x5t(cert),
                                                                 cert.public_key()))
        return self._write_private(d, ident["name"] + ".pem",
                                   (pki.pem_cert(cert) + pki.pem_key(key)).encode())

    def _federated_token(self, d, ident, fed):
        """Stand-in for the AKS projected service-account token: a JWT from the seeded OIDC
        issuer, valid 24 h."""
        key = self.federated_keys.get(fed["issuer"])
        if key is None:
            key = pki.new_rsa(2048, "oidc-issuer")
            self.federated_keys[fed["issuer"]] = key
        now = int(time.time())
        kid = jose.thumbprint(jose.public_jwk(key))
        token = jose.sign_rs256({"alg": "RS256", "kid": kid, "typ": "JWT"},
                                {"aud": [fed.get("audience", entra.FEDERATED_AUDIENCE)],
                                 "exp": now + 86400, "iat": now, "nbf": now,
                                 "iss": fed["issuer"], "sub": fed["subject"]}, key)
        return self._write_private(d, ident["name"] + ".token", token.encode())

    def _start_cvm(self):
        from . import cvm
        state = os.path.join(self.dir, "cvm")
        os.makedirs(state, exist_ok=True)
        self.cvm = cvm.start(state, port=0)
        cvm.provision(self.cvm, self.amd, self.pki.ak_ca_key, self.pki.ak_ca, self.snp_fields,
                      tee=self.cvm_type, td_fields=self.td_fields)
        self._base_snp = dict(self.cvm.config["snp_fields"])
        self._base_td = dict(self.cvm.config["td_fields"])
        if self.cvm_type == "tdx":
            self.tdquote = self._tdquote

    def regenerate_report(self, fields, td_fields=None):
        """Admin hook: rebuild the CVM's HCL report with other SNP fields (debug bit, measurement,
        host data, vmpl...) or, on a TDX CVM, TD report fields (attributes, mrtd, rtmr0...; hex
        strings for byte fields). Unset fields return to the values of provisioning (h5's
        defaults + the seed's cvm.snp / cvm.tdx)."""
        if self.cvm is None or self.cvm.config is None:
            raise RuntimeError("no simulated CVM (started with --no-cvm)")
        cfg = dict(self._base_snp)
        cfg.update(fields)
        tdc = dict(self._base_td)
        tdc.update(td_fields or {})
        tdx.TdReport(**{k: v for k, v in tdc.items() if k != "report_data"})  # validate names
        self._follow_reported_tcb(cfg)
        self.cvm.config["snp_fields"] = cfg
        self.cvm.config["td_fields"] = tdc
        self.cvm.regenerate()
        self.snp_fields = dict(fields)
        self.td_fields = dict(td_fields or {})

    def _follow_reported_tcb(self, snp_fields):
        """A platform at another TCB has the VCEK of that TCB, and THIM serves that one: reissue
        the test VCEK for the report's reported_tcb (same chip, same key: the relay keeps
        signing with it) so that MAA accepts the report and the release policy judges the SVN
        claims. Without this a changed TCB only made MAA refuse (VCEK/TCB mismatch)."""
        from . import snp
        tcb = snp.SnpReport(**{k: v for k, v in snp_fields.items()
                               if k != "report_data"}).reported_tcb
        if tcb != self.amd.tcb:
            self.amd.reissue_vcek(tcb)
            self.amd.save(os.path.join(self.dir, "amd"))

    def mint_maa_token(self, claims):
        """Admin/test helper: a token signed by the emulator's MAA key (iss, iat, nbf, exp
        defaulted), to drive the release policy engine without a TPM."""
        now = int(time.time())
        full = {"exp": now + maa.TOKEN_LIFETIME, "iat": now, "nbf": now, "iss": self.maa_url,
                "jti": secrets.token_hex(32), "x-ms-ver": "1.0"}
        full.update(claims)
        header = {"alg": "RS256", "jku": self.maa_url + "/certs", "kid": self.pki.maa_kid,
                  "typ": "JWT"}
        return jose.sign_rs256(header, full, self.pki.maa_key)

    # ---- env / config -------------------------------------------------------------------------
    def endpoints(self):
        vault = next((v for v in self.vaults.values() if v.kind == "vault"), None)
        mhsm = next((v for v in self.vaults.values() if v.kind == "managedhsm"), None)
        return {"SKR_EMU_DIR": self.dir,
                "SKR_EMU_IMDS": "http://127.0.0.1:%d" % self.servers["imds"].port,
                "SKR_EMU_MAA": self.maa_url,
                "SKR_EMU_VAULT": vault.url if vault else "",
                "SKR_EMU_MHSM": mhsm.url if mhsm else "",
                "SKR_EMU_LOGIN": self.login_url,
                "SKR_EMU_TENANT": self.tenant,
                "SKR_EMU_ADMIN": "http://127.0.0.1:%d" % self.servers["admin"].port,
                "SKR_EMU_CA": os.path.join(self.dir, "ca.pem"),
                "SKR_EMU_TCTI": self.cvm.tcti if self.cvm else "",
                "SKR_EMU_CVM": self.cvm_type if self.cvm else "",
                "SKR_EMU_IDENTITIES": os.path.join(self.dir, "identities.json"),
                "SKR_PKCS11_CONF": os.path.join(self.dir, "skr-pkcs11.conf"),
                "SKR_EMU_PIDS": " ".join(str(p) for p in self.pids())}

    def pids(self):
        out = [os.getpid()]
        if self.cvm is not None:
            out.extend(p for p in getattr(self.cvm, "pids", [self.cvm.pid]) if p)
        return out

    def info(self):
        return {"env": self.endpoints(),
                "vaults": {n: {"url": v.url, "kind": v.kind, "keys": sorted(v.keys)}
                           for n, v in self.vaults.items()},
                "cvm": self.cvm_type if self.cvm else None,
                "snp": self.snp_fields, "tdx": self.td_fields}

    def write_env(self):
        env = self.endpoints()
        tmp = os.path.join(self.dir, "env.tmp")
        with open(tmp, "w") as f:
            for k, v in env.items():
                f.write("%s=%s\n" % (k, shell_quote(v)))
                f.write("export %s\n" % k)
        with open(os.path.join(self.dir, "skr-pkcs11.conf"), "w") as f:
            f.write(module_config(env, self.vaults))
        os.replace(tmp, os.path.join(self.dir, "env"))

    # ---- run / stop ---------------------------------------------------------------------------
    def stop(self):
        for srv in self.servers.values():
            try:
                # shutdown() waits for serve_forever() to return: only for started servers
                # (a start-up failure after _bind() would otherwise hang here forever)
                if srv in self._serving:
                    srv.shutdown()
                srv.server_close()
            except OSError:
                pass
        self._serving = []
        if self.cvm is not None:
            try:
                self.cvm.stop()
            except Exception:  # best effort at shutdown
                LOG.exception("cvm stop")
        self._stop.set()


# Public keys of JWKS x5c certificates by their exact base64 text: every release evaluates the
# same MAA token against the same signing certificate (perf only; a new certificate text is
# parsed anew).
_X5C_KEYS = {}
_X5C_KEYS_LOCK = threading.Lock()


def _x5c_public_key(b64):
    with _X5C_KEYS_LOCK:
        key = _X5C_KEYS.get(b64)
    if key is None:
        key = x509.load_der_x509_certificate(base64.b64decode(b64)).public_key()
        with _X5C_KEYS_LOCK:
            if len(_X5C_KEYS) >= 64:
                _X5C_KEYS.clear()
            _X5C_KEYS[b64] = key
    return key


def shell_quote(value):
    return "'" + str(value).replace("'", "'\\''") + "'"


def module_config(env, vaults):
    """DIR/skr-pkcs11.conf in the Appendix A format, matching the default seed."""
    demo = vaults.get("demo") or next(iter(vaults.values()))
    lines = ["; generated by skr-emulator up", "[module]", "log-level = error",
             "ca-file = %s" % env["SKR_EMU_CA"], "", "[attestation]",
             "provider = azure-cvm-vtpm", "maa-endpoint = %s" % env["SKR_EMU_MAA"],
             "tcti = %s" % env["SKR_EMU_TCTI"], "pcrs = 0-7",
             "imds-endpoint = %s" % env["SKR_EMU_IMDS"], "", "[identity]",
             "type = managed-identity", "authority-host = %s" % env["SKR_EMU_LOGIN"],
             "tenant-id = %s" % env["SKR_EMU_TENANT"], "", "[token demo]", "label = demo",
             "vault = %s" % demo.url, "source = keyvault", ""]
    keys = [("demo-rsa", "demo-rsa", True), ("demo-ec", "demo-ec", True),
            ("demo-aes", None, True), ("demo-denied", None, False),
            ("demo-nonexportable", None, False)]
    for name, cert, required in keys:
        if name not in demo.keys:
            continue
        lines += ["[key %s]" % name, "token = demo", "name = %s" % name]
        if cert:
            lines.append("certificate = %s" % cert)
        if name == "demo-aes":
            lines.append("oct-type = aes")
        lines += ["required = %s" % ("yes" if required else "no"), ""]
    return "\n".join(lines)


def fetch_jwks(authority, ca_file, timeout=5):
    """authority/.well-known/openid-configuration -> jwks_uri -> JWKS over HTTPS. *.localhost
    hosts are dialled on 127.0.0.1 with SNI/Host set to the name."""
    try:
        meta = _get_json(authority.rstrip("/") + "/.well-known/openid-configuration", ca_file,
                         timeout)
        return _get_json(meta["jwks_uri"], ca_file, timeout)
    except (OSError, ValueError, KeyError, http.client.HTTPException) as exc:
        raise policy.TokenInvalid("cannot retrieve the signing keys of %s: %s"
                                  % (authority, exc)) from None


def _get_json(url, ca_file, timeout):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "https":
        raise ValueError("authority metadata must be https")
    ctx = ssl.create_default_context(cafile=ca_file)
    host = u.hostname
    dial = "127.0.0.1" if host == "localhost" or host.endswith(".localhost") else host
    conn = http.client.HTTPSConnection(dial, u.port or 443, timeout=timeout, context=ctx)
    conn._tunnel_host = None  # pylint: disable=protected-access
    sock_host = host

    # SNI/hostname check against the real name while dialling loopback
    def connect():
        import socket
        raw = socket.create_connection((dial, u.port or 443), timeout)
        conn.sock = ctx.wrap_socket(raw, server_hostname=sock_host)
    conn.connect = connect
    path = u.path + ("?" + u.query if u.query else "")
    conn.request("GET", path or "/", headers={"Host": u.netloc, "Accept": "application/json"})
    resp = conn.getresponse()
    data = resp.read(1 << 20)
    conn.close()
    if resp.status != 200:
        raise ValueError("HTTP %d from %s" % (resp.status, url))
    return json.loads(data)

