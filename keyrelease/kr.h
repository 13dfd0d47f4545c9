/* SPDX-License-Identifier: Apache-2.0 */
/*
 * keyrelease/ top level, the only header module/ includes from this folder (with kr_err.h).
 * It includes no curl, jansson, OpenSSL or tss2 header.
 *
 * Flow of kr_release_all (ARCHITECTURE.md "Release timing"), for every token with
 * source = keyvault:
 *   1. identity: one bearer token per resource (vault / managedhsm);
 *   2. metadata: GET key (+ GET certificate) for all keys of all tokens, in parallel;
 *   3. attest: ONE attestation (kr_attest: verified MAA JWT + an unwrapper bound to the
 *      ephemeral key), reused for all releases and until shortly before exp;
 *   4. release: POST release for all keys of all tokens, in parallel;
 *   5. release-verify + unwrap per key; the released public part must equal the metadata.
 * Each key gets its own result; one failing key does not affect the others. Every failure has
 * been logged (one line: stage, endpoint, status, Azure code/message, x-ms-request-id) when
 * kr_release_all returns.
 */
#ifndef SKR_KEYRELEASE_KR_H
#define SKR_KEYRELEASE_KR_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"
#include "kr_err.h"
#include "kr_http.h"
#include "u_secmem.h"

struct kr_ctx;
struct kr_http;
struct kr_identity;
struct kr_attester;

/** Type of a Key Vault key, from its kty. */
enum kr_kind {
    KR_KIND_RSA = 0, /* private part: PKCS#8 DER */
    KR_KIND_EC,      /* private part: PKCS#8 DER */
    KR_KIND_OCT,     /* private part: raw secret bytes (CKK_AES / CKK_GENERIC_SECRET per cfg) */
};

/** Result for one [key] of a keyvault token. Owned by struct kr_result. */
struct kr_key_result {
    const struct cfg_token *token; /* borrowed from the cfg given to kr_ctx_new */
    const struct cfg_key *key;     /* borrowed */
    enum kr_kind kind;
    bool have_public;    /* metadata succeeded: spki (RSA/EC) valid */
    unsigned char *spki; /* SubjectPublicKeyInfo DER, NULL for oct or on metadata failure */
    size_t spki_len;
    unsigned char *cert; /* X.509 DER of the configured certificate, NULL if none/failed */
    size_t cert_len;
    struct u_secbuf *priv; /* released: PKCS#8 DER (RSA/EC) or raw secret (oct); NULL if not
                              released. The caller may take it (set to NULL) and must wipe it
                              (u_secbuf_free) after import. */
    enum kr_err err;       /* KR_OK when released and checked */
    enum kr_stage stage;   /* failing stage when err != KR_OK */
    char msg[768];         /* one-line reason (no secrets), "" when OK: stage, key, endpoint,
                              HTTP status, Azure code/message, x-ms-request-id */
};

struct kr_result {
    struct kr_key_result *keys; /* every key of every keyvault token, in config order */
    size_t nkeys;
    enum kr_err attest_err; /* result of the single attestation (KR_OK if not needed) */
};

/**
 * Context for `cfg` (borrowed; must outlive the context): HTTP client, identity, attester,
 * trust store (system roots + cfg ca-file). No network or TPM I/O here.
 * KR_OK, KR_ERR_NOMEM, KR_ERR_CONFIG (unreadable ca-file, unsupported provider), KR_ERR_INTERNAL.
 */
enum kr_err kr_ctx_new(const struct cfg *cfg, struct kr_ctx **out);

/* kr_set_threads_allowed() / kr_threads_allowed(): see kr_http.h. */

/** Free everything (cached tokens wiped). NULL-safe. Not while kr_release_all runs. */
void kr_ctx_free(struct kr_ctx *ctx);

/**
 * Run the flow above for every keyvault token. Blocks until every key is released or has
 * failed. *out receives the results (free with kr_result_free) whenever the return is KR_OK;
 * per-key failures are in the results, never in the return value. Returns KR_ERR_NOMEM (or
 * KR_ERR_INTERNAL) only when no result could be produced at all.
 */
enum kr_err kr_release_all(struct kr_ctx *ctx, struct kr_result **out);

/**
 * kr_release_all that also hands each key to `on_key` as soon as its result is final (released
 * and checked, or failed), while other keys are still being released or unwrapped: the caller
 * can import a key during the TPM work of the next ones. Called exactly once per key of
 * *out (same pointer as in *out), from an internal thread (HTTP pool, unwrap finisher) or the
 * calling one, possibly concurrently for different keys; it may take r->priv (set it to NULL,
 * wipe it after use). When the return is not KR_OK, some keys may have been handed over
 * already; *out is not set.
 */
typedef void (*kr_key_done_fn)(struct kr_key_result *r, void *arg);
enum kr_err kr_release_all_cb(struct kr_ctx *ctx, kr_key_done_fn on_key, void *arg,
                              struct kr_result **out);

/**
 * Same, public metadata only (no attestation, no release): for `skr-tool list` and for
 * provider = none. Results have priv == NULL and err = KR_OK where the metadata worked.
 */
enum kr_err kr_metadata_all(struct kr_ctx *ctx, struct kr_result **out);

/** The context's parts, borrowed (for skr-tool doctor/attest: kr_http.h, kr_identity.h,
 *  kr_attest.h). kr_ctx_attester is NULL for provider none. */
struct kr_http *kr_ctx_http(struct kr_ctx *ctx);
struct kr_identity *kr_ctx_identity(struct kr_ctx *ctx);
struct kr_attester *kr_ctx_attester(struct kr_ctx *ctx);

/** Free results; wipes any priv still held. NULL-safe. */
void kr_result_free(struct kr_result *r);

#endif /* SKR_KEYRELEASE_KR_H */
