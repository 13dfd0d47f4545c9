/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Azure Key Vault / Managed HSM client (AZURE-SKR.md §d.7, §f): public metadata (GET key,
 * GET certificate), the release request and verification of its JWS answer, and the key_hsm
 * unwrap (RSA-OAEP by a pluggable decryptor + AES-KWP in process, RFC 5649).
 *
 * Plaintext key bytes only ever exist in u_secbuf (secure heap); they never pass through
 * jansson or libcurl (they arrive wrapped in key_hsm.ciphertext).
 */
#ifndef SKR_KEYRELEASE_KR_AKV_H
#define SKR_KEYRELEASE_KR_AKV_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "kr_err.h"
#include "u_secmem.h"

struct kr_http;

/** api-version used for every AKV request (7.3 response shapes are accepted too). */
#define KR_AKV_API_VERSION "7.4"
/** Default `enc` of the release request. */
#define KR_AKV_DEFAULT_ENC "RSA_AES_KEY_WRAP_256"

enum kr_key_kind {
    KR_KEY_RSA = 0, /* kty RSA / RSA-HSM: private part is PKCS#8 DER */
    KR_KEY_EC,      /* kty EC / EC-HSM: private part is PKCS#8 DER */
    KR_KEY_OCT,     /* kty oct / oct-HSM: private part is the raw secret */
};

/** Public metadata of one key (GET key). */
struct kr_akv_key {
    char *kid; /* versioned key id URL from the vault */
    enum kr_key_kind kind;
    unsigned char *spki; /* SubjectPublicKeyInfo DER (NULL for oct) */
    size_t spki_len;
    bool exportable; /* attributes.exportable (false when absent) */
    bool has_policy; /* a release_policy is present */
};

void kr_akv_key_free(struct kr_akv_key *k);

/**
 * "<vault>/keys/<name>[/<version>]" with a single '/' after the vault, names percent-encoded.
 * malloc'd, NULL on OOM.
 */
char *kr_akv_key_url(const char *vault, const char *name, const char *version);

/** Host part of a URL ("https://h:port/..." → "h"), malloc'd; NULL if none / OOM. */
char *kr_url_host(const char *url);

/**
 * GET <key_url>?api-version=... with `bearer` (borrowed). Parses key.kty/n/e/crv/x/y into SPKI.
 * Failures log one line, stage "metadata". KR_OK, KR_ERR_NOT_FOUND, KR_ERR_AUTH,
 * KR_ERR_FORBIDDEN, KR_ERR_NETWORK, KR_ERR_HTTP, KR_ERR_PARSE, KR_ERR_UNSUPPORTED, KR_ERR_NOMEM.
 */
enum kr_err kr_akv_get_key(struct kr_http *http, const char *key_url, const struct u_secbuf *bearer,
                           struct kr_akv_key **out);

/** Parse a GET-key body (tests, fuzzing). Same results as above minus the HTTP ones. */
enum kr_err kr_akv_parse_key(const char *body, size_t len, struct kr_akv_key **out);

/**
 * GET <vault>/certificates/<name>?api-version=... → `cer` (b64 DER) into *der (malloc'd) and
 * the paired key id `kid` into *key_kid (malloc'd, may be NULL if not wanted). Stage "metadata".
 */
enum kr_err kr_akv_get_cert(struct kr_http *http, const char *vault, const char *name,
                            const struct u_secbuf *bearer, unsigned char **der, size_t *der_len,
                            char **key_kid);

/** Parse a GET-certificate body: `cer` (b64 DER) → *der (malloc'd); `kid` → *key_kid
 *  (malloc'd, may be NULL if not wanted). KR_OK, KR_ERR_PARSE, KR_ERR_NOMEM. */
enum kr_err kr_akv_parse_cert(const char *body, size_t len, unsigned char **der, size_t *der_len,
                              char **key_kid);

/** "<vault>/certificates/<name>?api-version=..." malloc'd, NULL on OOM. */
char *kr_akv_cert_url(const char *vault, const char *name);

/**
 * Request body of POST <key_url>/release (§d.7): {"target":<maa_jwt>,"enc":<enc>[,"nonce":..]}.
 * `enc` NULL = KR_AKV_DEFAULT_ENC. malloc'd JSON text into *out. KR_OK, KR_ERR_NOMEM.
 */
enum kr_err kr_akv_release_body(const char *maa_jwt, const char *enc, const char *nonce,
                                char **out);

/** "<key_url>/release?api-version=..." malloc'd, NULL on OOM. */
char *kr_akv_release_url(const char *key_url);

/**
 * Map a failed release answer (status, Azure error code/message) to a precise error:
 * KR_ERR_POLICY (policy/attestation refused), KR_ERR_NOT_EXPORTABLE, KR_ERR_FORBIDDEN,
 * KR_ERR_AUTH, KR_ERR_NOT_FOUND or `fallback`.
 */
enum kr_err kr_akv_classify_error(long status, const char *code, const char *msg,
                                  enum kr_err fallback);

/** Parsed key_hsm (§f). */
struct kr_key_hsm {
    char *kid;                 /* header.kid: the wrapping key (e.g. TpmEphemeralEncryptionKey) */
    char *enc;                 /* header.enc: CKM_RSA_AES_KEY_WRAP | RSA_AES_KEY_WRAP_256 | _384 */
    int oaep_nid;              /* NID_sha1 / NID_sha256 / NID_sha384 from enc */
    unsigned char *ciphertext; /* C1 || C2 (malloc'd; wrapped material only) */
    size_t ciphertext_len;
};

/** Parse the b64url key_hsm string. KR_OK, KR_ERR_PARSE, KR_ERR_UNSUPPORTED (enc/alg),
 *  KR_ERR_NOMEM. */
enum kr_err kr_key_hsm_parse(const char *b64, size_t len, struct kr_key_hsm **out);
void kr_key_hsm_free(struct kr_key_hsm *k);

/** Verified release answer. */
struct kr_release {
    json_t *claims;    /* the whole JWS payload (owned) */
    const json_t *jwk; /* response.key.key (borrowed from claims) */
    enum kr_key_kind kind;
    unsigned char *spki; /* public part in the JWS as SPKI (NULL for oct) */
    size_t spki_len;
    struct kr_key_hsm *hsm;
};

void kr_release_free(struct kr_release *r);

/**
 * Verify the body of a release answer ({"value":"<JWS>"} or the bare JWS), AZURE-SKR.md §d.7:
 * x5c chain to `store` at `now`, leaf names `vault_host` (wildcards), alg RS256 (allow-list),
 * x5t#S256 (if present) equals the leaf's SHA-256, request.kid names `key_url` (unversioned
 * match, case-insensitive host) and response.key.key.kid starts with `key_url`; then key_hsm
 * parsed. KR_OK, KR_ERR_VERIFY, KR_ERR_PARSE, KR_ERR_UNSUPPORTED, KR_ERR_NOMEM.
 * `expect_kid` (may be NULL) is the wrapping key id key_hsm.header.kid must equal.
 */
enum kr_err kr_akv_release_verify(const char *body, size_t len, X509_STORE *store,
                                  const char *vault_host, const char *key_url,
                                  const char *expect_kid, time_t now, struct kr_release **out);

/** kr_akv_release_verify with the x5c chain verification through `cache` (kr_jose.h; NULL: no
 *  cache): after the first answer signed by a chain, the next ones with the same chain DER only
 *  have their RS256 signature, x5t#S256 and claims checked. */
struct kr_x5c_cache;
enum kr_err kr_akv_release_verify_cached(const char *body, size_t len, X509_STORE *store,
                                         struct kr_x5c_cache *cache, const char *vault_host,
                                         const char *key_url, const char *expect_kid, time_t now,
                                         struct kr_release **out);

/**
 * The RSA-OAEP step of the unwrap: decrypt c1 (len = modulus size) with OAEP(hash_nid,
 * MGF1 same hash, empty label) into a new secure buffer. Returns a kr_err.
 */
typedef enum kr_err (*kr_oaep_fn)(void *arg, int hash_nid, const unsigned char *c1, size_t len,
                                  struct u_secbuf **k_out);

struct kr_decryptor {
    kr_oaep_fn fn;
    void *arg;
    size_t modulus_len; /* bytes of C1 (256 for RSA-2048) */
};

/** In-process decryptor: `arg` is an EVP_PKEY * (RSA private key, borrowed). For the sev-snp /
 *  sgx providers and tests. */
enum kr_err kr_oaep_pkey(void *arg, int hash_nid, const unsigned char *c1, size_t len,
                         struct u_secbuf **k_out);

/**
 * Unwrap key_hsm (§f): C1 = first modulus_len bytes → dec->fn → 32-byte AES key K; C2 → AES-256
 * key unwrap with padding (RFC 5649) straight into *plain (new secure buffer: PKCS#8 DER for
 * RSA/EC, raw bytes for oct). K is wiped. KR_OK, KR_ERR_UNWRAP, KR_ERR_TPM (from the
 * decryptor), KR_ERR_NOMEM.
 */
enum kr_err kr_key_hsm_unwrap(const struct kr_key_hsm *hsm, const struct kr_decryptor *dec,
                              struct u_secbuf **plain);

/**
 * Check a released private key against the published public key: PKCS#8 `plain`'s public part
 * as SPKI equals `spki` byte for byte. KR_OK, KR_ERR_MISMATCH, KR_ERR_UNWRAP (not PKCS#8).
 */
enum kr_err kr_check_released_matches(const struct u_secbuf *plain, const unsigned char *spki,
                                      size_t spki_len);

#endif /* SKR_KEYRELEASE_KR_AKV_H */
