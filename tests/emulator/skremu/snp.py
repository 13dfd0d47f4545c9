# SPDX-License-Identifier: Apache-2.0
"""AMD SEV-SNP attestation report (spec §h.2) and a test AMD key chain.

* `SnpReport`: the 1184-byte ATTESTATION_REPORT with settable fields; `to_bytes(vcek_key)` signs
  bytes 0x000-0x29F with ECDSA P-384/SHA-384 and stores r, s little-endian, each zero-padded to
  72 bytes, at 0x2A0; `SnpReport.parse(raw)` reads one back; `verify_report_signature` checks it.
* `AmdChain`: a test ARK (self-signed) -> ASK -> VCEK (EC P-384) chain, the certificates signed
  RSASSA-PSS/SHA-384 with a 48-byte salt like AMD's, the VCEK carrying AMD's extensions
  (1.3.6.1.4.1.3704.1.1 struct version, .1.2 product name, .1.3.{1..8} TCB SVNs, .1.4 hwid = chip
  id). `thim_json()` gives the THIM body in the shape of the real recording.
* `verify_vcek_chain(pem_chain, trusted_ark_pem)`: VCEK <- ASK <- ARK, ARK must equal the trusted one.
* `snp_claims(report)`: the x-ms-sevsnpvm-* claims as MAA emits them (names, types, hex casing of
  the real sample token).

cryptography 38 cannot sign certificates with PSS, so certificates are assembled in DER here: the
builder makes a PKCS#1 v1.5 certificate, its TBS gets the PSS AlgorithmIdentifier, and the TBS is
signed again with PSS.
"""
import datetime
import os
import re

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import NameOID

REPORT_SIZE = 1184
SIGNED_SIZE = 0x2A0

POLICY_SMT = 1 << 16
POLICY_RESERVED17 = 1 << 17
POLICY_MIGRATE_MA = 1 << 18
POLICY_DEBUG = 1 << 19

# Field name -> (offset, size); integers are little-endian.
_INT_FIELDS = {
    "version": (0x000, 4),
    "guest_svn": (0x004, 4),
    "policy": (0x008, 8),
    "vmpl": (0x030, 4),
    "signature_algo": (0x034, 4),
    "current_tcb": (0x038, 8),
    "platform_info": (0x040, 8),
    "author_key_en": (0x048, 4),
    "reported_tcb": (0x180, 8),
    "committed_tcb": (0x1E0, 8),
    "current_version": (0x1E8, 8),
    "committed_version": (0x1F0, 8),
    "launch_tcb": (0x1F8, 8),
}
_BYTE_FIELDS = {
    "family_id": (0x010, 16),
    "image_id": (0x020, 16),
    "report_data": (0x050, 64),
    "measurement": (0x090, 48),
    "host_data": (0x0C0, 32),
    "id_key_digest": (0x0E0, 48),
    "author_key_digest": (0x110, 48),
    "report_id": (0x140, 32),
    "report_id_ma": (0x160, 32),
    "chip_id": (0x1A0, 64),
}

# AMD's VCEK extension OIDs (sidecar platform_cert_fetcher.go; the real Milan VCEK in fixtures).
OID_STRUCT_VERSION = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.1")
OID_PRODUCT_NAME = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.2")
OID_BL_SPL = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.1")
OID_TEE_SPL = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.2")
OID_SNP_SPL = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.3")
OID_UCODE_SPL = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.8")
OID_HWID = x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.4")

# The AlgorithmIdentifier of AMD's certificates: RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48,
# trailer 1 (bytes copied from the real VCEK in fixtures/azure/uvm_host_amd_certificate.json).
PSS_ALGID = bytes.fromhex(
    "304606092a864886f70d01010a3039a00f300d06096086480165030402020500a11c301a06092a864886f70d0101"
    "08300d06096086480165030402020500a203020130a303020101")
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48)


class SnpError(ValueError):
    """A malformed report or a failed signature/chain check."""


def tcb(bootloader=0, tee=0, snp=0, microcode=0):
    """TCB_VERSION as the u64 stored little-endian: byte0 bl, byte1 tee, byte6 snp, byte7 ucode."""
    return bootloader | (tee << 8) | (snp << 48) | (microcode << 56)


def tcb_parts(value):
    """The inverse of tcb(): dict bootloader/tee/snp/microcode."""
    b = value.to_bytes(8, "little")
    return {"bootloader": b[0], "tee": b[1], "snp": b[6], "microcode": b[7]}


def tcbm(value):
    """THIM's `tcbm` string: the TCB u64 as 16 hex digits (fixture "7308000000000003")."""
    return "%016X" % value


DEFAULT_TCB = tcb(bootloader=3, tee=0, snp=8, microcode=115)


def _as_bytes(value, size, name):
    if isinstance(value, str):
        value = bytes.fromhex(value)
    value = bytes(value)
    if len(value) > size:
        raise SnpError("%s: %d bytes, at most %d" % (name, len(value), size))
    return value.ljust(size, b"\0")


def _as_tcb(value):
    if isinstance(value, dict):
        return tcb(**value)
    if isinstance(value, str):
        return int(value, 16)
    return int(value)


class SnpReport:
    """An SEV-SNP ATTESTATION_REPORT. Attributes are the names of §h.2 (ints and bytes)."""

    def __init__(self, **fields):
        self.version = 2
        self.guest_svn = 0
        self.policy = POLICY_RESERVED17 | POLICY_SMT
        self.vmpl = 0
        self.signature_algo = 1
        self.current_tcb = DEFAULT_TCB
        self.platform_info = 1
        self.author_key_en = 0
        self.reported_tcb = DEFAULT_TCB
        self.committed_tcb = DEFAULT_TCB
        self.current_version = 0
        self.committed_version = 0
        self.launch_tcb = DEFAULT_TCB
        for name, (_, size) in _BYTE_FIELDS.items():
            setattr(self, name, b"\0" * size)
        self.signature = b"\0" * (REPORT_SIZE - SIGNED_SIZE)
        self.set(**fields)

    def set(self, **fields):
        """Set fields; bytes fields take bytes or hex strings, TCB fields an int, a hex string or
        a dict(bootloader=, tee=, snp=, microcode=). Convenience keys: debug, migrate, smt (bools
        that flip the policy bits)."""
        for name, value in fields.items():
            if name in ("debug", "migrate", "smt"):
                bit = {"debug": POLICY_DEBUG, "migrate": POLICY_MIGRATE_MA, "smt": POLICY_SMT}[name]
                self.policy = (self.policy | bit) if value else (self.policy & ~bit)
            elif name in _BYTE_FIELDS:
                setattr(self, name, _as_bytes(value, _BYTE_FIELDS[name][1], name))
            elif name.endswith("_tcb"):
                if name not in _INT_FIELDS:
                    raise SnpError("unknown report field %r" % name)
                setattr(self, name, _as_tcb(value))
            elif name in _INT_FIELDS:
                setattr(self, name, int(value, 0) if isinstance(value, str) else int(value))
            elif name == "signature":
                self.signature = _as_bytes(value, REPORT_SIZE - SIGNED_SIZE, name)
            else:
                raise SnpError("unknown report field %r" % name)
        return self

    def body(self):
        """Bytes 0x000-0x29F, the signed part."""
        buf = bytearray(SIGNED_SIZE)
        for name, (off, size) in _INT_FIELDS.items():
            buf[off:off + size] = getattr(self, name).to_bytes(size, "little")
        for name, (off, size) in _BYTE_FIELDS.items():
            buf[off:off + size] = getattr(self, name)
        return bytes(buf)

    def to_bytes(self, vcek_key=None):
        """The 1184-byte report; with `vcek_key` (EC P-384 private key) a fresh signature."""
        body = self.body()
        if vcek_key is not None:
            der = vcek_key.sign(body, ec.ECDSA(hashes.SHA384()))
            r, s = utils.decode_dss_signature(der)
            self.signature = (r.to_bytes(72, "little") + s.to_bytes(72, "little")).ljust(
                REPORT_SIZE - SIGNED_SIZE, b"\0")
        return body + self.signature

    @classmethod
    def parse(cls, raw):
        raw = bytes(raw)
        if len(raw) < REPORT_SIZE:
            raise SnpError("SNP report: %d bytes, need %d" % (len(raw), REPORT_SIZE))
        rep = cls.__new__(cls)
        for name, (off, size) in _INT_FIELDS.items():
            setattr(rep, name, int.from_bytes(raw[off:off + size], "little"))
        for name, (off, size) in _BYTE_FIELDS.items():
            setattr(rep, name, raw[off:off + size])
        rep.signature = raw[SIGNED_SIZE:REPORT_SIZE]
        return rep

    @property
    def is_debuggable(self):
        return bool(self.policy & POLICY_DEBUG)

    def signature_rs(self):
        return (int.from_bytes(self.signature[0:72], "little"),
                int.from_bytes(self.signature[72:144], "little"))


def verify_report_signature(report, vcek_public_key):
    """Raise SnpError unless `report` (SnpReport or bytes) is signed by the VCEK key."""
    if not isinstance(report, SnpReport):
        report = SnpReport.parse(report)
    if report.signature_algo != 1:
        raise SnpError("SNP report: signature_algo %d, expected 1 (ECDSA P-384)" %
                       report.signature_algo)
    if not isinstance(vcek_public_key, ec.EllipticCurvePublicKey) or \
            vcek_public_key.curve.name != "secp384r1":
        raise SnpError("VCEK is not an EC P-384 key")
    r, s = report.signature_rs()
    try:
        vcek_public_key.verify(utils.encode_dss_signature(r, s), report.body(),
                               ec.ECDSA(hashes.SHA384()))
    except (InvalidSignature, ValueError) as exc:
        raise SnpError("SNP report signature does not verify with the VCEK") from exc


def snp_claims(report):
    """The x-ms-sevsnpvm-* claims MAA derives from a report (names/types of the real sample
    token; hex lowercase; the SVNs from reported_tcb)."""
    if not isinstance(report, SnpReport):
        report = SnpReport.parse(report)
    parts = tcb_parts(report.reported_tcb)
    return {
        "x-ms-sevsnpvm-authorkeydigest": report.author_key_digest.hex(),
        "x-ms-sevsnpvm-bootloader-svn": parts["bootloader"],
        "x-ms-sevsnpvm-familyId": report.family_id.hex(),
        "x-ms-sevsnpvm-guestsvn": report.guest_svn,
        "x-ms-sevsnpvm-hostdata": report.host_data.hex(),
        "x-ms-sevsnpvm-idkeydigest": report.id_key_digest.hex(),
        "x-ms-sevsnpvm-imageId": report.image_id.hex(),
        "x-ms-sevsnpvm-is-debuggable": bool(report.policy & POLICY_DEBUG),
        "x-ms-sevsnpvm-launchmeasurement": report.measurement.hex(),
        "x-ms-sevsnpvm-microcode-svn": parts["microcode"],
        "x-ms-sevsnpvm-migration-allowed": bool(report.policy & POLICY_MIGRATE_MA),
        "x-ms-sevsnpvm-reportdata": report.report_data.hex(),
        "x-ms-sevsnpvm-reportid": report.report_id.hex(),
        "x-ms-sevsnpvm-smt-allowed": bool(report.policy & POLICY_SMT),
        "x-ms-sevsnpvm-snpfw-svn": parts["snp"],
        "x-ms-sevsnpvm-tee-svn": parts["tee"],
        "x-ms-sevsnpvm-vmpl": report.vmpl,
    }


# ---------------------------------------------------------------------------------------------
# DER helpers (just enough to re-sign a certificate with RSASSA-PSS)

def _der_len(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _tlv(tag, content):
    return bytes([tag]) + _der_len(len(content)) + content


def _read_tlv(buf, off):
    """(tag, start of content, end of element) of the DER element at `off`."""
    tag = buf[off]
    first = buf[off + 1]
    if first < 0x80:
        return tag, off + 2, off + 2 + first
    n = first & 0x7F
    length = int.from_bytes(buf[off + 2:off + 2 + n], "big")
    return tag, off + 2 + n, off + 2 + n + length


def der_integer(value):
    body = value.to_bytes(value.bit_length() // 8 + 1, "big") if value else b"\0"
    return _tlv(0x02, body)


def _der_int_value(der):
    tag, start, end = _read_tlv(der, 0)
    if tag != 0x02:
        raise SnpError("VCEK extension is not an INTEGER")
    return int.from_bytes(der[start:end], "big", signed=True)


def _resign_pss(cert, issuer_key):
    """Re-sign `cert` (built with PKCS#1 v1.5) with RSASSA-PSS SHA-384 by `issuer_key`."""
    tbs = cert.tbs_certificate_bytes
    _, start, end = _read_tlv(tbs, 0)
    elems = []
    off = start
    while off < end:
        _, _, nxt = _read_tlv(tbs, off)
        elems.append(tbs[off:nxt])
        off = nxt
    # elems: [0] version, serial, signature AlgorithmIdentifier, issuer, ...
    elems[2] = PSS_ALGID
    new_tbs = _tlv(0x30, b"".join(elems))
    sig = issuer_key.sign(new_tbs, _PSS, hashes.SHA384())
    der = _tlv(0x30, new_tbs + PSS_ALGID + _tlv(0x03, b"\0" + sig))
    return x509.load_der_x509_certificate(der)


def _amd_name(cn):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Engineering"),
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Santa Clara"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "CA"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Advanced Micro Devices (SKR emulator test)"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _pss_cert(subject_cn, public_key, issuer_cn, issuer_key, serial, ca, extensions=()):
    now = datetime.datetime.utcnow().replace(microsecond=0)
    builder = (x509.CertificateBuilder()
               .subject_name(_amd_name(subject_cn))
               .issuer_name(_amd_name(issuer_cn))
               .public_key(public_key)
               .serial_number(serial)
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=365 * 25)))
    if ca:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), True)
    for ext in extensions:
        builder = builder.add_extension(ext, False)
    return _resign_pss(builder.sign(issuer_key, hashes.SHA384()), issuer_key)


def _pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def split_pem_chain(text):
    if isinstance(text, bytes):
        text = text.decode()
    pems = re.findall(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    return [x509.load_pem_x509_certificate(p.encode()) for p in pems]


class AmdChain:
    """Test ARK -> ASK -> VCEK. Attributes: ark_key, ark, ask_key, ask, vcek_key, vcek,
    chip_id (64 bytes), tcb (int, the reported TCB the VCEK is issued for)."""

    def __init__(self, ark_key, ark, ask_key, ask, vcek_key, vcek, chip_id, tcb_value):
        self.ark_key, self.ark = ark_key, ark
        self.ask_key, self.ask = ask_key, ask
        self.vcek_key, self.vcek = vcek_key, vcek
        self.chip_id = chip_id
        self.tcb = tcb_value

    @classmethod
    def generate(cls, chip_id=None, tcb_value=DEFAULT_TCB, rsa_bits=2048, new_rsa=None):
        """`new_rsa(bits, purpose)` may supply (cached) RSA keys; default: fresh keys. AMD's
        ARK/ASK are RSA-4096; 2048 is the default here for start-up time."""
        if new_rsa is None:
            def new_rsa(bits, purpose):  # pylint: disable=unused-argument
                return rsa.generate_private_key(public_exponent=65537, key_size=bits)
        chip_id = _as_bytes(chip_id if chip_id is not None else os.urandom(64), 64, "chip_id")
        ark_key = new_rsa(rsa_bits, "amd-ark")
        ask_key = new_rsa(rsa_bits, "amd-ask")
        ark = _pss_cert("ARK-Milan", ark_key.public_key(), "ARK-Milan", ark_key, 0x10000, True)
        ask = _pss_cert("SEV-Milan", ask_key.public_key(), "ARK-Milan", ark_key, 0x10001, True)
        chain = cls(ark_key, ark, ask_key, ask, None, None, chip_id, tcb_value)
        chain.reissue_vcek(tcb_value)
        return chain

    def reissue_vcek(self, tcb_value=None, vcek_key=None):
        """A VCEK for this chip at `tcb_value` (a real chip has one per TCB)."""
        if tcb_value is not None:
            self.tcb = _as_tcb(tcb_value)
        self.vcek_key = vcek_key or self.vcek_key or ec.generate_private_key(ec.SECP384R1())
        parts = tcb_parts(self.tcb)

        def ext(oid, der):
            return x509.UnrecognizedExtension(oid, der)
        exts = [ext(OID_STRUCT_VERSION, der_integer(0)),
                ext(OID_PRODUCT_NAME, _tlv(0x16, b"Milan-B0")),
                ext(OID_BL_SPL, der_integer(parts["bootloader"])),
                ext(OID_TEE_SPL, der_integer(parts["tee"]))]
        exts += [ext(x509.ObjectIdentifier("1.3.6.1.4.1.3704.1.3.%d" % i), der_integer(0))
                 for i in (4, 5, 6, 7)]
        exts += [ext(OID_SNP_SPL, der_integer(parts["snp"])),
                 ext(OID_UCODE_SPL, der_integer(parts["microcode"])),
                 ext(OID_HWID, self.chip_id)]
        self.vcek = _pss_cert("SEV-VCEK", self.vcek_key.public_key(), "SEV-Milan", self.ask_key,
                              1, False, exts)
        return self.vcek

    def vcek_pem(self):
        return _pem(self.vcek)

    def chain_pem(self):
        """THIM `certificateChain`: ASK PEM then ARK PEM."""
        return _pem(self.ask) + _pem(self.ark)

    def ark_pem(self):
        return _pem(self.ark).encode()

    def thim_json(self, tcbm_value=None):
        """The THIM body: {vcekCert, tcbm, certificateChain, cacheControl} (fixture key order)."""
        return {
            "vcekCert": self.vcek_pem(),
            "tcbm": tcbm_value if tcbm_value is not None else tcbm(self.tcb),
            "certificateChain": self.chain_pem(),
            "cacheControl": "86400",
        }

    def sign_report(self, report):
        """The signed 1184 bytes of `report` (an SnpReport)."""
        return report.to_bytes(self.vcek_key)

    def save(self, directory):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        for name, key in (("ark", self.ark_key), ("ask", self.ask_key), ("vcek", self.vcek_key)):
            _write(os.path.join(directory, name + ".key.pem"), key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()), True)
        for name, cert in (("ark", self.ark), ("ask", self.ask), ("vcek", self.vcek)):
            _write(os.path.join(directory, name + ".pem"), _pem(cert).encode(), False)
        _write(os.path.join(directory, "chip_id.hex"), self.chip_id.hex().encode(), False)
        _write(os.path.join(directory, "tcb.hex"), tcbm(self.tcb).encode(), False)

    @classmethod
    def load(cls, directory):
        def rd(name):
            with open(os.path.join(directory, name), "rb") as f:
                return f.read()
        keys = [serialization.load_pem_private_key(rd(n + ".key.pem"), None)
                for n in ("ark", "ask", "vcek")]
        certs = [x509.load_pem_x509_certificate(rd(n + ".pem")) for n in ("ark", "ask", "vcek")]
        return cls(keys[0], certs[0], keys[1], certs[1], keys[2], certs[2],
                   bytes.fromhex(rd("chip_id.hex").decode().strip()),
                   int(rd("tcb.hex").decode().strip(), 16))

    @classmethod
    def load_or_generate(cls, directory, **kwargs):
        if os.path.exists(os.path.join(directory, "vcek.pem")):
            return cls.load(directory)
        chain = cls.generate(**kwargs)
        chain.save(directory)
        return chain


def _write(path, data, private):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _check_signed_by(cert, issuer, what):
    if cert.issuer != issuer.subject:
        raise SnpError("%s: issuer name does not match" % what)
    key = issuer.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SnpError("%s: issuer key is not RSA" % what)
    if cert.signature_algorithm_oid.dotted_string != "1.2.840.113549.1.1.10":
        raise SnpError("%s: not signed with RSASSA-PSS" % what)
    try:
        key.verify(cert.signature, cert.tbs_certificate_bytes, _PSS, hashes.SHA384())
    except InvalidSignature as exc:
        raise SnpError("%s: signature does not verify" % what) from exc


def _check_validity(cert, what, now):
    if not cert.not_valid_before <= now <= cert.not_valid_after:
        raise SnpError("%s: not valid at %s" % (what, now.isoformat()))


def verify_vcek_chain(vcek_pem_chain, trusted_ark, now=None):
    """Check `vcek_pem_chain` = VCEK PEM [+ ASK PEM + ARK PEM] up to `trusted_ark` (PEM bytes/str,
    or an x509.Certificate; a trusted AmdChain's ARK). Returns the VCEK certificate. A chain
    without the ARK is completed with the trusted one; a different ARK is refused."""
    if isinstance(trusted_ark, (bytes, str)):
        trusted_ark = split_pem_chain(trusted_ark)[0]
    certs = split_pem_chain(vcek_pem_chain)
    if len(certs) < 2:
        raise SnpError("VCEK chain: need the VCEK and the ASK, got %d certificate(s)" % len(certs))
    vcek, ask = certs[0], certs[1]
    der = serialization.Encoding.DER
    if len(certs) >= 3 and certs[2].public_bytes(der) != trusted_ark.public_bytes(der):
        raise SnpError("VCEK chain: the ARK is not the trusted AMD root")
    now = now or datetime.datetime.utcnow()
    _check_signed_by(trusted_ark, trusted_ark, "ARK")
    _check_signed_by(ask, trusted_ark, "ASK")
    _check_signed_by(vcek, ask, "VCEK")
    for cert, what in ((trusted_ark, "ARK"), (ask, "ASK"), (vcek, "VCEK")):
        _check_validity(cert, what, now)
    return vcek


def vcek_tcb_and_hwid(vcek):
    """(reported TCB int, chip id bytes) from the VCEK's AMD extensions (None when absent)."""
    vals = {}
    for ext in vcek.extensions:
        vals[ext.oid.dotted_string] = ext.value.value if hasattr(ext.value, "value") else None
    try:
        parts = {name: _der_int_value(vals["1.3.6.1.4.1.3704.1.3.%d" % i])
                 for name, i in (("bootloader", 1), ("tee", 2), ("snp", 3), ("microcode", 8))}
        tcb_value = tcb(**parts)
    except (KeyError, IndexError, TypeError):
        tcb_value = None
    return tcb_value, vals.get("1.3.6.1.4.1.3704.1.4")


def verify_report_with_chain(report, vcek_pem_chain, trusted_ark, check_tcb=True):
    """Chain check + report signature + (optionally) that the VCEK belongs to the report's
    chip id and reported TCB. Returns the parsed SnpReport."""
    if not isinstance(report, SnpReport):
        report = SnpReport.parse(report)
    vcek = verify_vcek_chain(vcek_pem_chain, trusted_ark)
    verify_report_signature(report, vcek.public_key())
    if check_tcb:
        tcb_value, hwid = vcek_tcb_and_hwid(vcek)
        if hwid is not None and hwid != report.chip_id:
            raise SnpError("VCEK hwid does not match the report's chip_id")
        if tcb_value is not None and tcb_value != report.reported_tcb:
            raise SnpError("VCEK TCB %s does not match the report's reported_tcb %s" %
                           (tcbm(tcb_value), tcbm(report.reported_tcb)))
    return report


__all__ = ["SnpReport", "SnpError", "AmdChain", "tcb", "tcb_parts", "tcbm", "snp_claims",
           "verify_report_signature", "verify_vcek_chain", "verify_report_with_chain",
           "vcek_tcb_and_hwid", "split_pem_chain", "REPORT_SIZE"]
