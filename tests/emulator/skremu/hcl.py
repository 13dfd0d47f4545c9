# SPDX-License-Identifier: Apache-2.0
"""The HCL report the Azure paravisor stores in vTPM NV index 0x01400001 (spec §h.1).

Layout (little-endian): "HCLA", version 2, ReportSize, RequestType, 16 reserved bytes, the 1184-byte
hardware-report union at 0x20 (SNP report, or a 1024-byte TD report padded with zeros), the HclData
header at 0x4C0 (DataSize = 20 + VariableDataSize, Version 1, ReportType 2 SNP / 4 TDX,
ReportDataHashType 1 SHA-256, VariableDataSize) and the runtime-data JSON at 0x4D4. The NV index
may be longer than ReportSize (zero padding).
"""
import base64
import hashlib
import json
import struct

SIGNATURE = b"HCLA"
HCL_VERSION = 2
HW_OFFSET = 0x20
HW_SIZE = 1184
TD_REPORT_SIZE = 1024
HCLDATA_OFFSET = 0x4C0
VARDATA_OFFSET = 0x4D4

REQUEST_KEY_RELEASE = 1
REQUEST_AK_CERT = 2

REPORT_TYPE_SNP = 2
REPORT_TYPE_TVM = 3
REPORT_TYPE_TDX = 4

HASH_SHA256 = 1
HASH_SHA384 = 2
HASH_SHA512 = 3
_HASHES = {HASH_SHA256: hashlib.sha256, HASH_SHA384: hashlib.sha384, HASH_SHA512: hashlib.sha512}

SNP_REPORT_DATA_OFFSET = 0x50
TDX_REPORT_DATA_OFFSET = 128

# Key order of the real runtime data (fixture snp_hcl_report.bin).
VM_CONFIGURATION_DEFAULT = {
    "console-enabled": False,
    "root-cert-thumbprint": "6nZZnYaJc4KqUZ_yvA-mucFdYNouvlPnITnNMXsHl-0",
    "secure-boot": True,
    "tpm-enabled": True,
    "vmUniqueId": "00000000-0000-0000-0000-000000000000",
}


class HclError(ValueError):
    """A malformed HCL report or a failed runtime-data binding."""


def runtime_json(keys, vm_configuration=None, user_data=None):
    """The runtime-data JSON bytes, compact, in the real key order:
    {"keys":[...],"vm-configuration":{...},"user-data":"<128 uppercase hex>"}.
    `user_data` is 64 bytes (None = 64 zero bytes)."""
    if user_data is None:
        user_data = b"\0" * 64
    doc = {"keys": keys,
           "vm-configuration": dict(vm_configuration if vm_configuration is not None
                                    else VM_CONFIGURATION_DEFAULT),
           "user-data": bytes(user_data).hex().upper()}
    return json.dumps(doc, separators=(",", ":")).encode()


def rsa_jwk(kid, key_ops, public_key):
    """{"kid","key_ops","kty","e","n"} in the order of the real HCL runtime data."""
    nums = public_key.public_numbers()
    return {"kid": kid, "key_ops": list(key_ops), "kty": "RSA",
            "e": b64url_uint(nums.e), "n": b64url_uint(nums.n)}


def b64url_uint(value):
    raw = value.to_bytes((value.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def report_data_for(var_data, hash_type=HASH_SHA256):
    """The 64-byte report_data binding `var_data`: HASH(var_data) then zeros."""
    return _HASHES[hash_type](var_data).digest().ljust(64, b"\0")


def build(hw_report, var_data, report_type=REPORT_TYPE_SNP, request_type=REQUEST_AK_CERT,
          hash_type=HASH_SHA256, pad_to=None):
    """The HCL report bytes. `hw_report`: 1184-byte SNP report or 1024-byte TD report (its
    report_data must already bind `var_data`). `pad_to`: NV size to zero-pad to."""
    hw_report = bytes(hw_report)
    if len(hw_report) > HW_SIZE:
        raise HclError("hardware report too long: %d" % len(hw_report))
    var_data = bytes(var_data)
    report_size = VARDATA_OFFSET + len(var_data)
    out = bytearray()
    out += SIGNATURE + struct.pack("<III", HCL_VERSION, report_size, request_type) + b"\0" * 16
    out += hw_report.ljust(HW_SIZE, b"\0")
    out += struct.pack("<IIIII", 20 + len(var_data), 1, report_type, hash_type, len(var_data))
    out += var_data
    if pad_to is not None:
        if len(out) > pad_to:
            raise HclError("HCL report is %d bytes, more than the %d-byte NV index" %
                           (len(out), pad_to))
        out += b"\0" * (pad_to - len(out))
    return bytes(out)


class HclReport:
    """A parsed HCL report. Attributes: version, report_size, request_type, hw_report (1184 B
    union as stored), report_type, hash_type, var_data (bytes), runtime (parsed JSON or None)."""

    def __init__(self, raw):
        raw = bytes(raw)
        if len(raw) < VARDATA_OFFSET:
            raise HclError("HCL report: %d bytes, need at least %d" % (len(raw), VARDATA_OFFSET))
        if raw[0:4] != SIGNATURE:
            raise HclError("HCL report: bad signature %r" % raw[0:4])
        self.version, self.report_size, self.request_type = struct.unpack("<III", raw[4:16])
        self.hw_report = raw[HW_OFFSET:HW_OFFSET + HW_SIZE]
        (data_size, self.data_version, self.report_type, self.hash_type,
         var_size) = struct.unpack("<IIIII", raw[HCLDATA_OFFSET:VARDATA_OFFSET])
        if data_size != 20 + var_size:
            raise HclError("HclData: DataSize %d != 20 + VariableDataSize %d" %
                           (data_size, var_size))
        if VARDATA_OFFSET + var_size > len(raw):
            raise HclError("HclData: VariableDataSize %d runs past the end (%d bytes)" %
                           (var_size, len(raw)))
        if self.report_size > len(raw) or self.report_size < VARDATA_OFFSET + var_size:
            raise HclError("HCL report: ReportSize %d inconsistent with %d bytes / variable data"
                           % (self.report_size, len(raw)))
        if self.hash_type not in _HASHES:
            raise HclError("HclData: unknown ReportDataHashType %d" % self.hash_type)
        if self.report_type not in (REPORT_TYPE_SNP, REPORT_TYPE_TDX):
            raise HclError("HclData: unsupported ReportType %d" % self.report_type)
        self.var_data = raw[VARDATA_OFFSET:VARDATA_OFFSET + var_size]
        try:
            self.runtime = json.loads(self.var_data)
        except ValueError:
            self.runtime = None

    @property
    def hw_raw(self):
        """The hardware report: 1184 B for SNP, 1024 B for TDX."""
        if self.report_type == REPORT_TYPE_TDX:
            return self.hw_report[:TD_REPORT_SIZE]
        return self.hw_report

    @property
    def report_data(self):
        off = TDX_REPORT_DATA_OFFSET if self.report_type == REPORT_TYPE_TDX \
            else SNP_REPORT_DATA_OFFSET
        return self.hw_report[off:off + 64]

    def binding_ok(self):
        """report_data == HASH(var_data) || zeros."""
        return self.report_data == report_data_for(self.var_data, self.hash_type)

    def check_binding(self):
        if not self.binding_ok():
            raise HclError("report_data does not bind the runtime data")

    def key(self, kid):
        """The runtime-data JWK with this kid, or None."""
        for k in (self.runtime or {}).get("keys", []):
            if k.get("kid") == kid:
                return k
        return None


def parse(raw):
    return HclReport(raw)
