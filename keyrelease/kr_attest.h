/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attestation for provider azure-cvm-vtpm (AZURE-SKR.md §a): evidence from the vTPM (HCL report,
 * AK quote, ephemeral key certified by the AK), MAA AzureGuest, envelope opened in the TPM, token
 * verified (kr_jwt_verify_maa) and bound to the ephemeral key (top-level x-ms-runtime.keys,
 * kid TpmEphemeralEncryptionKey). The verified token is cached and reused until 5 minutes
 * before its exp; the unwrapper that goes with it performs the RSA-OAEP step of the key release
 * inside the TPM (§f, §i).
 *
 * Unwrapper design: it keeps its own ESAPI context and the ephemeral primary key loaded
 * (CreatePrimary under TPM_RH_NULL, template of §i, authPolicy = PolicyPCR over the attested
 * PCR values) for its whole life, because re-creating an RSA-2048 primary per release costs
 * a prime search on every call. Access to the TPM is serialized by a mutex inside the
 * unwrapper, so it may be used from any number of threads. If the TPM connection fails, or the
 * process has forked since the key was created, the next call re-opens the TCTI and re-creates
 * the primary from the stored template (deterministic for the same null seed and template) and
 * refuses to use it unless its modulus equals the attested one. When only the attester's cache
 * still references the unwrapper (the caller dropped its reference after a release batch), the
 * key is flushed and the TPM connection closed, so an idle process does not hold the TPM (swtpm
 * serves one connection at a time); the next decrypt re-creates the key (one CreatePrimary). Every
 * decrypt runs in a fresh PolicyPCR session: if the PCRs changed since attestation, decryption
 * fails (KR_ERR_TPM).
 *
 * Only keyrelease/ and tools/ include this header; it includes no curl/jansson/tss2 header.
 */
#ifndef SKR_KEYRELEASE_KR_ATTEST_H
#define SKR_KEYRELEASE_KR_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "kr_err.h"
#include "u_secmem.h"

struct kr_http;      /* kr_http.h: the shared HTTP client (retry policy, logging) */
struct kr_attester;  /* attestation state: config, cached token, current unwrapper */
struct kr_unwrapper; /* the TPM ephemeral key (refcounted) */

/** Key id AKV copies into key_hsm.header.kid for the ephemeral key (§e.4). */
#define KR_EPHEMERAL_KID "TpmEphemeralEncryptionKey"

/**
 * Create the attestation state. `cfg` and `http` are borrowed and must outlive the attester
 * (kr_ctx owns all three). Nothing touches the TPM or the network here.
 * Returns KR_OK, KR_ERR_NOMEM, or KR_ERR_CONFIG if cfg->att.provider is not azure-cvm-vtpm.
 */
enum kr_err kr_attester_new(const struct cfg *cfg, struct kr_http *http, struct kr_attester **out);

/** Free; drops the attester's reference on its unwrapper, wipes the cached token. NULL-safe. */
void kr_attester_free(struct kr_attester *a);

/**
 * Return a verified MAA token and the unwrapper of the key it names. Uses the cached token if
 * it is valid for at least 5 more minutes, otherwise runs the whole flow (stages evidence,
 * attest, token-verify; each failure logs one line). Thread-safe: concurrent callers wait for
 * one attestation and share its result.
 *   *maa_jwt_out: newly allocated compact JWT (caller frees with u_strfree_secret), may be NULL
 *                 if not wanted;
 *   *unwrap_out:  a new reference (caller drops it with kr_unwrapper_free), may be NULL.
 * Returns KR_OK or the failing stage's kr_err (KR_ERR_TPM, KR_ERR_HTTP..., KR_ERR_VERIFY, ...).
 */
enum kr_err kr_attest(struct kr_attester *a, char **maa_jwt_out, struct kr_unwrapper **unwrap_out);

/**
 * The verified claims (JWT payload) of the current token as compact JSON text, attesting first
 * if there is no valid cached token. Caller frees the string. For `skr-tool attest/policy`.
 */
enum kr_err kr_attest_claims(struct kr_attester *a, char **claims_json_out);

/* Progress of kr_attest_diagnose: `stage` is "evidence", "thim" (SEV-SNP) or "td-quote" (TDX),
 * "attest", "token-verify"; `detail` a one-line description (the error text on failure). */
typedef void (*kr_attest_progress_fn)(void *arg, const char *stage, enum kr_err err,
                                      const char *detail);

/**
 * Run a fresh attestation whatever the cache holds (for `skr-tool doctor`), calling `fn` after
 * each stage; stops at the first failing stage. On success the cache holds the new token.
 * Returns the first failure or KR_OK.
 */
enum kr_err kr_attest_diagnose(struct kr_attester *a, kr_attest_progress_fn fn, void *arg);

/**
 * A release policy (AZURE-SKR.md §g) that the claims `claims_json` (as kr_attest_claims returns
 * them) satisfy, for authority `authority`: the isolation TEE's attestation type and compliance
 * status, plus the SNP launch measurement if `measurement`. *out: pretty JSON, malloc'd.
 * KR_OK, KR_ERR_PARSE (a claim is missing; logged), KR_ERR_NOMEM.
 */
enum kr_err kr_attest_policy(const char *claims_json, const char *authority, bool measurement,
                             char **out);

/** Take another reference. Returns `u`. */
struct kr_unwrapper *kr_unwrapper_ref(struct kr_unwrapper *u);

/** Drop a reference; the last one flushes the TPM key and closes the ESAPI context. NULL-safe. */
void kr_unwrapper_free(struct kr_unwrapper *u);

/**
 * RSA-OAEP decrypt `c1[0..len)` (len = 256, the modulus size) with the ephemeral key inside a
 * PolicyPCR session: TPM2_RSA_Decrypt {TPM2_ALG_OAEP, hash}, empty label. `hash_nid` is
 * NID_sha1 (CKM_RSA_AES_KEY_WRAP), NID_sha256 (RSA_AES_KEY_WRAP_256) or NID_sha384
 * (RSA_AES_KEY_WRAP_384); the TPM uses the same hash for MGF1. *k_out is a new secure buffer
 * with the plaintext (the AES key). Thread-safe (TPM access serialized inside).
 * Returns KR_OK, KR_ERR_INVALID (bad hash/length), KR_ERR_TPM (one log line, stage "unwrap"),
 * KR_ERR_NOMEM.
 */
enum kr_err kr_unwrapper_rsa_oaep(struct kr_unwrapper *u, int hash_nid, const unsigned char *c1,
                                  size_t len, struct u_secbuf **k_out);

/**
 * Public modulus of the ephemeral key (big-endian, borrowed, valid while `u` is referenced) and
 * its public exponent. For checks against x-ms-runtime and key_hsm.header.kid matching.
 */
const unsigned char *kr_unwrapper_modulus(const struct kr_unwrapper *u, size_t *len,
                                          uint32_t *exponent);

#endif /* SKR_KEYRELEASE_KR_ATTEST_H */
