# SPDX-License-Identifier: Apache-2.0
"""The checks MAA makes on CVM evidence (spec §d.3, §d.4, §h), used by the emulator's MAA.

    verify_azure_guest(info, trusted_ark_pem[, ak_ca_pem, tdx_quote_key]) -> GuestResult
                                                                            (AzureGuest, SNP/TDX)
    verify_snp_platform(report_b64url, runtime_data, trusted_ark_pem) -> dict  (SevSnpVm)
Any failure raises EvidenceError(code, message).

TPM structures are parsed here by hand (big-endian, TPM 2.0 Part 2), not with tpm2-pytss, so the
server shares no code with the guest side it checks.
"""
import base64
import binascii
import hashlib
import json
import struct

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import hcl, snp, tdx

TPM_GENERATED = 0xFF544347
TPM_ST_ATTEST_CERTIFY = 0x8017
TPM_ST_ATTEST_QUOTE = 0x8018
ALG_RSA = 0x0001
ALG_SHA1 = 0x0004
ALG_SHA256 = 0x000B
ALG_SHA384 = 0x000C
ALG_SHA512 = 0x000D
ALG_NULL = 0x0010
ALG_RSASSA = 0x0014
ALG_RSAPSS = 0x0016
_HASH = {ALG_SHA1: (hashes.SHA1, hashlib.sha1), ALG_SHA256: (hashes.SHA256, hashlib.sha256),
         ALG_SHA384: (hashes.SHA384, hashlib.sha384), ALG_SHA512: (hashes.SHA512, hashlib.sha512)}
ATTR_FIXEDTPM = 0x00000002
ATTR_RESTRICTED = 0x00010000
ATTR_DECRYPT = 0x00020000
ATTR_SIGN = 0x00040000


class EvidenceError(Exception):
    """`code`: a short error code (MAA-style, e.g. "InvalidQuote"); `message`: what failed."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


def _fail(code, message):
    raise EvidenceError(code, message)


def b64any(text, what):
    """Decode standard or URL-safe base64, padded or not."""
    if not isinstance(text, (str, bytes)):
        _fail("InvalidParameter", "%s: expected a base64 string" % what)
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    t = text.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(t + "=" * (-len(t) % 4), validate=True)
    except (binascii.Error, ValueError):
        _fail("InvalidParameter", "%s: not base64" % what)
    return b""


def b64url_uint(value):
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


# ---------------------------------------------------------------------------------------------
# TPM 2.0 structure parsing

class _Reader:
    def __init__(self, data, what):
        self.data, self.off, self.what = bytes(data), 0, what

    def take(self, n):
        if self.off + n > len(self.data):
            _fail("InvalidParameter", "%s: truncated" % self.what)
        out = self.data[self.off:self.off + n]
        self.off += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def u64(self):
        return struct.unpack(">Q", self.take(8))[0]

    def tpm2b(self):
        return self.take(self.u16())

    def end(self):
        if self.off != len(self.data):
            _fail("InvalidParameter", "%s: %d trailing bytes" % (self.what,
                                                                 len(self.data) - self.off))


class TpmPublic:
    """An RSA TPMT_PUBLIC: type, name_alg, attrs, auth_policy, scheme, scheme_hash, key_bits,
    public_key (cryptography), raw (the TPMT_PUBLIC bytes), name (nameAlg || H(raw))."""

    @classmethod
    def parse_tpm2b(cls, data, what):
        r = _Reader(data, what)
        inner = r.tpm2b()
        r.end()
        return cls(inner, what)

    def __init__(self, raw, what):
        r = _Reader(raw, what)
        self.raw = bytes(raw)
        self.type = r.u16()
        self.name_alg = r.u16()
        self.attrs = r.u32()
        self.auth_policy = r.tpm2b()
        if self.type != ALG_RSA:
            _fail("InvalidParameter", "%s: not an RSA key (type 0x%04x)" % (what, self.type))
        sym = r.u16()
        if sym != ALG_NULL:
            r.u16()
            r.u16()
        self.scheme = r.u16()
        self.scheme_hash = r.u16() if self.scheme not in (ALG_NULL, 0x0015) else None
        self.key_bits = r.u16()
        exponent = r.u32() or 65537
        n = int.from_bytes(r.tpm2b(), "big")
        r.end()
        if self.name_alg not in _HASH:
            _fail("InvalidParameter", "%s: unsupported nameAlg 0x%04x" % (what, self.name_alg))
        try:
            self.public_key = rsa.RSAPublicNumbers(exponent, n).public_key()
        except ValueError:
            _fail("InvalidParameter", "%s: bad RSA public key" % what)
        self.name = struct.pack(">H", self.name_alg) + _HASH[self.name_alg][1](self.raw).digest()


class TpmAttest:
    """TPMS_ATTEST: magic, type, qualified_signer, extra_data, clock fields, firmware; for a quote
    pcr_select {hash_alg: [indexes]} and pcr_digest; for certify name and qualified_name."""

    def __init__(self, raw, what):
        r = _Reader(raw, what)
        self.raw = bytes(raw)
        self.magic = r.u32()
        self.type = r.u16()
        self.qualified_signer = r.tpm2b()
        self.extra_data = r.tpm2b()
        self.clock, self.reset_count, self.restart_count, self.safe = \
            r.u64(), r.u32(), r.u32(), r.u8()
        self.firmware = r.u64()
        if self.magic != TPM_GENERATED:
            _fail("InvalidParameter", "%s: magic is not TPM_GENERATED_VALUE" % what)
        if self.type == TPM_ST_ATTEST_QUOTE:
            self.pcr_select = {}
            for _ in range(r.u32()):
                alg = r.u16()
                bits = r.take(r.u8())
                self.pcr_select.setdefault(alg, []).extend(
                    i for i in range(len(bits) * 8) if bits[i // 8] & (1 << (i % 8)))
            self.pcr_digest = r.tpm2b()
        elif self.type == TPM_ST_ATTEST_CERTIFY:
            self.name = r.tpm2b()
            self.qualified_name = r.tpm2b()
        else:
            _fail("InvalidParameter", "%s: attestation type 0x%04x" % (what, self.type))
        r.end()


def parse_tpm2b_attest(data, what):
    r = _Reader(data, what)
    inner = r.tpm2b()
    r.end()
    return TpmAttest(inner, what)


def parse_tpmt_signature(data, what):
    """(sigAlg, hashAlg, signature bytes) of an RSASSA/RSAPSS TPMT_SIGNATURE."""
    r = _Reader(data, what)
    alg = r.u16()
    if alg not in (ALG_RSASSA, ALG_RSAPSS):
        _fail("InvalidParameter", "%s: signature algorithm 0x%04x" % (what, alg))
    hash_alg = r.u16()
    sig = r.tpm2b()
    r.end()
    if hash_alg not in _HASH:
        _fail("InvalidParameter", "%s: hash 0x%04x" % (what, hash_alg))
    return alg, hash_alg, sig


def _rsa_verify(public_key, sig, data, alg, hash_alg, code, what):
    h = _HASH[hash_alg][0]()
    pad = padding.PKCS1v15() if alg == ALG_RSASSA else \
        padding.PSS(mgf=padding.MGF1(h), salt_length=padding.PSS.AUTO)
    try:
        public_key.verify(sig, data, pad, h)
    except (InvalidSignature, ValueError):
        _fail(code, "%s: signature does not verify with the AK" % what)


# ---------------------------------------------------------------------------------------------
# Results

class GuestResult:
    """Everything the MAA endpoint needs to build an AzureGuest token (§e.1)."""

    def __init__(self):
        self.isolation_tee = {}      # the x-ms-isolation-tee claim object
        self.ephemeral_key = None    # RSAPublicKey of EncKeyPub
        self.ephemeral_jwk = {}      # {"kid":"TpmEphemeralEncryptionKey",...}
        self.pcrs = {}               # {index: digest bytes}
        self.attested_pcrs = []      # sorted PCR indexes of the quote
        self.client_payload = {}     # as sent (values still base64)
        self.os = {}                 # OSType, OSDistro, OSBuild (decoded), OSVersionMajor/Minor
        self.runtime = None          # HCL runtime JSON as sent (parsed)
        self.runtime_data = b""      # its bytes
        self.snp_report = None       # snp.SnpReport (SEV-SNP CVM)
        self.td_quote = None         # the TD quote bytes (TDX CVM)
        self.tee = None              # "sevsnpvm" or "tdxvm"
        self.aik_cert = None         # x509.Certificate or None
        self.protocol_version = None


def _json_field(obj, key, what, kind=None):
    if not isinstance(obj, dict) or key not in obj:
        _fail("InvalidParameter", "%s: missing %s" % (what, key))
    val = obj[key]
    if kind is not None and not isinstance(val, kind):
        _fail("InvalidParameter", "%s.%s: wrong type" % (what, key))
    return val


def _decode_os(info):
    out = {}
    for key in ("OSType", "OSDistro", "OSBuild"):
        val = info.get(key)
        if isinstance(val, str):
            try:
                out[key] = b64any(val, key).decode("utf-8")
            except (EvidenceError, UnicodeDecodeError):
                out[key] = val
    for key in ("OSVersionMajor", "OSVersionMinor"):
        if isinstance(info.get(key), int):
            out[key] = info[key]
    return out


def _client_payload(info):
    cp = info.get("ClientPayload", {})
    if isinstance(cp, str):
        if not cp:
            return {}
        try:
            cp = json.loads(b64any(cp, "ClientPayload"))
        except ValueError:
            _fail("InvalidParameter", "ClientPayload: not JSON")
    if not isinstance(cp, dict):
        _fail("InvalidParameter", "ClientPayload: not an object")
    return cp


def _check_quote(tpm, ak):
    quote = parse_tpm2b_attest(b64any(_json_field(tpm, "PcrQuote", "TpmInfo"), "PcrQuote"),
                               "PcrQuote")
    if quote.type != TPM_ST_ATTEST_QUOTE:
        _fail("InvalidQuote", "PcrQuote is not a quote")
    alg, hash_alg, sig = parse_tpmt_signature(
        b64any(_json_field(tpm, "PcrSignature", "TpmInfo"), "PcrSignature"), "PcrSignature")
    _rsa_verify(ak.public_key, sig, quote.raw, alg, hash_alg, "InvalidQuote", "PcrQuote")
    selected = quote.pcr_select.get(ALG_SHA256, [])
    if not selected or set(quote.pcr_select) != {ALG_SHA256}:
        _fail("InvalidQuote", "the quote must select PCRs of the SHA-256 bank only")
    pcrs = {}
    for ent in _json_field(tpm, "PCRs", "TpmInfo", list):
        idx = _json_field(ent, "Index", "PCRs[]", int)
        pcrs[idx] = b64any(_json_field(ent, "Digest", "PCRs[]", str), "PCRs[].Digest")
    if "PcrSet" in tpm and sorted(tpm["PcrSet"]) != sorted(selected):
        _fail("InvalidQuote", "PcrSet %s does not match the quoted PCRs %s" %
              (tpm["PcrSet"], selected))
    missing = [i for i in selected if i not in pcrs]
    if missing:
        _fail("InvalidQuote", "PCR values missing for %s" % missing)
    if any(len(pcrs[i]) != 32 for i in selected):
        _fail("InvalidQuote", "a SHA-256 PCR value is not 32 bytes")
    digest = _HASH[hash_alg][1](b"".join(pcrs[i] for i in sorted(selected))).digest()
    if digest != quote.pcr_digest:
        _fail("InvalidQuote", "the PCR values sent do not match the quote's PCR digest")
    return {i: pcrs[i] for i in sorted(selected)}, sorted(selected)


def _check_certify(tpm, ak):
    enc = TpmPublic.parse_tpm2b(b64any(_json_field(tpm, "EncKeyPub", "TpmInfo"), "EncKeyPub"),
                                "EncKeyPub")
    if not enc.attrs & ATTR_DECRYPT or enc.attrs & (ATTR_SIGN | ATTR_RESTRICTED) or \
            not enc.attrs & ATTR_FIXEDTPM:
        _fail("InvalidParameter", "EncKeyPub: must be a fixedTPM, unrestricted decryption key")
    info = TpmAttest(b64any(_json_field(tpm, "EncKeyCertifyInfo", "TpmInfo"),
                            "EncKeyCertifyInfo"), "EncKeyCertifyInfo")
    if info.type != TPM_ST_ATTEST_CERTIFY:
        _fail("InvalidCertifyInfo", "EncKeyCertifyInfo is not ATTEST_CERTIFY")
    sig = b64any(_json_field(tpm, "EncKeyCertifyInfoSignature", "TpmInfo"),
                 "EncKeyCertifyInfoSignature")
    hash_alg = ak.scheme_hash if ak.scheme == ALG_RSASSA else ALG_SHA256
    _rsa_verify(ak.public_key, sig, info.raw, ALG_RSASSA, hash_alg, "InvalidCertifyInfo",
                "EncKeyCertifyInfo")
    if info.name != enc.name:
        _fail("InvalidCertifyInfo", "EncKeyCertifyInfo does not name EncKeyPub")
    return enc


def _check_ak(tpm, ak_ca_pem):
    ak = TpmPublic.parse_tpm2b(b64any(_json_field(tpm, "AikPub", "TpmInfo"), "AikPub"), "AikPub")
    if not ak.attrs & ATTR_SIGN or not ak.attrs & ATTR_RESTRICTED:
        _fail("InvalidAikPub", "AikPub is not a restricted signing key")
    cert = None
    if tpm.get("AikCert"):
        try:
            cert = x509.load_der_x509_certificate(b64any(tpm["AikCert"], "AikCert"))
        except ValueError:
            _fail("InvalidParameter", "AikCert: not a DER certificate")
    if ak_ca_pem is not None:
        if cert is None:
            _fail("InvalidAikCert", "AikCert missing")
        if isinstance(ak_ca_pem, str):
            ak_ca_pem = ak_ca_pem.encode()
        ca = x509.load_pem_x509_certificate(ak_ca_pem)
        try:
            ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                                   cert.signature_hash_algorithm)
        except (InvalidSignature, ValueError, TypeError):
            _fail("InvalidAikCert", "AikCert is not issued by the AK CA")
        if cert.public_key().public_numbers() != ak.public_key.public_numbers():
            _fail("InvalidAikCert", "AikCert does not certify AikPub")
    return ak, cert


def _same_rsa(jwk, public_key):
    nums = public_key.public_numbers()
    try:
        n = int.from_bytes(b64any(jwk.get("n", ""), "n"), "big")
        e = int.from_bytes(b64any(jwk.get("e", ""), "e"), "big")
    except EvidenceError:
        return False
    return jwk.get("kty") == "RSA" and n == nums.n and e == nums.e


def _check_binding(report_data, runtime_data):
    if report_data != hashlib.sha256(runtime_data).digest() + b"\0" * 32:
        _fail("InvalidRuntimeData", "report_data is not SHA-256(runtime data) || zeros")


def _check_snp(proof_text, runtime_data, trusted_ark_pem):
    try:
        proof = json.loads(b64any(proof_text, "Proof"))
    except ValueError:
        _fail("InvalidParameter", "Proof: not JSON")
    raw = b64any(_json_field(proof, "SnpReport", "Proof", str), "SnpReport")
    chain = b64any(_json_field(proof, "VcekCertChain", "Proof", str), "VcekCertChain")
    return _verify_report(raw, chain, runtime_data, trusted_ark_pem)


def _verify_report(raw, chain, runtime_data, trusted_ark_pem):
    if len(raw) != snp.REPORT_SIZE:
        _fail("InvalidReport", "SNP report is %d bytes, expected %d" % (len(raw), snp.REPORT_SIZE))
    try:
        report = snp.verify_report_with_chain(raw, chain, trusted_ark_pem)
    except (snp.SnpError, ValueError) as exc:
        _fail("InvalidReport", str(exc))
    _check_binding(report.report_data, runtime_data)
    return report


def _check_tdx(proof_text, runtime_data, quote_key):
    """TDX: Proof = b64(TD quote from IMDS /acc/tdquote). The quote must verify with the trusted
    quoting key (the emulator's stand-in for Intel's PCK chain) and its REPORTDATA must bind the
    runtime data. Returns the quote bytes."""
    if quote_key is None:
        _fail("InvalidParameter", "IsolationInfo.Type 'Tdx' is not accepted: no TD quote "
              "verification key configured")
    quote = b64any(proof_text, "Proof")
    try:
        report_data = tdx.verify_fake_quote(quote, quote_key)
    except (tdx.TdxError, ValueError, struct.error) as exc:
        _fail("InvalidQuote", "TD quote: %s" % exc)
    _check_binding(report_data, runtime_data)
    return quote


def _parse_runtime(runtime_data):
    try:
        runtime = json.loads(runtime_data)
    except ValueError:
        _fail("InvalidRuntimeData", "runtime data is not JSON")
    if not isinstance(runtime, dict):
        _fail("InvalidRuntimeData", "runtime data is not a JSON object")
    return runtime


def maa_runtime_claim(runtime):
    """x-ms-isolation-tee.x-ms-runtime as MAA emits it: the runtime JSON, each key's key_ops
    shown as ["encrypt"] (observed in the real sample token for HCLAkPub)."""
    out = json.loads(json.dumps(runtime))
    for key in out.get("keys", []):
        if isinstance(key, dict):
            key["key_ops"] = ["encrypt"]
    return out


def verify_azure_guest(info, trusted_ark_pem, ak_ca_pem=None, tdx_quote_key=None):
    """Check a decoded AttestationInfo (§d.3) the way MAA does; return a GuestResult.
    `ak_ca_pem`: when given, AikCert must be issued by it and certify AikPub.
    `tdx_quote_key`: EC public key TD quotes must verify with (IsolationInfo.Type "Tdx",
    §a'); without it only "SevSnp" is accepted."""
    if not isinstance(info, dict):
        _fail("InvalidParameter", "AttestationInfo is not a JSON object")
    res = GuestResult()
    res.protocol_version = info.get("AttestationProtocolVersion")
    tpm = _json_field(info, "TpmInfo", "AttestationInfo", dict)
    iso = _json_field(info, "IsolationInfo", "AttestationInfo", dict)
    if iso.get("Type") not in ("SevSnp", "Tdx"):
        _fail("InvalidParameter", "IsolationInfo.Type %r is not supported (SevSnp, Tdx)" %
              iso.get("Type"))
    evidence = _json_field(iso, "Evidence", "IsolationInfo", dict)
    ak, res.aik_cert = _check_ak(tpm, ak_ca_pem)
    res.pcrs, res.attested_pcrs = _check_quote(tpm, ak)
    enc = _check_certify(tpm, ak)
    res.runtime_data = b64any(_json_field(evidence, "RunTimeData", "Evidence", str),
                              "RunTimeData")
    proof = _json_field(evidence, "Proof", "Evidence", str)
    if iso["Type"] == "Tdx":
        res.tee = "tdxvm"
        res.td_quote = _check_tdx(proof, res.runtime_data, tdx_quote_key)
    else:
        res.tee = "sevsnpvm"
        res.snp_report = _check_snp(proof, res.runtime_data, trusted_ark_pem)
    res.runtime = _parse_runtime(res.runtime_data)
    akpub = [k for k in res.runtime.get("keys", []) if isinstance(k, dict) and
             k.get("kid") == "HCLAkPub"]
    if not akpub or not _same_rsa(akpub[0], ak.public_key):
        _fail("InvalidAikPub", "AikPub is not the HCLAkPub of the runtime data")
    res.ephemeral_key = enc.public_key
    nums = enc.public_key.public_numbers()
    res.ephemeral_jwk = {"kid": "TpmEphemeralEncryptionKey", "kty": "RSA",
                         "e": b64url_uint(nums.e), "n": b64url_uint(nums.n),
                         "key_ops": ["encrypt"]}
    res.client_payload = _client_payload(info)
    res.os = _decode_os(info)
    tee = {"x-ms-attestation-type": res.tee,
           "x-ms-compliance-status": "azure-compliant-cvm",
           "x-ms-runtime": maa_runtime_claim(res.runtime)}
    tee.update(tdx.tdx_claims(res.td_quote) if res.td_quote is not None
               else snp.snp_claims(res.snp_report))
    res.isolation_tee = dict(sorted(tee.items()))
    return res


def verify_snp_platform(report_json_b64url, runtime_data, trusted_ark_pem):
    """SevSnpVm (§d.4): `report_json_b64url` = b64url(JSON{SnpReport, VcekCertChain}) (padded or
    not), `runtime_data` = the runtime bytes. Returns the flat x-ms-sevsnpvm-* claims plus
    "x-ms-runtime" (the runtime JSON parsed)."""
    try:
        doc = json.loads(b64any(report_json_b64url, "report"))
    except ValueError:
        _fail("InvalidParameter", "report: not JSON")
    raw = b64any(_json_field(doc, "SnpReport", "report", str), "SnpReport")
    chain = b64any(_json_field(doc, "VcekCertChain", "report", str), "VcekCertChain")
    report = _verify_report(raw, chain, bytes(runtime_data), trusted_ark_pem)
    claims = snp.snp_claims(report)
    claims["x-ms-runtime"] = _parse_runtime(runtime_data)
    return claims


def verify_hcl_binding(raw_hcl):
    """Parse an HCL report (SNP or TDX) and check its runtime-data binding; returns it."""
    try:
        rep = hcl.parse(raw_hcl)
        rep.check_binding()
    except hcl.HclError as exc:
        _fail("InvalidRuntimeData", str(exc))
    return rep


__all__ = ["EvidenceError", "GuestResult", "verify_azure_guest", "verify_snp_platform",
           "verify_hcl_binding", "maa_runtime_claim", "TpmPublic", "TpmAttest",
           "parse_tpmt_signature"]
