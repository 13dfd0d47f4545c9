# SPDX-License-Identifier: Apache-2.0
"""The guest side of Azure SKR on a vTPM CVM, in Python over tpm2-pytss (spec §a, §d.3, §f, §i).

The emulator's own tests drive the whole flow with this; it is also a reference for the module:
  raw = read_hcl_report(tcti)
  info, eph = build_attestation_info(tcti, thim_json, pcrs=range(8), nonce="ADE0101")
  (TDX CVM: build_attestation_info(tcti, None, tdquote=fn), fn(td_report) -> quote bytes, e.g.
   IMDS POST /acc/tdquote)
  body = attestation_request_body(info)                 # POST .../attest/AzureGuest
  jwt = decrypt_envelope(tcti, eph, response["token"])
  key_bytes = tpm_unwrap_key_hsm(tcti, eph, key_hsm)    # after /release
"""
import base64
import hashlib
import json
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap_with_padding

from . import cvm as _cvm
from . import hcl

EPHEMERAL_ATTRS = 0x00020432     # decrypt | fixedTPM | fixedParent | sensitiveDataOrigin | noDA
TPM_CC_POLICY_PCR = 0x0000017F
TPM_ALG_SHA256 = 0x000B


def _t():
    import tpm2_pytss as t
    return t


def b64(data):
    return base64.b64encode(data).decode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64any_decode(text):
    """Standard or URL-safe base64, padded or not."""
    if isinstance(text, bytes):
        text = text.decode()
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


class Ephemeral:
    """What re-creating the ephemeral key needs: template (TPM2B_PUBLIC), PCR list; plus its
    public part (tpm2b_public bytes, cryptography public_key)."""

    def __init__(self, template, pcrs, tpm2b_public, public_key):
        self.template = template
        self.pcrs = list(pcrs)
        self.tpm2b_public = tpm2b_public
        self.public_key = public_key


def read_hcl_report(tcti):
    """NV 0x01400001, read with owner auth in <= 1024-byte chunks (size from NV_ReadPublic)."""
    t = _t()
    with t.ESAPI(tcti) as ectx:
        return _cvm.nv_read_all(ectx, _cvm.NV_HCL_REPORT)


def _pcr_selection_bytes(pcrs):
    """Marshaled TPML_PCR_SELECTION with one SHA-256 bank."""
    bitmap = bytearray(3)
    for i in pcrs:
        bitmap[i // 8] |= 1 << (i % 8)
    return struct.pack(">IHB", 1, TPM_ALG_SHA256, 3) + bytes(bitmap)


def _selection_str(pcrs):
    return "sha256:" + ",".join(str(i) for i in sorted(pcrs))


def read_pcrs(ectx, pcrs):
    """{index: 32-byte SHA-256 value}."""
    t = _t()
    out = {}
    todo = sorted(pcrs)
    while todo:
        _, sel, values = ectx.pcr_read(t.TPML_PCR_SELECTION.parse(_selection_str(todo)))
        got = []
        bits = bytes(sel.pcrSelections[0].pcrSelect)[:sel.pcrSelections[0].sizeofSelect]
        for i in todo:
            if i // 8 < len(bits) and bits[i // 8] & (1 << (i % 8)):
                got.append(i)
        if not got:
            raise _cvm.CvmError("PCR_Read returned nothing for %s" % todo)
        for i, digest in zip(got, values.digests):
            out[i] = bytes(digest)
        todo = [i for i in todo if i not in out]
    return out


def policy_pcr_digest(pcr_values):
    """PolicyPCR digest (SHA-256) for the SHA-256 bank, computed by hand:
    H(0^32 || TPM_CC_PolicyPCR || TPML_PCR_SELECTION || H(PCR values in index order))."""
    pcrs = sorted(pcr_values)
    pcr_digest = hashlib.sha256(b"".join(pcr_values[i] for i in pcrs)).digest()
    return hashlib.sha256(b"\0" * 32 + struct.pack(">I", TPM_CC_POLICY_PCR) +
                          _pcr_selection_bytes(pcrs) + pcr_digest).digest()


def ephemeral_template(auth_policy):
    """§i: RSA-2048, nameAlg SHA-256, attrs 0x00020432, symmetric/scheme NULL, exponent 0,
    unique 256 zero bytes, authPolicy = PolicyPCR digest."""
    t = _t()
    pub = t.TPM2B_PUBLIC()
    area = pub.publicArea
    area.type = t.TPM2_ALG.RSA
    area.nameAlg = t.TPM2_ALG.SHA256
    area.objectAttributes = EPHEMERAL_ATTRS
    area.authPolicy = auth_policy
    det = area.parameters.rsaDetail
    det.symmetric.algorithm = t.TPM2_ALG.NULL
    det.scheme.scheme = t.TPM2_ALG.NULL
    det.keyBits = 2048
    det.exponent = 0
    area.unique.rsa = b"\0" * 256
    return pub


def _create_ephemeral(ectx, template):
    t = _t()
    handle, pub, _, _, _ = ectx.create_primary(None, template, t.ESYS_TR.NULL)
    return handle, pub


def _ak(ectx):
    return ectx.tr_from_tpmpublic(_cvm.AK_HANDLE)


def build_attestation_info(tcti, thim_json, pcrs=range(8), nonce=None, os_info=None,
                           proof_b64url=False, tdquote=None):
    """(AttestationInfo dict as §d.3, Ephemeral). `thim_json`: the THIM body (dict or JSON text),
    used when the HCL report is SEV-SNP. `tdquote`: for a TDX HCL report, a function turning the
    1024-byte TD report into the quote (IMDS /acc/tdquote); Type "Tdx", Proof = b64(quote) (§a').
    `nonce`: ClientPayload {"nonce": b64(nonce)} when given. `proof_b64url`: encode Proof as
    the Python tool does (b64url) instead of b64."""
    t = _t()
    if isinstance(thim_json, (str, bytes)):
        thim_json = json.loads(thim_json)
    pcrs = sorted(pcrs)
    os_info = os_info or {"OSType": "Linux", "OSDistro": "Debian GNU/Linux",
                          "OSBuild": "NotApplication", "OSVersionMajor": 12, "OSVersionMinor": 0}
    with t.ESAPI(tcti) as ectx:
        raw = _cvm.nv_read_all(ectx, _cvm.NV_HCL_REPORT)
        report = hcl.parse(raw)
        ak_cert = _cvm.nv_read_all(ectx, _cvm.NV_AK_CERT)
        ak = _ak(ectx)
        ak_pub, _, _ = ectx.read_public(ak)
        values = read_pcrs(ectx, pcrs)
        quote, quote_sig = ectx.quote(ak, _selection_str(pcrs), b"")
        template = ephemeral_template(policy_pcr_digest(values))
        eph, eph_pub = _create_ephemeral(ectx, template)
        try:
            certify_info, certify_sig = ectx.certify(
                eph, ak, b"", t.TPMT_SIG_SCHEME(scheme=t.TPM2_ALG.NULL))
        finally:
            ectx.flush_context(eph)
    if report.report_type == hcl.REPORT_TYPE_TDX:
        if tdquote is None:
            raise ValueError("a TDX HCL report needs `tdquote` to obtain the quote")
        iso_type, proof = "Tdx", tdquote(report.hw_raw)
    else:
        iso_type = "SevSnp"
        proof = json.dumps({"SnpReport": b64url(report.hw_raw),
                            "VcekCertChain": b64((thim_json["vcekCert"] +
                                                  thim_json["certificateChain"]).encode())},
                           separators=(",", ":")).encode()
    info = {
        "AttestationProtocolVersion": "2.0",
        "ClientPayload": {"nonce": b64(nonce.encode())} if nonce is not None else {},
        "IsolationInfo": {
            "Type": iso_type,
            "Evidence": {"Proof": b64url(proof) if proof_b64url else b64(proof),
                         "RunTimeData": b64(report.var_data)},
        },
        "OSBuild": b64(os_info["OSBuild"].encode()),
        "OSDistro": b64(os_info["OSDistro"].encode()),
        "OSType": b64(os_info["OSType"].encode()),
        "OSVersionMajor": os_info["OSVersionMajor"],
        "OSVersionMinor": os_info["OSVersionMinor"],
        "TcgLogs": "",
        "TpmInfo": {
            "AikCert": b64(ak_cert),
            "AikPub": b64(ak_pub.marshal()),
            "PcrQuote": b64(quote.marshal()),
            "PcrSignature": b64(quote_sig.marshal()),
            "EncKeyPub": b64(eph_pub.marshal()),
            "EncKeyCertifyInfo": b64(bytes(certify_info)),
            "EncKeyCertifyInfoSignature": b64(bytes(certify_sig.signature.rsassa.sig)),
            "PcrSet": pcrs,
            "PCRs": [{"Index": i, "Digest": b64(values[i])} for i in pcrs],
        },
    }
    ephemeral = Ephemeral(template, pcrs, eph_pub.marshal(), _cvm.rsa_public_from_tpm(eph_pub))
    return info, ephemeral


def attestation_request_body(info):
    """{"AttestationInfo": b64url(JSON with sorted keys, as jsoncpp writes it)}."""
    return {"AttestationInfo": b64url(json.dumps(info, sort_keys=True).encode())}


def _tpm_decrypt(tcti, ephemeral, ciphertext, scheme):
    """TPM2_RSA_Decrypt with the re-created ephemeral key under a PolicyPCR session."""
    t = _t()
    with t.ESAPI(tcti) as ectx:
        key, pub = _create_ephemeral(ectx, ephemeral.template)
        try:
            if pub.marshal() != ephemeral.tpm2b_public:
                raise _cvm.CvmError("re-created ephemeral key differs (TPM reset?)")
            sess = ectx.start_auth_session(
                t.ESYS_TR.NONE, t.ESYS_TR.NONE, t.TPM2_SE.POLICY,
                t.TPMT_SYM_DEF(algorithm=t.TPM2_ALG.NULL), t.TPM2_ALG.SHA256)
            try:
                ectx.policy_pcr(sess, b"", t.TPML_PCR_SELECTION.parse(
                    _selection_str(ephemeral.pcrs)))
                out = ectx.rsa_decrypt(key, ciphertext, scheme, b"", session1=sess)
            finally:
                ectx.flush_context(sess)
        finally:
            ectx.flush_context(key)
    return bytes(out)


def _envelope(envelope_json):
    if isinstance(envelope_json, dict):
        return envelope_json
    if isinstance(envelope_json, bytes):
        envelope_json = envelope_json.decode()
    text = envelope_json.strip()
    if not text.startswith("{"):
        text = b64any_decode(text).decode()
    return json.loads(text)


def decrypt_envelope(tcti, ephemeral, envelope_json):
    """The JWT inside MAA's AzureGuest envelope (dict, JSON text, or the b64url `token`): inner
    key by RSAES in the TPM, then AES-GCM with AAD "Transport Key"."""
    t = _t()
    env = _envelope(envelope_json)
    params = env["EncryptionParams"]
    if (params.get("BlockMode"), params.get("BlockPadding"), params.get("Cipher")) != \
            ("ChainingModeGCM", "PKCS7", "AES") or not params.get("KeySizeInBits"):
        raise ValueError("unexpected EncryptionParams %r" % params)
    scheme = t.TPMT_RSA_DECRYPT(scheme=t.TPM2_ALG.RSAES)
    inner = _tpm_decrypt(tcti, ephemeral, b64any_decode(env["EncryptedInnerKey"]), scheme)
    gcm = AESGCM(inner)
    plain = gcm.decrypt(b64any_decode(params["Iv"]),
                        b64any_decode(env["Jwt"]) + b64any_decode(env["AuthenticationData"]),
                        b"Transport Key")
    return plain.decode()


ENC_HASH = {"CKM_RSA_AES_KEY_WRAP": "SHA1", "RSA_AES_KEY_WRAP_256": "SHA256",
            "RSA_AES_KEY_WRAP_384": "SHA384"}


def tpm_unwrap_key_hsm(tcti, ephemeral, key_hsm):
    """Key bytes from a release's key_hsm (dict, JSON, or its b64url string): RSA-OAEP in the
    TPM with the enc's hash (libtpms uses it for MGF1 too), then AES-KWP (RFC 5649)."""
    t = _t()
    if isinstance(key_hsm, (str, bytes)):
        key_hsm = _envelope(key_hsm)
    enc = key_hsm["header"]["enc"]
    ct = b64any_decode(key_hsm["ciphertext"])
    scheme = t.TPMT_RSA_DECRYPT(scheme=t.TPM2_ALG.OAEP)
    scheme.details.oaep.hashAlg = getattr(t.TPM2_ALG, ENC_HASH[enc])
    modlen = ephemeral.public_key.key_size // 8
    kek = _tpm_decrypt(tcti, ephemeral, ct[:modlen], scheme)
    return aes_key_unwrap_with_padding(kek, ct[modlen:])


def write_user_data(tcti, data):
    """Define NV 0x01400002 (64 B, owner) if absent and write `data` (64 bytes) - the paravisor
    then regenerates 0x01400001."""
    t = _t()
    data = bytes(data).ljust(64, b"\0")[:64]
    with t.ESAPI(tcti) as ectx:
        if not _cvm.handle_exists(ectx, _cvm.NV_USER_DATA):
            attrs = (t.TPMA_NV.OWNERWRITE | t.TPMA_NV.OWNERREAD | t.TPMA_NV.AUTHWRITE |
                     t.TPMA_NV.AUTHREAD)
            info = t.TPM2B_NV_PUBLIC(nvPublic=t.TPMS_NV_PUBLIC(
                nvIndex=_cvm.NV_USER_DATA, nameAlg=t.TPM2_ALG.SHA256, attributes=attrs,
                dataSize=64))
            ectx.nv_define_space(None, info, t.ESYS_TR.OWNER)
        tr = ectx.tr_from_tpmpublic(_cvm.NV_USER_DATA)
        ectx.nv_write(tr, data, 0, t.ESYS_TR.OWNER)
