# SPDX-License-Identifier: Apache-2.0
"""Intel TDX pieces for the simulated CVM (spec §a', §h.5): the 1024-byte TD report (TDREPORT)
the HCL carries for a TDX CVM, and a FAKE quote v4 for IMDS `/acc/tdquote`.

TDREPORT = REPORTMACSTRUCT (256: type 0x81, subtype, version, reserved, reserved[12], cpusvn[16],
tee_tcb_info_hash[48], tee_info_hash[48], report_data[64] at +128, reserved[32], mac[32])
+ TEE_TCB_INFO (239) + reserved[17] + TDINFO (512 at +512: attributes[8], xfam[8], mrtd[48],
mrconfigid[48], mrowner[48], mrownerconfig[48], rtmr[4][48], servtd_hash[48], reserved[64]).

The quote keeps the real v4 layout of header (48 B: version 4, att key type 2, TEE type 0x81,
reserved, QE vendor id, user data) and TD quote body (584 B, report_data at body +520, i.e. quote
offset 568), followed by a u32 signature-data length and an ECDSA P-256 signature (r||s, 64 B) over
header+body by a test attestation key plus its raw public key (64 B). It has no QE report or PCK
certification data: it is NOT verifiable as a real DCAP quote, only by `verify_fake_quote`.
"""
import hashlib
import struct

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

TD_REPORT_SIZE = 1024
REPORT_DATA_OFFSET = 128
TDINFO_OFFSET = 512
QUOTE_HEADER_SIZE = 48
QUOTE_BODY_SIZE = 584
QUOTE_REPORT_DATA_OFFSET = QUOTE_HEADER_SIZE + 520
INTEL_QE_VENDOR_ID = bytes.fromhex("939a7233f79c4ca9940a0db3957f0607")

_TDINFO = (("attributes", 8), ("xfam", 8), ("mrtd", 48), ("mrconfigid", 48), ("mrowner", 48),
           ("mrownerconfig", 48), ("rtmr0", 48), ("rtmr1", 48), ("rtmr2", 48), ("rtmr3", 48),
           ("servtd_hash", 48))


class TdxError(ValueError):
    pass


def _fit(value, size, name):
    value = bytes.fromhex(value) if isinstance(value, str) else bytes(value)
    if len(value) > size:
        raise TdxError("%s: %d bytes, at most %d" % (name, len(value), size))
    return value.ljust(size, b"\0")


class TdReport:
    """Fields: report_data, cpusvn, tee_tcb_svn, mrseam and the TDINFO fields of _TDINFO."""

    def __init__(self, **fields):
        self.report_data = b"\0" * 64
        self.cpusvn = b"\0" * 16
        self.tee_tcb_svn = b"\0" * 16
        self.mrseam = b"\0" * 48
        for name, size in _TDINFO:
            setattr(self, name, b"\0" * size)
        self.mrtd = hashlib.sha384(b"skr-emulator mrtd").digest()
        for name, value in fields.items():
            size = dict(_TDINFO, report_data=64, cpusvn=16, tee_tcb_svn=16, mrseam=48).get(name)
            if size is None:
                raise TdxError("unknown TD report field %r" % name)
            setattr(self, name, _fit(value, size, name))

    def _tdinfo(self):
        return b"".join(getattr(self, n) for n, _ in _TDINFO).ljust(512, b"\0")

    def _tee_tcb_info(self):
        return (b"\xff" * 8 + self.tee_tcb_svn + self.mrseam).ljust(239, b"\0")

    def to_bytes(self):
        tee_tcb = self._tee_tcb_info()
        tdinfo = self._tdinfo()
        mac = bytes([0x81, 0, 0, 0]) + b"\0" * 12 + self.cpusvn
        mac += hashlib.sha384(tee_tcb).digest() + hashlib.sha384(tdinfo).digest()
        mac += self.report_data + b"\0" * 32
        mac += hashlib.sha256(mac).digest()           # stands in for the CPU's MAC
        out = mac + tee_tcb + b"\0" * 17 + tdinfo
        assert len(out) == TD_REPORT_SIZE
        return out

    @classmethod
    def parse(cls, raw):
        raw = bytes(raw)
        if len(raw) < TD_REPORT_SIZE or raw[0] != 0x81:
            raise TdxError("not a TD report")
        rep = cls.__new__(cls)
        rep.cpusvn = raw[16:32]
        rep.report_data = raw[REPORT_DATA_OFFSET:REPORT_DATA_OFFSET + 64]
        rep.tee_tcb_svn = raw[256 + 8:256 + 24]
        rep.mrseam = raw[256 + 24:256 + 72]
        off = TDINFO_OFFSET
        for name, size in _TDINFO:
            setattr(rep, name, raw[off:off + size])
            off += size
        return rep


TD_ATTR_DEBUG = 0x1                  # TDINFO.ATTRIBUTES bit 0: TUD.DEBUG


def _tee_tcb_info_of(raw):
    return raw[256:256 + 239]


def check_report(raw):
    """What the quoting enclave checks before it signs (stand-in for EVERIFYREPORT2): a TDX
    report (type 0x81) whose tee_tcb_info_hash / tee_info_hash cover TEE_TCB_INFO / TDINFO and
    whose MAC (here SHA-256 of the first 224 bytes of REPORTMACSTRUCT) is intact. Returns the
    parsed TdReport; raises TdxError."""
    raw = bytes(raw)
    if len(raw) != TD_REPORT_SIZE:
        raise TdxError("TD report is %d bytes, expected %d" % (len(raw), TD_REPORT_SIZE))
    if raw[0] != 0x81:
        raise TdxError("not a TDX report (type 0x%02x)" % raw[0])
    if raw[32:80] != hashlib.sha384(_tee_tcb_info_of(raw)).digest():
        raise TdxError("tee_tcb_info_hash does not match TEE_TCB_INFO")
    if raw[80:128] != hashlib.sha384(raw[TDINFO_OFFSET:TDINFO_OFFSET + 512]).digest():
        raise TdxError("tee_info_hash does not match TDINFO")
    if raw[224:256] != hashlib.sha256(raw[:224]).digest():
        raise TdxError("REPORTMACSTRUCT MAC does not verify")
    return TdReport.parse(raw)


def _quote_body(rep):
    body = rep.tee_tcb_svn + rep.mrseam + b"\0" * 48 + b"\0" * 8 + rep.attributes + rep.xfam
    body += rep.mrtd + rep.mrconfigid + rep.mrowner + rep.mrownerconfig
    body += rep.rtmr0 + rep.rtmr1 + rep.rtmr2 + rep.rtmr3 + rep.report_data
    assert len(body) == QUOTE_BODY_SIZE
    return body


def fake_quote(td_report, attestation_key):
    """A quote v4 for `td_report` (bytes), signed by `attestation_key` (EC P-256 private)."""
    rep = TdReport.parse(td_report)
    header = struct.pack("<HHI", 4, 2, 0x81) + b"\0\0\0\0" + INTEL_QE_VENDOR_ID + b"\0" * 20
    signed = header + _quote_body(rep)
    r, s = utils.decode_dss_signature(attestation_key.sign(signed, ec.ECDSA(hashes.SHA256())))
    pub = attestation_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)[1:]
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big") + pub
    return signed + struct.pack("<I", len(sig)) + sig


def quote_report_data(quote):
    return bytes(quote[QUOTE_REPORT_DATA_OFFSET:QUOTE_REPORT_DATA_OFFSET + 64])


def verify_fake_quote(quote, attestation_public_key):
    """Check a quote made by fake_quote(); returns its report_data."""
    quote = bytes(quote)
    version, key_type, tee = struct.unpack("<HHI", quote[:8])
    if (version, key_type, tee) != (4, 2, 0x81):
        raise TdxError("not a TDX quote v4 with an ECDSA-256 attestation key")
    end = QUOTE_HEADER_SIZE + QUOTE_BODY_SIZE
    sig = quote[end + 4:end + 4 + 64]
    try:
        attestation_public_key.verify(
            utils.encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                       int.from_bytes(sig[32:], "big")),
            quote[:end], ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise TdxError("quote signature does not verify") from exc
    return quote_report_data(quote)


# Quote v4 TD body offsets (header excluded), Intel DCAP sgx_quote_4.h sgx_report2_body_t.
_BODY = (("tee_tcb_svn", 0, 16), ("mrseam", 16, 48), ("mrsignerseam", 64, 48),
         ("seam_attributes", 112, 8), ("td_attributes", 120, 8), ("xfam", 128, 8),
         ("mrtd", 136, 48), ("mrconfigid", 184, 48), ("mrowner", 232, 48),
         ("mrownerconfig", 280, 48), ("rtmr0", 328, 48), ("rtmr1", 376, 48),
         ("rtmr2", 424, 48), ("rtmr3", 472, 48), ("report_data", 520, 64))


def quote_body_fields(quote):
    """{name: bytes} of a quote v4's TD quote body."""
    quote = bytes(quote)
    if len(quote) < QUOTE_HEADER_SIZE + QUOTE_BODY_SIZE:
        raise TdxError("quote too short: %d bytes" % len(quote))
    body = quote[QUOTE_HEADER_SIZE:QUOTE_HEADER_SIZE + QUOTE_BODY_SIZE]
    return {name: body[off:off + size] for name, off, size in _BODY}


def tdx_claims(quote):
    """The tdx_* claims the emulator's MAA puts under x-ms-isolation-tee for a TDX CVM.
    Names verified (spec §a'): tdx_mrseam, tdx_seamsvn, tdx_td_attributes, tdx_tee_tcb_svn,
    tdx_report_data; the others follow the same pattern (emulator choice, README). Byte fields
    are lowercase hex; tdx_seamsvn is the TDX module SVN (major << 8 | minor, TEE_TCB_SVN bytes
    1 and 0); tdx_td_attributes_debug is TDATTRIBUTES bit 0."""
    f = quote_body_fields(quote)
    attrs = int.from_bytes(f["td_attributes"], "little")
    out = {"tdx_%s" % name.replace("_", "") if name.startswith("mr") or name.startswith("rtmr")
           else "tdx_%s" % name: value.hex() for name, value in f.items()}
    out["tdx_seamsvn"] = f["tee_tcb_svn"][1] << 8 | f["tee_tcb_svn"][0]
    out["tdx_td_attributes_debug"] = bool(attrs & TD_ATTR_DEBUG)
    return dict(sorted(out.items()))
