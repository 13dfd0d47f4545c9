/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MAA AzureGuest (AZURE-SKR.md §d.3): the AttestationInfo JSON built from vTPM evidence, the
 * THIM VCEK chain / TD quote from IMDS (§d.8), the POST to {maa}/attest/AzureGuest, the
 * encrypted envelope opened with an RSAES callback (the TPM) + AES-GCM (AAD "Transport Key"),
 * and the binding of the token's top-level x-ms-runtime key to the ephemeral key.
 */
#ifndef SKR_KEYRELEASE_KR_MAA_H
#define SKR_KEYRELEASE_KR_MAA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "kr_err.h"
#include "kr_hcl.h"
#include "kr_vtpm.h"
#include "u_secmem.h"

struct kr_http;

/* Everything the AttestationInfo JSON is made of. Blobs are owned (kr_maa_evidence_cleanup). */
struct kr_maa_evidence {
    struct kr_blob hcl;          /* NV 0x01400001 as read */
    struct kr_hcl_report report; /* parsed; borrows hcl */
    struct kr_blob proof_extra;  /* SNP: VCEK chain PEM (vcekCert + certificateChain);
                                    TDX: the TD quote from IMDS /acc/tdquote */
    struct kr_blob ak_cert;      /* DER from NV 0x01C101D0 */
    struct kr_blob ak_pub;       /* marshaled TPM2B_PUBLIC of 0x81000003 */
    struct kr_blob quote;        /* marshaled TPM2B_ATTEST */
    struct kr_blob quote_sig;    /* marshaled TPMT_SIGNATURE */
    struct kr_blob enc_pub;      /* marshaled TPM2B_PUBLIC of the ephemeral key */
    struct kr_blob certify_info; /* TPMS_ATTEST bytes */
    struct kr_blob certify_sig;  /* raw signature bytes */
    struct kr_blob tcg_log;      /* binary event log, may be empty */
    uint32_t pcr_mask;
    unsigned char pcrs[KR_VTPM_MAX_PCRS][32];
};

/* OS description sent as OSBuild/OSDistro/OSType/OSVersionMajor/Minor. */
struct kr_maa_os {
    char distro[128]; /* NAME from os-release */
    int major;        /* VERSION_ID "22.04" -> 22, 4 */
    int minor;
};

/** Free all blobs and zero the struct; NULL-safe. */
void kr_maa_evidence_cleanup(struct kr_maa_evidence *ev);

/** Read NAME and VERSION_ID from an os-release file (default "/etc/os-release" if NULL);
 *  missing file or fields give "Linux", 0, 0. Never fails. */
void kr_maa_os_read(const char *path, struct kr_maa_os *os);

/** Read the TCG event log (`path`, default /sys/kernel/security/tpm0/binary_bios_measurements)
 *  if readable, capped at 1 MiB; otherwise an empty blob. KR_OK or KR_ERR_NOMEM. */
enum kr_err kr_maa_tcg_log_read(const char *path, struct kr_blob *out);

/**
 * GET {imds}/metadata/THIM/amd/certification (Metadata: true, no proxy) → vcekCert +
 * certificateChain into *chain (PEM text, not NUL-counted in len but NUL-terminated).
 * Stage "evidence". KR_OK, KR_ERR_NETWORK/HTTP..., KR_ERR_PARSE, KR_ERR_NOMEM.
 */
enum kr_err kr_maa_thim_fetch(struct kr_http *http, const char *imds, struct kr_blob *chain);

/** POST {imds}/acc/tdquote {"report": b64url(td report)} → the decoded quote (§a'). */
enum kr_err kr_maa_tdquote_fetch(struct kr_http *http, const char *imds, const unsigned char *td,
                                 size_t td_len, struct kr_blob *quote);

/**
 * The AttestationInfo JSON of §d.3 (keys sorted, compact). `nonce` may be NULL (then
 * ClientPayload is {}). *out malloc'd. KR_OK, KR_ERR_NOMEM, KR_ERR_INVALID.
 */
enum kr_err kr_maa_attestation_info(const struct kr_maa_evidence *ev, const char *nonce,
                                    const struct kr_maa_os *os, char **out);

/**
 * POST {maa}/attest/AzureGuest?api-version=2020-10-01 with {"AttestationInfo": b64url(info)}
 * (stage "attest"); *token_out = the response's "token" (b64url of the envelope), malloc'd.
 */
enum kr_err kr_maa_attest_post(struct kr_http *http, const char *maa, const char *info,
                               char **token_out);

/* RSAES-PKCS1-v1_5 decrypt of the envelope's inner key (the TPM ephemeral key). */
typedef enum kr_err (*kr_maa_rsaes_fn)(void *arg, const unsigned char *in, size_t len,
                                       struct u_secbuf **out);

/**
 * Open the envelope `token` (b64url of the envelope JSON): checks EncryptionParams
 * (ChainingModeGCM, PKCS7, AES, KeySizeInBits > 0, Iv), decrypts EncryptedInnerKey with
 * `rsaes`, then AES-GCM (key 16/24/32 bytes, AAD "Transport Key", tag AuthenticationData)
 * → *jwt_out (malloc'd compact JWT). Stage "attest" for the log line.
 * KR_OK, KR_ERR_PARSE, KR_ERR_VERIFY (GCM tag), KR_ERR_TPM (from rsaes), KR_ERR_NOMEM.
 */
enum kr_err kr_maa_envelope_open(const char *token, kr_maa_rsaes_fn rsaes, void *arg,
                                 char **jwt_out);

/**
 * Check that the TOP-LEVEL x-ms-runtime.keys of `claims` holds an RSA key with kid
 * TpmEphemeralEncryptionKey whose n/e equal `modulus` (big-endian) / `exponent`.
 * KR_OK or KR_ERR_VERIFY (logged, stage "token-verify").
 */
enum kr_err kr_maa_check_runtime_key(const json_t *claims, const unsigned char *modulus,
                                     size_t mod_len, uint32_t exponent);

/**
 * A release policy (AZURE-SKR.md §g grammar) that the token `claims_json` satisfies:
 * {"version":"1.0.0","anyOf":[{"authority": <authority>, "allOf": [
 *   x-ms-isolation-tee.x-ms-attestation-type, x-ms-isolation-tee.x-ms-compliance-status
 *   (or the top-level claims for SevSnpVm tokens), and with `measurement` the launch
 *   measurement: x-ms-sevsnpvm-launchmeasurement, or tdx_mrtd for a tdxvm token]}]}.
 *   *out is pretty-printed JSON (malloc'd).
 * KR_OK, KR_ERR_PARSE (claims missing; logged), KR_ERR_NOMEM.
 */
enum kr_err kr_maa_policy_suggest(const char *claims_json, const char *authority, bool measurement,
                                  char **out);

#endif /* SKR_KEYRELEASE_KR_MAA_H */
