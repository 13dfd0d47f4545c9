/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Azure vTPM through tpm2-tss ESAPI (AZURE-SKR.md §a step 1, §i): HCL report and AK
 * certificate from NV, AK public, PCR values and quote, the ephemeral encryption key
 * (TpmEphemeralEncryptionKey) created from the §i template, certified by the AK, and
 * RSA_Decrypt with it inside a PolicyPCR session.
 *
 * Choices: the ephemeral key is a primary under TPM_RH_NULL (as the Microsoft library does: no
 * hierarchy auth needed, and the null seed is fixed until the next TPM reset, so CreatePrimary
 * with the same template gives the same key for the life of the VM boot). Its authPolicy is
 * computed by hand: PolicyPCR digest = SHA256(0^32 || TPM_CC_PolicyPCR || TPML_PCR_SELECTION ||
 * SHA256(PCR values in selection order)). RSA_Decrypt runs in a fresh policy session whose
 * PolicyPCR has an empty pcrDigest, so the TPM uses the current values: after any PCR extend the
 * policy no longer matches and decryption fails.
 *
 * Every transient object and session this file creates is flushed before the call returns,
 * except the ephemeral key (flushed by kr_vtpm_key_free). No resource manager is assumed.
 * Not thread-safe: one struct kr_vtpm per thread, or a lock around it (kr_attest.c does that).
 * Every TPM failure logs one error line: "<stage>: TPM <command> failed: <Tss2_RC_Decode>".
 */
#ifndef SKR_KEYRELEASE_KR_VTPM_H
#define SKR_KEYRELEASE_KR_VTPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kr_err.h"
#include "u_secmem.h"

#define KR_VTPM_NV_HCL_REPORT 0x01400001u
#define KR_VTPM_NV_AK_CERT    0x01C101D0u
#define KR_VTPM_AK_HANDLE     0x81000003u
#define KR_VTPM_MAX_PCRS      24
#define KR_VTPM_NV_CHUNK      1024u /* swtpm caps NV_Read there */

struct kr_vtpm;
struct kr_vtpm_key;

/* A byte string owned by its holder (free with free()). */
struct kr_blob {
    unsigned char *data;
    size_t len;
};

/** Free the bytes and reset; NULL-safe. */
void kr_blob_clear(struct kr_blob *b);

/** Open an ESAPI context on `tcti` (Tss2_TctiLdr_Initialize syntax, e.g. "device:/dev/tpmrm0",
 *  "swtpm:host=127.0.0.1,port=2321"). KR_OK, KR_ERR_TPM (logged, stage evidence), KR_ERR_NOMEM. */
enum kr_err kr_vtpm_open(const char *tcti, struct kr_vtpm **out);

/** Close the context and the TCTI, flushing the kept decrypt policy session (not from a forked
 *  child); NULL-safe. Does not flush keys (free them first). */
void kr_vtpm_close(struct kr_vtpm *t);

/** Whole content of NV index `index` (read with owner auth, empty password, when the index
 *  allows OWNERREAD, else with its own empty auth), in chunks of ≤ KR_VTPM_NV_CHUNK and
 *  ≤ TPM_PT_NV_BUFFER_MAX. KR_OK, KR_ERR_TPM, KR_ERR_NOMEM. */
enum kr_err kr_vtpm_nv_read(struct kr_vtpm *t, uint32_t index, struct kr_blob *out);

/** Marshaled TPM2B_PUBLIC of the persistent/transient object `handle`. */
enum kr_err kr_vtpm_read_public(struct kr_vtpm *t, uint32_t handle, struct kr_blob *out);

/** SHA-256 bank values of the PCRs in `mask` (bit i = PCR i): digests[i] is set for each
 *  selected i (8 PCRs per PCR_Read). KR_OK, KR_ERR_TPM, KR_ERR_INVALID (empty mask). */
enum kr_err kr_vtpm_pcr_read(struct kr_vtpm *t, uint32_t mask,
                             unsigned char digests[KR_VTPM_MAX_PCRS][32]);

/** TPM2_Quote over the SHA-256 bank PCRs of `mask` with the key at persistent `ak` (empty
 *  qualifyingData, scheme NULL): marshaled TPM2B_ATTEST and TPMT_SIGNATURE. */
enum kr_err kr_vtpm_quote(struct kr_vtpm *t, uint32_t ak, uint32_t mask, struct kr_blob *attest,
                          struct kr_blob *sig);

/**
 * PolicyPCR digest (SHA-256) for `mask` given the PCR values `digests` (as kr_vtpm_pcr_read
 * fills them). `policy` receives 32 bytes. KR_OK, KR_ERR_INTERNAL.
 */
enum kr_err kr_vtpm_policy_pcr(uint32_t mask, const unsigned char digests[KR_VTPM_MAX_PCRS][32],
                               unsigned char policy[32]);

/**
 * CreatePrimary under TPM_RH_NULL with the §i template and authPolicy `policy` (32 bytes).
 * *out owns the loaded key. KR_OK, KR_ERR_TPM, KR_ERR_NOMEM.
 */
enum kr_err kr_vtpm_key_create(struct kr_vtpm *t, const unsigned char policy[32],
                               struct kr_vtpm_key **out);

/** Flush the key from the TPM (through the kr_vtpm it was created with) and free; NULL-safe. */
void kr_vtpm_key_free(struct kr_vtpm *t, struct kr_vtpm_key *k);

/** Forget the key without talking to the TPM (the context is gone, e.g. after fork). */
void kr_vtpm_key_forget(struct kr_vtpm_key *k);

/** Marshaled TPM2B_PUBLIC of the key (borrowed). */
const struct kr_blob *kr_vtpm_key_public(const struct kr_vtpm_key *k);

/** Big-endian RSA modulus of the key (borrowed, 256 bytes). */
const unsigned char *kr_vtpm_key_modulus(const struct kr_vtpm_key *k, size_t *len);

/** TPM name of the key (nameAlg || SHA-256(TPMT_PUBLIC)), borrowed. */
const struct kr_blob *kr_vtpm_key_name(const struct kr_vtpm_key *k);

/**
 * TPM2_Certify(object = key (password session, empty), sign = persistent `ak` (password
 * session), qualifyingData empty, scheme NULL): *info = TPMS_ATTEST bytes (the
 * TPM2B_ATTEST's attestationData without the size), *sig = the raw RSASSA/RSAPSS signature.
 */
enum kr_err kr_vtpm_certify(struct kr_vtpm *t, const struct kr_vtpm_key *k, uint32_t ak,
                            struct kr_blob *info, struct kr_blob *sig);

/* Decryption schemes for kr_vtpm_decrypt. */
enum kr_vtpm_scheme {
    KR_VTPM_RSAES = 0,   /* PKCS#1 v1.5 (MAA envelope inner key) */
    KR_VTPM_OAEP_SHA1,   /* CKM_RSA_AES_KEY_WRAP */
    KR_VTPM_OAEP_SHA256, /* RSA_AES_KEY_WRAP_256 */
    KR_VTPM_OAEP_SHA384, /* RSA_AES_KEY_WRAP_384 */
};

/**
 * TPM2_RSA_Decrypt with `k` in a policy session (PolicyPCR over `mask`, current values), label
 * empty. The session is started on the first call and reused by the next ones (PolicyPCR +
 * RSA_Decrypt per call). *out is a new secure buffer with the plaintext. Failures log with `stage`.
 * KR_OK, KR_ERR_TPM, KR_ERR_INVALID (in_len not the modulus size), KR_ERR_NOMEM.
 */
enum kr_err kr_vtpm_decrypt(struct kr_vtpm *t, const struct kr_vtpm_key *k, uint32_t mask,
                            enum kr_vtpm_scheme scheme, const unsigned char *in, size_t in_len,
                            enum kr_stage stage, struct u_secbuf **out);

/** True when `err` came from a TCTI (transport) failure of the last command, so reopening the
 *  context may help. */
bool kr_vtpm_transport_failed(const struct kr_vtpm *t);

#endif /* SKR_KEYRELEASE_KR_VTPM_H */
