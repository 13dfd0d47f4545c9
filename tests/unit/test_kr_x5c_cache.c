/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cache of verified release x5c chains (kr_x5c_verify_cached, kr_akv_release_verify_cached):
 * a cache hit must never accept what the full verification refuses. A real chain is built here
 * (root → intermediate → leaf for the vault host, RSA-2048), release answers are RS256-signed
 * JWS with Key Vault's payload shape, and every case is checked against the uncached verifier.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "kr_akv.h"
#include "kr_jose.h"

#define HOST    "demo.vault.skr.localhost"
#define KEY_URL "https://" HOST "/keys/k1"
#define WRAP_ID "TpmEphemeralEncryptionKey"

/* Validity (UTC): root 2024-01-01..2040-01-01, intermediate 2023-01-01..2026-06-01, leaf
 * 2023-06-01..2027-01-01. Every certificate is valid only in [2024-01-01, 2026-06-01]: the
 * window starts with the root and ends with the intermediate, not with the leaf. */
#define T_ROOT_FROM  1704067200 /* 2024-01-01 */
#define T_ROOT_UNTIL 2208988800 /* 2040-01-01 */
#define T_INT_FROM   1672531200 /* 2023-01-01 */
#define T_INT_UNTIL  1780272000 /* 2026-06-01 */
#define T_LEAF_FROM  1685577600 /* 2023-06-01 */
#define T_LEAF_UNTIL 1798761600 /* 2027-01-01 */
#define T_IN         1748736000 /* 2025-06-01 */

struct pki {
    EVP_PKEY *root_key, *int_key, *leaf_key, *evil_key;
    X509 *root, *inter, *leaf;
    X509 *evil_root;        /* same subject as root, other key: another trust store's anchor */
    X509 *evil_leaf;        /* names HOST, issued by evil_root */
    X509_STORE *store;      /* trusts root */
    X509_STORE *evil_store; /* trusts evil_root only */
};

/* ---- building the PKI --------------------------------------------------------------------- */

static EVP_PKEY *gen_rsa(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(k);
    return k;
}

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A certificate for `key` named `cn`, signed by issuer_key (self-signed if issuer is NULL). */
static X509 *make_cert(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
                       time_t from, time_t until, bool ca, const char *san)
{
    static long serial = 1;
    X509 *x = X509_new();
    assert_non_null(x);
    assert_int_equal(X509_set_version(x, 2), 1);
    assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial++), 1);
    X509_NAME *name = X509_NAME_new();
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                                (const unsigned char *)"skr-pkcs11 tests", -1, -1,
                                                0),
                     1);
    assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn,
                                                -1, -1, 0),
                     1);
    assert_int_equal(X509_set_subject_name(x, name), 1);
    assert_int_equal(X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name),
                     1);
    X509_NAME_free(name);
    assert_non_null(ASN1_TIME_set(X509_getm_notBefore(x), from));
    assert_non_null(ASN1_TIME_set(X509_getm_notAfter(x), until));
    assert_int_equal(X509_set_pubkey(x, key), 1);
    add_ext(x, issuer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    add_ext(x, issuer, NID_key_usage,
            ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
    add_ext(x, issuer, NID_subject_key_identifier, "hash");
    if (issuer != NULL)
        add_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
    if (san != NULL)
        add_ext(x, issuer, NID_subject_alt_name, san);
    assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
    return x;
}

static X509_STORE *store_with(X509 *anchor)
{
    X509_STORE *s = NULL;
    assert_int_equal(kr_trust_new(NULL, false, &s), KR_OK);
    assert_int_equal(X509_STORE_add_cert(s, anchor), 1);
    return s;
}

static int pki_setup(void **state)
{
    struct pki *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    p->root_key = gen_rsa();
    p->int_key = gen_rsa();
    p->leaf_key = gen_rsa();
    p->evil_key = gen_rsa();
    p->root = make_cert("SKR Test Root", p->root_key, NULL, p->root_key, T_ROOT_FROM, T_ROOT_UNTIL,
                        true, NULL);
    p->inter = make_cert("SKR Test Intermediate", p->int_key, p->root, p->root_key, T_INT_FROM,
                         T_INT_UNTIL, true, NULL);
    p->leaf = make_cert(HOST, p->leaf_key, p->inter, p->int_key, T_LEAF_FROM, T_LEAF_UNTIL, false,
                        "DNS:" HOST);
    p->evil_root = make_cert("SKR Test Root", p->evil_key, NULL, p->evil_key, T_ROOT_FROM,
                             T_ROOT_UNTIL, true, NULL);
    p->evil_leaf = make_cert(HOST, p->leaf_key, p->evil_root, p->evil_key, T_LEAF_FROM,
                             T_LEAF_UNTIL, false, "DNS:" HOST);
    p->store = store_with(p->root);
    p->evil_store = store_with(p->evil_root);
    *state = p;
    return 0;
}

static int pki_teardown(void **state)
{
    struct pki *p = *state;
    X509_STORE_free(p->store);
    X509_STORE_free(p->evil_store);
    X509 *certs[] = {p->root, p->inter, p->leaf, p->evil_root, p->evil_leaf};
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++)
        X509_free(certs[i]);
    EVP_PKEY *keys[] = {p->root_key, p->int_key, p->leaf_key, p->evil_key};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        EVP_PKEY_free(keys[i]);
    free(p);
    return 0;
}

/* ---- building release answers ------------------------------------------------------------- */

static char *cert_b64(X509 *x)
{
    unsigned char *der = NULL;
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    char *s = kr_b64std_encode(der, (size_t)n);
    OPENSSL_free(der);
    return s;
}

static char *x5t_s256(X509 *x)
{
    unsigned char *der = NULL, md[SHA256_DIGEST_LENGTH];
    int n = i2d_X509(x, &der);
    assert_true(n > 0);
    SHA256(der, (size_t)n, md);
    OPENSSL_free(der);
    return kr_b64url_encode(md, sizeof(md));
}

static char *b64url_json(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(s);
    char *b = kr_b64url_encode((const unsigned char *)s, strlen(s));
    free(s);
    json_decref(j);
    return b;
}

/* Header {"alg", "kid", "x5c": [leaf, inter], "x5t#S256": of x5t_of}. */
static json_t *header(const char *alg, X509 *leaf, X509 *inter, X509 *x5t_of)
{
    char *l = cert_b64(leaf), *i = cert_b64(inter), *t = x5t_s256(x5t_of);
    json_t *h = json_pack("{s:s,s:s,s:[s,s],s:s}", "alg", alg, "kid", "release-signing", "x5c", l,
                          i, "x5t#S256", t);
    assert_non_null(h);
    free(l);
    free(i);
    free(t);
    return h;
}

/* Key Vault's release payload (AZURE-SKR.md §d.7) releasing an RSA key: request.kid names
 * req_kid, response.key.key.kid names resp_kid, key_hsm is wrapped for wrap_kid. */
static json_t *payload(const char *req_kid, const char *resp_kid, const char *wrap_kid,
                       EVP_PKEY *released)
{
    unsigned char ct[256 + 1232];
    assert_int_equal(RAND_bytes(ct, sizeof(ct)), 1);
    char *ct_b64 = kr_b64url_encode(ct, sizeof(ct));
    char *hsm = b64url_json(json_pack("{s:s,s:{s:s,s:s,s:s},s:s}", "schema_version", "1.0",
                                      "header", "kid", wrap_kid, "alg", "dir", "enc",
                                      "CKM_RSA_AES_KEY_WRAP", "ciphertext", ct_b64));
    BIGNUM *n = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(released, "n", &n), 1);
    unsigned char nb[512];
    int nl = BN_bn2bin(n, nb);
    BN_free(n);
    char *n_b64 = kr_b64url_encode(nb, (size_t)nl);
    json_t *p = json_pack("{s:{s:s,s:s,s:s,s:s},s:{s:{s:{s:b,s:b},s:{s:s,s:s,s:s,s:s,s:s}}}}",
                          "request", "api-version", "7.4", "enc", "CKM_RSA_AES_KEY_WRAP", "kid",
                          req_kid, "target", "maa-token", "response", "key", "attributes",
                          "enabled", 1, "exportable", 1, "key", "kid", resp_kid, "kty", "RSA-HSM",
                          "n", n_b64, "e", "AQAB", "key_hsm", hsm);
    assert_non_null(p);
    free(ct_b64);
    free(hsm);
    free(n_b64);
    return p;
}

/* Compact JWS of hdr.pl signed with `key` (RS256 or PS256, as hdr's alg says); takes both. */
static char *sign_jws(EVP_PKEY *key, json_t *hdr, json_t *pl)
{
    bool pss = strcmp(json_string_value(json_object_get(hdr, "alg")), "PS256") == 0;
    char *h = b64url_json(hdr), *b = b64url_json(pl), *in = NULL, *out = NULL;
    assert_true(asprintf(&in, "%s.%s", h, b) > 0);
    unsigned char sig[512];
    size_t slen = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pc = NULL;
    assert_int_equal(EVP_DigestSignInit_ex(md, &pc, "SHA256", NULL, NULL, key, NULL), 1);
    if (pss) {
        assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING), 1);
        assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST), 1);
    }
    assert_int_equal(EVP_DigestSign(md, sig, &slen, (const unsigned char *)in, strlen(in)), 1);
    EVP_MD_CTX_free(md);
    char *s = kr_b64url_encode(sig, slen);
    assert_true(asprintf(&out, "%s.%s", in, s) > 0);
    free(h);
    free(b);
    free(in);
    free(s);
    return out;
}

/* The release answer of KEY_URL as Key Vault sends it: signed by the leaf, chain leaf+inter. */
static char *good_answer(const struct pki *p)
{
    return sign_jws(p->leaf_key, header("RS256", p->leaf, p->inter, p->leaf),
                    payload(KEY_URL, KEY_URL "/0123abcd", WRAP_ID, p->leaf_key));
}

/* {"value": jws}, the body of the release answer. */
static char *body_of(const char *jws)
{
    char *b = NULL;
    assert_true(asprintf(&b, "{\"value\":\"%s\"}", jws) > 0);
    return b;
}

/* kr_akv_release_verify_cached; the release (if any) is checked for its kid and freed. */
static enum kr_err verify(const char *jws, X509_STORE *store, struct kr_x5c_cache *cache,
                          const char *host, const char *key_url, const char *wrap_kid, time_t at)
{
    char *body = body_of(jws);
    struct kr_release *r = NULL;
    enum kr_err err = kr_akv_release_verify_cached(body, strlen(body), store, cache, host, key_url,
                                                   wrap_kid, at, &r);
    if (err == KR_OK) {
        assert_non_null(r);
        assert_string_equal(r->hsm->kid, WRAP_ID);
        assert_int_equal(r->kind, KR_KEY_RSA);
        kr_release_free(r);
    } else {
        assert_null(r);
    }
    free(body);
    return err;
}

static void stats(struct kr_x5c_cache *c, size_t want_entries, size_t want_hits)
{
    size_t entries = 0, hits = 0;
    kr_x5c_cache_stats(c, &entries, &hits);
    assert_int_equal(entries, want_entries);
    assert_int_equal(hits, want_hits);
}

/* A cache holding the chain of good_answer for HOST, verified at T_IN (one entry, no hit). */
static struct kr_x5c_cache *warm_cache(const struct pki *p, const char *jws)
{
    struct kr_x5c_cache *c = NULL;
    assert_int_equal(kr_x5c_cache_new(&c), KR_OK);
    stats(c, 0, 0);
    assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL, WRAP_ID, T_IN), KR_OK);
    stats(c, 1, 0);
    return c;
}

/* ---- 1. fill, then hit -------------------------------------------------------------------- */

static void test_fill_then_hit(void **state)
{
    struct pki *p = *state;
    char *jws = good_answer(p);
    struct kr_x5c_cache *c = warm_cache(p, jws);
    /* The identical answer again: served by the cache, and accepted. */
    assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL, WRAP_ID, T_IN), KR_OK);
    stats(c, 1, 1);
    /* Another key's answer signed by the same chain: a hit too (the case the cache is for). */
    char *other = sign_jws(p->leaf_key, header("RS256", p->leaf, p->inter, p->leaf),
                           payload("https://" HOST "/keys/k2", "https://" HOST "/keys/k2/77",
                                   WRAP_ID, p->int_key));
    assert_int_equal(verify(other, p->store, c, HOST, "https://" HOST "/keys/k2", WRAP_ID, T_IN),
                     KR_OK);
    stats(c, 1, 2);
    /* The uncached path agrees. */
    assert_int_equal(verify(jws, p->store, NULL, HOST, KEY_URL, WRAP_ID, T_IN), KR_OK);
    free(other);
    free(jws);
    kr_x5c_cache_free(c);
}

/* ---- 2. host ------------------------------------------------------------------------------ */

static void test_other_host_refused(void **state)
{
    struct pki *p = *state;
    char *jws = good_answer(p);
    struct kr_x5c_cache *c = warm_cache(p, jws);
    const char *hosts[] = {"other.vault.skr.localhost", "vault.skr.localhost",
                           "demo.vault.skr.localhost.evil.example", ""};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        assert_int_equal(verify(jws, p->store, NULL, hosts[i], KEY_URL, WRAP_ID, T_IN),
                         KR_ERR_VERIFY);
        assert_int_equal(verify(jws, p->store, c, hosts[i], KEY_URL, WRAP_ID, T_IN), KR_ERR_VERIFY);
    }
    stats(c, 1, 0);
    kr_x5c_cache_free(c);

    /* A chain accepted without a host check (host NULL) must not answer for the empty host
     * name, which X509_check_host refuses. */
    struct kr_jws *j = NULL;
    assert_int_equal(kr_jws_parse(jws, (size_t)-1, &j), KR_OK);
    json_t *chain = json_object_get(j->header, "x5c");
    EVP_PKEY *leaf = NULL;
    assert_int_equal(kr_x5c_cache_new(&c), KR_OK);
    assert_int_equal(kr_x5c_verify_cached(c, chain, p->store, NULL, T_IN, &leaf), KR_OK);
    EVP_PKEY_free(leaf);
    leaf = NULL;
    stats(c, 1, 0);
    assert_int_equal(kr_x5c_verify(chain, p->store, "", T_IN, NULL), KR_ERR_VERIFY);
    assert_int_equal(kr_x5c_verify_cached(c, chain, p->store, "", T_IN, &leaf), KR_ERR_VERIFY);
    assert_null(leaf);
    /* The same question (no host check) is still answered from the cache. */
    assert_int_equal(kr_x5c_verify_cached(c, chain, p->store, NULL, T_IN, &leaf), KR_OK);
    EVP_PKEY_free(leaf);
    stats(c, 1, 1);
    kr_jws_free(j);
    kr_x5c_cache_free(c);
    free(jws);
}

/* ---- 3. time ------------------------------------------------------------------------------ */

static void test_time_outside_refused(void **state)
{
    struct pki *p = *state;
    char *jws = good_answer(p);
    struct kr_x5c_cache *c = warm_cache(p, jws);
    /* Outside the window: before the root, after the intermediate (the leaf is still valid in
     * both), after the leaf, before everything. Each refused, and never as a hit. */
    const time_t outside[] = {T_ROOT_FROM - 86400, T_INT_UNTIL + 86400, T_LEAF_UNTIL + 86400,
                              T_INT_FROM - 86400, T_ROOT_UNTIL + 86400};
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL, WRAP_ID, outside[i]),
                         KR_ERR_VERIFY);
        stats(c, 1, 0);
    }
    /* At and around both edges of the window the cached answer is the uncached one. */
    const time_t edges[] = {T_ROOT_FROM - 1, T_ROOT_FROM, T_ROOT_FROM + 1,
                            T_INT_UNTIL - 1, T_INT_UNTIL, T_INT_UNTIL + 1};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        enum kr_err full = verify(jws, p->store, NULL, HOST, KEY_URL, WRAP_ID, edges[i]);
        enum kr_err cached = verify(jws, p->store, c, HOST, KEY_URL, WRAP_ID, edges[i]);
        print_message("at %lld: full %d, cached %d\n", (long long)edges[i], full, cached);
        assert_int_equal(cached, full);
    }
    assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL, WRAP_ID, T_ROOT_FROM), KR_OK);
    assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL, WRAP_ID, T_INT_UNTIL - 1), KR_OK);
    stats(c, 1, 5); /* the three edges inside and these two were hits; nothing else cached */
    free(jws);
    kr_x5c_cache_free(c);
}

/* ---- 4. the signature is always checked --------------------------------------------------- */

/* jws with segment `seg` (0 header, 1 payload) replaced by b64url(json), signature kept. */
static char *swap_segment(const char *jws, int seg, json_t *json)
{
    const char *d1 = strchr(jws, '.'), *d2 = strchr(d1 + 1, '.');
    char *s = b64url_json(json), *out = NULL;
    if (seg == 0)
        assert_true(asprintf(&out, "%s%s", s, d1) > 0);
    else
        assert_true(asprintf(&out, "%.*s.%s%s", (int)(d1 - jws), jws, s, d2) > 0);
    free(s);
    return out;
}

static void test_signature_checked_on_hit(void **state)
{
    struct pki *p = *state;
    char *jws = good_answer(p);
    struct kr_x5c_cache *c = warm_cache(p, jws);
    char *bad[6];
    /* Signed by another RSA-2048 key, with the cached chain in the header. */
    bad[0] = sign_jws(p->evil_key, header("RS256", p->leaf, p->inter, p->leaf),
                      payload(KEY_URL, KEY_URL "/0123abcd", WRAP_ID, p->leaf_key));
    /* The leaf's signature kept, payload replaced (another wrapping key) or header changed. */
    bad[1] = swap_segment(jws, 1, payload(KEY_URL, KEY_URL "/0123abcd", WRAP_ID, p->evil_key));
    json_t *h = header("RS256", p->leaf, p->inter, p->leaf);
    json_object_set_new(h, "kid", json_string("tampered"));
    bad[2] = swap_segment(jws, 0, h);
    /* Correctly signed by the leaf, but not RS256, or a wrong x5t#S256. */
    bad[3] = sign_jws(p->leaf_key, header("PS256", p->leaf, p->inter, p->leaf),
                      payload(KEY_URL, KEY_URL "/0123abcd", WRAP_ID, p->leaf_key));
    bad[4] = sign_jws(p->leaf_key, header("RS256", p->leaf, p->inter, p->inter),
                      payload(KEY_URL, KEY_URL "/0123abcd", WRAP_ID, p->leaf_key));
    /* The signature segment of the good answer with one bit flipped. */
    bad[5] = strdup(jws);
    char *sig = strrchr(bad[5], '.') + 10;
    *sig = *sig == 'A' ? 'B' : 'A';
    size_t hits = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(verify(bad[i], p->store, NULL, HOST, KEY_URL, WRAP_ID, T_IN),
                         KR_ERR_VERIFY);
        assert_int_equal(verify(bad[i], p->store, c, HOST, KEY_URL, WRAP_ID, T_IN), KR_ERR_VERIFY);
        /* Refused after a hit (the chain was not what failed); PS256 before any lookup. */
        hits += i == 3 ? 0 : 1;
        stats(c, 1, hits);
        free(bad[i]);
    }
    assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL, WRAP_ID, T_IN), KR_OK);
    free(jws);
    kr_x5c_cache_free(c);
}

/* ---- 5. a refused chain is never cached --------------------------------------------------- */

static void test_refused_chain_not_cached(void **state)
{
    struct pki *p = *state;
    struct kr_x5c_cache *c = NULL;
    assert_int_equal(kr_x5c_cache_new(&c), KR_OK);
    /* A leaf for HOST under an untrusted root (the root sent along in x5c). */
    char *evil = sign_jws(p->leaf_key, header("RS256", p->evil_leaf, p->evil_root, p->evil_leaf),
                          payload(KEY_URL, KEY_URL "/0123abcd", WRAP_ID, p->leaf_key));
    for (int i = 0; i < 2; i++)
        assert_int_equal(verify(evil, p->store, c, HOST, KEY_URL, WRAP_ID, T_IN), KR_ERR_VERIFY);
    stats(c, 0, 0);
    /* The good chain refused for a host, at a time, or against a store: not cached either. */
    char *jws = good_answer(p);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
                verify(jws, p->store, c, "other.vault.skr.localhost", KEY_URL, WRAP_ID, T_IN),
                KR_ERR_VERIFY);
        assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL, WRAP_ID, T_LEAF_UNTIL + 1),
                         KR_ERR_VERIFY);
        assert_int_equal(verify(jws, p->evil_store, c, HOST, KEY_URL, WRAP_ID, T_IN),
                         KR_ERR_VERIFY);
    }
    stats(c, 0, 0);
    /* The chain without its intermediate does not build. */
    char *leaf_only = NULL, *l = cert_b64(p->leaf), *t = x5t_s256(p->leaf);
    leaf_only = sign_jws(p->leaf_key,
                         json_pack("{s:s,s:[s],s:s}", "alg", "RS256", "x5c", l, "x5t#S256", t),
                         payload(KEY_URL, KEY_URL "/0123abcd", WRAP_ID, p->leaf_key));
    for (int i = 0; i < 2; i++)
        assert_int_equal(verify(leaf_only, p->store, c, HOST, KEY_URL, WRAP_ID, T_IN),
                         KR_ERR_VERIFY);
    stats(c, 0, 0);
    free(l);
    free(t);
    free(leaf_only);
    free(evil);
    free(jws);
    kr_x5c_cache_free(c);
}

/* ---- 6. trust store ----------------------------------------------------------------------- */

static void test_other_trust_store(void **state)
{
    struct pki *p = *state;
    char *jws = good_answer(p);
    /* One cache per trust store, as kr_ctx_new makes them: the other store's cache is cold and
     * its full verification refuses the chain (its root has the same name, another key). */
    struct kr_x5c_cache *c = warm_cache(p, jws), *evil_c = NULL;
    assert_int_equal(kr_x5c_cache_new(&evil_c), KR_OK);
    assert_int_equal(verify(jws, p->evil_store, evil_c, HOST, KEY_URL, WRAP_ID, T_IN),
                     KR_ERR_VERIFY);
    stats(evil_c, 0, 0);
    /* The same cache asked with another store: an entry made under the first store must not
     * answer for it. */
    assert_int_equal(verify(jws, p->evil_store, c, HOST, KEY_URL, WRAP_ID, T_IN), KR_ERR_VERIFY);
    stats(c, 1, 0);
    X509_STORE *empty = NULL;
    assert_int_equal(kr_trust_new(NULL, false, &empty), KR_OK);
    assert_int_equal(verify(jws, empty, c, HOST, KEY_URL, WRAP_ID, T_IN), KR_ERR_VERIFY);
    stats(c, 1, 0);
    /* The store it was made under still hits. */
    assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL, WRAP_ID, T_IN), KR_OK);
    stats(c, 1, 1);
    X509_STORE_free(empty);
    kr_x5c_cache_free(evil_c);
    kr_x5c_cache_free(c);
    free(jws);
}

/* ---- 7. key ids --------------------------------------------------------------------------- */

static void test_key_id_mismatch_on_hit(void **state)
{
    struct pki *p = *state;
    char *jws = good_answer(p);
    struct kr_x5c_cache *c = warm_cache(p, jws);
    /* Each correctly signed by the cached chain's leaf, each naming the wrong key somewhere. */
    char *bad[] = {
            /* request and response name another key */
            sign_jws(p->leaf_key, header("RS256", p->leaf, p->inter, p->leaf),
                     payload("https://" HOST "/keys/k2", "https://" HOST "/keys/k2/0123abcd",
                             WRAP_ID, p->leaf_key)),
            /* only the response does */
            sign_jws(p->leaf_key, header("RS256", p->leaf, p->inter, p->leaf),
                     payload(KEY_URL, "https://" HOST "/keys/k2/0123abcd", WRAP_ID, p->leaf_key)),
            /* another vault's key of the same name */
            sign_jws(p->leaf_key, header("RS256", p->leaf, p->inter, p->leaf),
                     payload("https://other.vault.skr.localhost/keys/k1",
                             "https://other.vault.skr.localhost/keys/k1/0123abcd", WRAP_ID,
                             p->leaf_key)),
            /* a key whose name only starts with k1 */
            sign_jws(p->leaf_key, header("RS256", p->leaf, p->inter, p->leaf),
                     payload(KEY_URL "0", KEY_URL "0/0123abcd", WRAP_ID, p->leaf_key)),
            /* wrapped for another key than the TPM's ephemeral one */
            sign_jws(p->leaf_key, header("RS256", p->leaf, p->inter, p->leaf),
                     payload(KEY_URL, KEY_URL "/0123abcd", "OtherWrappingKey", p->leaf_key)),
    };
    size_t hits = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(verify(bad[i], p->store, NULL, HOST, KEY_URL, WRAP_ID, T_IN),
                         KR_ERR_VERIFY);
        assert_int_equal(verify(bad[i], p->store, c, HOST, KEY_URL, WRAP_ID, T_IN), KR_ERR_VERIFY);
        stats(c, 1, ++hits);
        free(bad[i]);
    }
    /* A specific version was asked for and another one was released. */
    assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL "/ffff", WRAP_ID, T_IN), KR_ERR_VERIFY);
    stats(c, 1, ++hits);
    assert_int_equal(verify(jws, p->store, c, HOST, KEY_URL "/0123abcd", WRAP_ID, T_IN), KR_OK);
    stats(c, 1, ++hits);
    free(jws);
    kr_x5c_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_fill_then_hit),
            cmocka_unit_test(test_other_host_refused),
            cmocka_unit_test(test_time_outside_refused),
            cmocka_unit_test(test_signature_checked_on_hit),
            cmocka_unit_test(test_refused_chain_not_cached),
            cmocka_unit_test(test_other_trust_store),
            cmocka_unit_test(test_key_id_mismatch_on_hit),
    };
    return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
