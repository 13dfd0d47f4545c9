# SPDX-License-Identifier: Apache-2.0
"""The emulator's PKI: one root CA and everything issued from it.

Root (EC P-384, "SKR Emulator Root CA") issues
  * TLS server certificates (EC P-256), one per service host set, plus a wrong-host certificate;
  * "SKR Emulator TLS CA 01" (EC P-256 intermediate) -> the Key Vault JWS signing leaf (RSA-2048,
    CN = vault.<domain>, SAN vault.<domain>, *.vault.<domain>, *.managedhsm.<domain>), mirroring
    the real chain vault.azure.net <- Microsoft RSA TLS CA 01 <- Baltimore CyberTrust Root;
  * "SKR Emulator AK CA" (RSA-2048), which signs the simulated vTPM's AK certificate.
Self-signed, outside the root: the MAA token-signing certificate (as the real MAA one is: subject =
issuer = the instance URL) and the Entra token-signing certificate.
"""
import datetime
import hashlib
import ipaddress
import os
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from . import jose

DOMAIN = "skr.localhost"


_KEY_CACHE = {"dir": None}


def set_key_cache(directory):
    """RSA generation costs ~0.3 s per 2048-bit key on the CI machine; to start in under 3 s the
    emulator keeps named RSA keys in a cache folder (SKR_EMU_KEY_CACHE, default
    ~/.cache/skr-emulator). None disables the cache (fresh keys every time)."""
    if directory:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    _KEY_CACHE["dir"] = directory


def _cache_path(cache, bits, purpose):
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", purpose)
    return os.path.join(cache, "%s.rsa%d.pem" % (safe, bits))


def _cache_load(path, bits):
    try:
        with open(path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), None)
        if isinstance(key, rsa.RSAPrivateKey) and key.key_size == bits:
            return key
    except (OSError, ValueError):
        pass
    return None


def _cache_store(cache, bits, purpose):
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    path = _cache_path(cache, bits, purpose)
    tmp = path + ".%d.tmp" % os.getpid()
    _write(tmp, pem_key(key), private=True)
    os.replace(tmp, path)
    return key


def new_rsa(bits=2048, purpose=None):
    """A fresh RSA key, or the cached key for `purpose` when a cache is set."""
    cache = _KEY_CACHE["dir"]
    if cache and purpose:
        return _cache_load(_cache_path(cache, bits, purpose), bits) or \
            _cache_store(cache, bits, purpose)
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _prefill_one(cache, item):
    _cache_store(cache, item[0], item[1])


def prefill_cache(wanted):
    """Generate the cached RSA keys `wanted` ((bits, purpose) pairs) that the cache lacks, in
    one process per CPU. On a cold cache (first `up` on a machine) new_rsa() would make them one
    after the other, ~0.2 s each, which put that `up` over 3 s; later calls of new_rsa() load
    them. Call before any thread is started (the workers are forked)."""
    cache = _KEY_CACHE["dir"]
    if not cache:
        return
    missing = sorted({(bits, p) for bits, p in wanted
                      if not os.path.exists(_cache_path(cache, bits, p))})
    workers = min(len(missing), os.cpu_count() or 1)
    if workers < 2:
        return
    import concurrent.futures
    import multiprocessing
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("fork"))
    try:
        list(pool.map(_prefill_one, [cache] * len(missing), missing))
    finally:                    # a SIGTERM during start-up must not wait for the queued keys
        pool.shutdown(wait=True, cancel_futures=True)


def new_ec(curve=ec.SECP256R1):
    return ec.generate_private_key(curve())


def _name(cn, org="SKR Emulator"):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _sig_hash(key):
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


def issue(subject_cn, public_key, issuer_key, issuer_cert=None, ca=False, path_len=None,
          dns=(), server=False, days=3650, org="SKR Emulator", name=None):
    """Issue a certificate. issuer_cert None = self-signed by issuer_key."""
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    subject = name or _name(subject_cn, org)
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert else subject)
               .public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now)
               .not_valid_after(now + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key()),
            critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    elif server:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False,
            key_encipherment=isinstance(public_key, rsa.RSAPublicKey), data_encipherment=False,
            key_agreement=False, key_cert_sign=False, crl_sign=False, encipher_only=False,
            decipher_only=False), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    if dns:
        alt = []
        for d in dns:
            try:
                alt.append(x509.IPAddress(ipaddress.ip_address(d)))
            except ValueError:
                alt.append(x509.DNSName(d))
        builder = builder.add_extension(x509.SubjectAlternativeName(alt), critical=False)
    return builder.sign(issuer_key, _sig_hash(issuer_key))


def pem_cert(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def pem_key(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def thumb_sha1_hex(cert):
    """Uppercase hex SHA-1 of the DER certificate (Key Vault JWS kid)."""
    return hashlib.sha1(jose.cert_der(cert)).hexdigest().upper()


def _write(path, text, private=False):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text)


class Pki:
    """All emulator credentials. Construct with the host names in use, then write(dir)."""

    def __init__(self, vault_hosts=(), mhsm_hosts=(), domain=DOMAIN):
        self.domain = domain
        self.root_key = new_ec(ec.SECP384R1)
        self.root = issue("SKR Emulator Root CA", self.root_key.public_key(), self.root_key,
                          ca=True, path_len=2, days=7300)
        self.maa_host = "maa." + domain
        self.login_host = "login." + domain
        self.vault_hosts = list(vault_hosts)
        self.mhsm_hosts = list(mhsm_hosts)
        self.tls = {}
        self.tls["maa"] = self._tls_server([self.maa_host])
        self.tls["entra"] = self._tls_server([self.login_host])
        self.tls["akv"] = self._tls_server(
            ["vault." + domain, "*.vault." + domain, "*.managedhsm." + domain]
            + self.vault_hosts + self.mhsm_hosts)
        self.tls["wrong-host"] = self._tls_server(["wrong-host.invalid." + domain])
        # Key Vault JWS signing chain: root -> intermediate -> leaf
        self.kv_int_key = new_ec()
        self.kv_int = issue("SKR Emulator TLS CA 01", self.kv_int_key.public_key(),
                            self.root_key, self.root, ca=True, path_len=0)
        self.kv_leaf_key = new_rsa(2048, "kv-jws-leaf")
        self.kv_leaf = issue("vault." + domain, self.kv_leaf_key.public_key(), self.kv_int_key,
                             self.kv_int, server=True, days=365,
                             dns=["vault." + domain, "*.vault." + domain,
                                  "*.managedhsm." + domain])
        # AK CA for the simulated vTPM
        self.ak_ca_key = new_rsa(2048, "ak-ca")
        self.ak_ca = issue("SKR Emulator AK CA", self.ak_ca_key.public_key(), self.root_key,
                           self.root, ca=True, path_len=0)
        # MAA and Entra token signing (self-signed, like MAA's own instance certificate)
        self.maa_key = new_rsa(2048, "maa-signing")
        self.entra_key = new_rsa(2048, "entra-signing")
        self.maa_cert = None
        self.entra_cert = issue("SKR Emulator Entra token signing", self.entra_key.public_key(),
                                self.entra_key, days=3650)

    def _tls_server(self, names):
        key = new_ec()
        cert = issue(names[0], key.public_key(), self.root_key, self.root, server=True,
                     dns=names, days=825)
        return key, cert

    def set_maa_url(self, url):
        """The MAA signing certificate names the instance URL (subject = issuer = URL)."""
        self.maa_cert = issue(url, self.maa_key.public_key(), self.maa_key,
                              name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, url)]))

    @property
    def maa_kid(self):
        """MAA kid: standard b64 (with padding) of SHA-256 of the signing certificate (choice)."""
        return jose.b64std(hashlib.sha256(jose.cert_der(self.maa_cert)).digest())

    @property
    def kv_chain(self):
        return [self.kv_leaf, self.kv_int, self.root]

    def write(self, directory):
        """Write ca.pem and the per-service TLS pairs under directory/pki."""
        pki_dir = os.path.join(directory, "pki")
        os.makedirs(pki_dir, exist_ok=True)
        _write(os.path.join(directory, "ca.pem"), pem_cert(self.root))
        paths = {}
        for name, (key, cert) in self.tls.items():
            cpath = os.path.join(pki_dir, name + ".crt")
            kpath = os.path.join(pki_dir, name + ".key")
            _write(cpath, pem_cert(cert))
            _write(kpath, pem_key(key), private=True)
            paths[name] = (cpath, kpath)
        _write(os.path.join(pki_dir, "ak-ca.crt"), pem_cert(self.ak_ca))
        _write(os.path.join(pki_dir, "kv-signing-chain.pem"),
               "".join(pem_cert(c) for c in self.kv_chain))
        _write(os.path.join(pki_dir, "maa-signing.crt"), pem_cert(self.maa_cert))
        _write(os.path.join(pki_dir, "entra-signing.crt"), pem_cert(self.entra_cert))
        return paths
