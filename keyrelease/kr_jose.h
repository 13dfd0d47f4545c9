/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JOSE for keyrelease/ (jansson + OpenSSL): base64/base64url, compact JWS/JWT parsing and
 * signature verification with an algorithm allow-list, JWK → EVP_PKEY / SubjectPublicKeyInfo,
 * JWKS lookup by kid, x5c chain verification with a host-name check, exp/nbf checks against a
 * caller-given time (so `skr-tool verify --at` works offline), and MAA token verification via
 * the issuer's OpenID metadata (AZURE-SKR.md §d.5).
 *
 * Allowed JWS algorithms: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384. "none", HMAC
 * (HS*) and anything else are refused with KR_ERR_VERIFY.
 *
 * Never pass plaintext key material through these functions: they are for public data, tokens
 * and wrapped blobs (ARCHITECTURE.md "Secrets").
 */
#ifndef SKR_KEYRELEASE_KR_JOSE_H
#define SKR_KEYRELEASE_KR_JOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "kr_err.h"

struct kr_http;

/** Allowed clock skew for exp/nbf checks, seconds. */
#define KR_JWT_SKEW_S 60

/* ---- base64 ------------------------------------------------------------------------------- */

/**
 * Decode base64url (RFC 4648 §5) with or without '=' padding. Also accepts the standard
 * alphabet ('+', '/') so one decoder serves both (x5c entries, AKV kid values). Whitespace is
 * refused. *out is malloc'd (+1 NUL byte not counted in *outlen; free()). KR_OK, KR_ERR_PARSE,
 * KR_ERR_NOMEM. `inlen` may be (size_t)-1 for a NUL-terminated string.
 */
enum kr_err kr_b64_decode(const char *in, size_t inlen, unsigned char **out, size_t *outlen);

/** base64url without padding; malloc'd NUL-terminated string, NULL on OOM. */
char *kr_b64url_encode(const unsigned char *in, size_t len);

/** Standard base64 with padding; malloc'd NUL-terminated string, NULL on OOM. */
char *kr_b64std_encode(const unsigned char *in, size_t len);

/* ---- compact JWS / JWT ------------------------------------------------------------------- */

struct kr_jws {
    json_t *header;             /* protected header object (owned) */
    json_t *payload;            /* payload as JSON object, NULL if it is not a JSON object */
    unsigned char *payload_raw; /* decoded payload bytes (owned, NUL-terminated) */
    size_t payload_len;
    char *signing_input; /* "<b64 header>.<b64 payload>" (owned) */
    size_t signing_input_len;
    unsigned char *sig; /* decoded signature (owned) */
    size_t sig_len;
    const char *alg; /* header "alg" (borrowed from header), never NULL after parse */
    const char *kid; /* header "kid" (borrowed), NULL if absent */
};

/**
 * Split and decode a compact JWS "h.p.s" (`len` may be (size_t)-1 for NUL-terminated; leading/
 * trailing whitespace and a surrounding pair of double quotes are tolerated so a raw
 * {"value":...} string works). Header must be a JSON object with a string "alg". No signature
 * check here. KR_OK, KR_ERR_PARSE, KR_ERR_NOMEM.
 */
enum kr_err kr_jws_parse(const char *compact, size_t len, struct kr_jws **out);

/** Free; NULL-safe. */
void kr_jws_free(struct kr_jws *j);

/** True if `alg` is on the allow-list above. */
bool kr_jws_alg_allowed(const char *alg);

/**
 * Verify the signature of `j` with `key` (borrowed) using j->alg. Checks the alg allow-list
 * and that the key type fits the alg (RSA for RS/PS, EC P-256/P-384 for ES256/ES384; ES
 * signatures are JOSE r||s). KR_OK, KR_ERR_VERIFY, KR_ERR_NOMEM.
 */
enum kr_err kr_jws_verify(const struct kr_jws *j, EVP_PKEY *key);

/**
 * Check exp (required) and nbf/iat-less nbf (optional) of a JWT payload against `now` with
 * KR_JWT_SKEW_S skew: now <= exp + skew and now >= nbf - skew. KR_OK or KR_ERR_VERIFY.
 */
enum kr_err kr_jwt_check_time(const json_t *payload, time_t now);

/** Compare issuer URLs ignoring one trailing '/' and the case of scheme and host. */
bool kr_issuer_equal(const char *a, const char *b);

/* ---- JWK ---------------------------------------------------------------------------------- */

/**
 * Public key from a JWK object: kty RSA/RSA-HSM (n, e; "AAEAAQ" style e with leading zero
 * bytes accepted) or EC/EC-HSM (crv P-256/P-384/P-521 (also "P-256K" refused), x, y).
 * A JWK with only "x5c" uses the first certificate's key. *out new reference.
 * KR_OK, KR_ERR_PARSE, KR_ERR_UNSUPPORTED, KR_ERR_NOMEM.
 */
enum kr_err kr_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out);

/** SubjectPublicKeyInfo DER of a public key; *der malloc'd. KR_OK, KR_ERR_NOMEM,
 *  KR_ERR_INTERNAL. */
enum kr_err kr_pkey_to_spki(EVP_PKEY *key, unsigned char **der, size_t *len);

/** kr_jwk_to_pkey then kr_pkey_to_spki. */
enum kr_err kr_jwk_to_spki(const json_t *jwk, unsigned char **der, size_t *len);

/**
 * Find `kid` in a JWKS ({"keys":[...]}) and return its public key (x5c leaf, else n/e or
 * crv/x/y). If kid is NULL and the set has exactly one key, that key. *out new reference.
 * KR_OK, KR_ERR_VERIFY (kid not found), KR_ERR_PARSE, KR_ERR_NOMEM.
 */
enum kr_err kr_jwks_find(const json_t *jwks, const char *kid, EVP_PKEY **out);

/* ---- X.509 trust ------------------------------------------------------------------------- */

/**
 * A trust store for x5c chains: the system default roots (if `system_roots`) plus the PEM
 * certificates in `ca_file` (may be NULL). KR_OK, KR_ERR_CONFIG (unreadable ca_file),
 * KR_ERR_NOMEM. Free with X509_STORE_free.
 */
enum kr_err kr_trust_new(const char *ca_file, bool system_roots, X509_STORE **out);

/** Add a DER certificate as an anchor (tests, offline verify). KR_OK, KR_ERR_PARSE. */
enum kr_err kr_trust_add_der(X509_STORE *store, const unsigned char *der, size_t len);

/** Add every certificate of a PEM file as anchor. KR_OK, KR_ERR_CONFIG. */
enum kr_err kr_trust_add_pem_file(X509_STORE *store, const char *path);

/**
 * Verify an x5c array (standard-base64 DER, leaf first) against `store` at time `at`
 * (X509_V_FLAG_USE_CHECK_TIME), purpose any; if `host` is not NULL the leaf must name it
 * (X509_check_host, wildcards allowed, no partial wildcards). On success *leaf_key (may be NULL)
 * receives a new reference to the leaf's public key. KR_OK, KR_ERR_VERIFY, KR_ERR_PARSE,
 * KR_ERR_NOMEM. The chain error is logged at debug level.
 */
enum kr_err kr_x5c_verify(const json_t *x5c, X509_STORE *store, const char *host, time_t at,
                          EVP_PKEY **leaf_key);

/**
 * Cache of chains kr_x5c_verify accepted: keyed by the exact DER of every x5c certificate, the
 * store (by identity) and the host (NULL only matches NULL), valid while `at` lies inside every
 * certificate's validity of the verified chain (anchor included; notAfter itself is outside, as
 * for X509_verify_cert). A Key Vault signs every release answer with the same chain,
 * so after the first answer only the JWS signature is checked with the cached leaf key.
 * Thread-safe; at most 16 chains (further ones are verified every time).
 */
struct kr_x5c_cache;
enum kr_err kr_x5c_cache_new(struct kr_x5c_cache **out);
void kr_x5c_cache_free(struct kr_x5c_cache *c); /* NULL-safe */
/** Chains held by `c`, and lookups it has answered without a chain verification (tests). */
void kr_x5c_cache_stats(struct kr_x5c_cache *c, size_t *entries, size_t *hits);

/** kr_x5c_verify through `cache` (NULL: no cache). Same results as kr_x5c_verify, as long as
 *  `store` is not changed after chains were cached with it. */
enum kr_err kr_x5c_verify_cached(struct kr_x5c_cache *cache, const json_t *x5c, X509_STORE *store,
                                 const char *host, time_t at, EVP_PKEY **leaf_key);

/* ---- token verification ------------------------------------------------------------------- */

/**
 * Offline JWT verification: signature with the key `kid` of `jwks` (a JWKS object; an OIDC
 * discovery document is not enough offline), alg allow-list, exp/nbf at `now`, and iss equal to
 * `issuer` unless issuer is NULL. *claims_out (may be NULL) gets a new reference to the payload.
 * KR_OK, KR_ERR_PARSE, KR_ERR_VERIFY, KR_ERR_NOMEM.
 */
enum kr_err kr_jwt_verify_jwks(const char *jwt, const json_t *jwks, const char *issuer, time_t now,
                               json_t **claims_out);

/**
 * Verify an MAA token online (AZURE-SKR.md §d.5): iss must equal `maa_endpoint` (trailing-slash
 * insensitive); GET <iss>/.well-known/openid-configuration → jwks_uri (must be https on the
 * issuer's host) → GET keys → key by header kid (x5c leaf or n/e); alg allow-listed; exp/nbf at
 * `now` with KR_JWT_SKEW_S. The JWKS is cached per issuer inside `http` for 1 hour; an unknown
 * kid forces one refetch (key rotation). On failure one log line with stage "token-verify".
 * *claims_out (may be NULL) gets a new reference to the payload (json_decref it).
 * Thread-safe. KR_OK, KR_ERR_VERIFY, KR_ERR_PARSE, KR_ERR_NETWORK/HTTP (metadata fetch),
 * KR_ERR_NOMEM.
 */
enum kr_err kr_jwt_verify_maa(struct kr_http *http, const char *maa_endpoint, const char *jwt,
                              time_t now, json_t **claims_out);

#endif /* SKR_KEYRELEASE_KR_JOSE_H */
