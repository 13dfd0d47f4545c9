/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kr_jose.c and kr_unwrap.c: base64, JWS parse/verify with the alg allow-list, exp/nbf, JWK →
 * SPKI, the REAL release JWS of the Azure SDK recording (x5c chain to Baltimore CyberTrust Root
 * at the recording time, leaf naming the vault host), tampering, and the key_hsm unwrap math.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "kr_akv.h"
#include "kr_jose.h"

#define REC_FILE                                                                                   \
    SKR_SHARED_DIR "/fixtures/azure/"                                                              \
                   "test_key_client.pyTestKeyClienttest_key_release[7.3_vault].json"
#define REC_HOST "kashifkhankeyvault.vault.azure.net"
#define REC_KEY  "https://" REC_HOST "/keys/livekvtestrsa-key-name3c62956"
#define REC_TIME 1650640005 /* 2022-04-22, attributes.created of the released key */
#define NOW_2026 1795000000

/* ---- helpers ------------------------------------------------------------------------------ */

static char *recorded_release_jws(void)
{
    json_t *rec = json_load_file(REC_FILE, 0, NULL);
    assert_non_null(rec);
    size_t i;
    json_t *e;
    char *jws = NULL;
    json_array_foreach(json_object_get(rec, "Entries"), i, e)
    {
        const char *uri = json_string_value(json_object_get(e, "RequestUri"));
        if (uri != NULL && strstr(uri, "/release") != NULL)
            jws = strdup(json_string_value(
                    json_object_get(json_object_get(e, "ResponseBody"), "value")));
    }
    json_decref(rec);
    assert_non_null(jws);
    return jws;
}

/* Trust store holding the root that came inside x5c (the recording is from 2022). */
static X509_STORE *recorded_root_store(const char *jws)
{
    struct kr_jws *j = NULL;
    assert_int_equal(kr_jws_parse(jws, (size_t)-1, &j), KR_OK);
    json_t *x5c = json_object_get(j->header, "x5c");
    const char *root = json_string_value(json_array_get(x5c, json_array_size(x5c) - 1));
    unsigned char *der = NULL;
    size_t len = 0;
    assert_int_equal(kr_b64_decode(root, (size_t)-1, &der, &len), KR_OK);
    X509_STORE *s = NULL;
    assert_int_equal(kr_trust_new(NULL, false, &s), KR_OK);
    assert_int_equal(kr_trust_add_der(s, der, len), KR_OK);
    free(der);
    kr_jws_free(j);
    return s;
}

static char *wrap_value(const char *jws)
{
    char *b = NULL;
    assert_true(asprintf(&b, "{\"value\":\"%s\"}", jws) > 0);
    return b;
}

static char *b64url_str(const char *s)
{
    return kr_b64url_encode((const unsigned char *)s, strlen(s));
}

/* Sign "<hdr>.<payload>" with key under alg; ES signatures converted to r||s. */
static char *make_jwt(EVP_PKEY *key, const char *hdr, const char *payload)
{
    char *h = b64url_str(hdr), *p = b64url_str(payload), *in = NULL, *out = NULL;
    assert_true(asprintf(&in, "%s.%s", h, p) > 0);
    json_t *hj = json_loads(hdr, 0, NULL);
    const char *alg = json_string_value(json_object_get(hj, "alg"));
    unsigned char sig[1024];
    size_t slen = sizeof(sig);
    if (strcmp(alg, "none") == 0) {
        slen = 0;
    } else if (strcmp(alg, "HS256") == 0) {
        memset(sig, 0x11, 32);
        slen = 32;
    } else {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        EVP_PKEY_CTX *pctx = NULL;
        const char *mdn = strstr(alg, "384") ? "SHA384" : "SHA256";
        assert_int_equal(EVP_DigestSignInit_ex(md, &pctx, mdn, NULL, NULL, key, NULL), 1);
        if (alg[0] == 'P') {
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
        }
        assert_int_equal(EVP_DigestSign(md, sig, &slen, (unsigned char *)in, strlen(in)), 1);
        EVP_MD_CTX_free(md);
        if (alg[0] == 'E') {
            const unsigned char *q = sig;
            ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)slen);
            size_t half = strstr(alg, "384") ? 48 : 32;
            unsigned char rs[96];
            BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, (int)half);
            BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + half, (int)half);
            ECDSA_SIG_free(es);
            memcpy(sig, rs, 2 * half);
            slen = 2 * half;
        }
    }
    char *s = kr_b64url_encode(sig, slen);
    assert_true(asprintf(&out, "%s.%s", in, s) > 0);
    json_decref(hj);
    free(h);
    free(p);
    free(in);
    free(s);
    return out;
}

static EVP_PKEY *gen_rsa(void)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    assert_non_null(k);
    return k;
}

static EVP_PKEY *gen_ec(const char *curve)
{
    EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
    assert_non_null(k);
    return k;
}

static char *bn_b64(const BIGNUM *bn)
{
    unsigned char b[1024];
    int n = BN_bn2bin(bn, b);
    return kr_b64url_encode(b, (size_t)n);
}

/* JWKS with one RSA key as n/e (e as "AAEAAQ" like AKV) under kid. */
static json_t *rsa_jwks(EVP_PKEY *k, const char *kid)
{
    BIGNUM *n = NULL, *e = NULL;
    EVP_PKEY_get_bn_param(k, "n", &n);
    EVP_PKEY_get_bn_param(k, "e", &e);
    char *ns = bn_b64(n);
    json_t *j = json_pack("{s:[{s:s,s:s,s:s,s:s}]}", "keys", "kty", "RSA", "kid", kid, "n", ns, "e",
                          "AAEAAQ");
    free(ns);
    BN_free(n);
    BN_free(e);
    return j;
}

/* ---- base64 ------------------------------------------------------------------------------- */

static void test_b64(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},
             {"Zg", "f"},
             {"Zg==", "f"},
             {"Zm8", "fo"},
             {"Zm8=", "fo"},
             {"Zm9v", "foo"},
             {"Zm9vYg", "foob"},
             {"-_-_", "\xfb\xff\xbf"},
             {"+/+/", "\xfb\xff\xbf"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        unsigned char *o = NULL;
        size_t n = 0;
        assert_int_equal(kr_b64_decode(v[i].in, (size_t)-1, &o, &n), KR_OK);
        assert_int_equal(n, strlen(v[i].out));
        assert_memory_equal(o, v[i].out, n);
        free(o);
    }
    unsigned char *o = NULL;
    size_t n = 0;
    assert_int_equal(kr_b64_decode("Z", (size_t)-1, &o, &n), KR_ERR_PARSE);
    assert_int_equal(kr_b64_decode("Zm 9v", (size_t)-1, &o, &n), KR_ERR_PARSE);
    assert_int_equal(kr_b64_decode("Zm9v!", (size_t)-1, &o, &n), KR_ERR_PARSE);
    char *e = kr_b64url_encode((const unsigned char *)"\xfb\xff\xbf\x01", 4);
    assert_string_equal(e, "-_-_AQ");
    free(e);
    e = kr_b64std_encode((const unsigned char *)"\xfb\xff\xbf\x01", 4);
    assert_string_equal(e, "+/+/AQ==");
    free(e);
}

/* ---- the real release JWS ----------------------------------------------------------------- */

static void test_recorded_release_verifies(void **state)
{
    (void)state;
    char *jws = recorded_release_jws();
    char *body = wrap_value(jws);
    X509_STORE *s = recorded_root_store(jws);
    struct kr_release *r = NULL;
    assert_int_equal(
            kr_akv_release_verify(body, strlen(body), s, REC_HOST, REC_KEY, NULL, REC_TIME, &r),
            KR_OK);
    assert_int_equal(r->kind, KR_KEY_RSA);
    assert_non_null(r->spki);
    assert_string_equal(r->hsm->kid, "fake-release-key");
    assert_string_equal(r->hsm->enc, "CKM_RSA_AES_KEY_WRAP");
    assert_int_equal(r->hsm->oaep_nid, NID_sha1);
    assert_int_equal(r->hsm->ciphertext_len, 1488); /* 256 (C1) + 1232 (C2, RSA-2048 PKCS#8) */
    kr_release_free(r);
    /* The bare JWS works too, and so does a versioned-prefix check through a wildcard host. */
    assert_int_equal(kr_akv_release_verify(jws, strlen(jws), s, REC_HOST, REC_KEY,
                                           "fake-release-key", REC_TIME, &r),
                     KR_OK);
    kr_release_free(r);
    X509_STORE_free(s);
    free(body);
    free(jws);
}

static void test_recorded_release_refusals(void **state)
{
    (void)state;
    char *jws = recorded_release_jws();
    X509_STORE *s = recorded_root_store(jws);
    X509_STORE *empty = NULL;
    struct kr_release *r = NULL;
    size_t n = strlen(jws);
    /* Today: the leaf (2023) and the Baltimore root (2025) have expired. */
    assert_int_equal(kr_akv_release_verify(jws, n, s, REC_HOST, REC_KEY, NULL, NOW_2026, &r),
                     KR_ERR_VERIFY);
    assert_int_equal(
            kr_akv_release_verify(jws, n, s, "evil.example.com", REC_KEY, NULL, REC_TIME, &r),
            KR_ERR_VERIFY);
    assert_int_equal(kr_akv_release_verify(jws, n, s, "vault.azure.net.evil.com", REC_KEY, NULL,
                                           REC_TIME, &r),
                     KR_ERR_VERIFY);
    assert_int_equal(kr_akv_release_verify(jws, n, s, REC_HOST,
                                           "https://" REC_HOST "/keys/other-key", NULL, REC_TIME,
                                           &r),
                     KR_ERR_VERIFY);
    assert_int_equal(kr_akv_release_verify(jws, n, s, REC_HOST, REC_KEY,
                                           "TpmEphemeralEncryptionKey", REC_TIME, &r),
                     KR_ERR_VERIFY);
    assert_int_equal(kr_trust_new(NULL, false, &empty), KR_OK);
    assert_int_equal(kr_akv_release_verify(jws, n, empty, REC_HOST, REC_KEY, NULL, REC_TIME, &r),
                     KR_ERR_VERIFY);
    /* Tamper with one character in each segment. */
    const char *d1 = strchr(jws, '.'), *d2 = strchr(d1 + 1, '.');
    size_t pos[] = {10, (size_t)(d1 - jws) + 20, (size_t)(d2 - jws) + 20};
    for (size_t i = 0; i < 3; i++) {
        char *t = strdup(jws);
        t[pos[i]] = t[pos[i]] == 'A' ? 'B' : 'A';
        enum kr_err e = kr_akv_release_verify(t, n, s, REC_HOST, REC_KEY, NULL, REC_TIME, &r);
        assert_true(e == KR_ERR_VERIFY || e == KR_ERR_PARSE);
        free(t);
    }
    X509_STORE_free(empty);
    X509_STORE_free(s);
    free(jws);
}

/* ---- generic JWT verification -------------------------------------------------------------- */

static void test_jwt_rsa_and_time(void **state)
{
    (void)state;
    EVP_PKEY *k = gen_rsa();
    json_t *jwks = rsa_jwks(k, "k1");
    const char *iss = "https://maa.example.net";
    char *good =
            make_jwt(k, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
                     "{\"iss\":\"https://maa.example.net/\",\"nbf\":1000,\"exp\":2000,\"a\":1}");
    json_t *claims = NULL;
    assert_int_equal(kr_jwt_verify_jwks(good, jwks, iss, 1500, &claims), KR_OK);
    assert_int_equal(json_integer_value(json_object_get(claims, "a")), 1);
    json_decref(claims);
    assert_int_equal(kr_jwt_verify_jwks(good, jwks, iss, 2000 + KR_JWT_SKEW_S, NULL), KR_OK);
    assert_int_equal(kr_jwt_verify_jwks(good, jwks, iss, 2000 + KR_JWT_SKEW_S + 1, NULL),
                     KR_ERR_VERIFY);
    assert_int_equal(kr_jwt_verify_jwks(good, jwks, iss, 1000 - KR_JWT_SKEW_S - 1, NULL),
                     KR_ERR_VERIFY);
    assert_int_equal(kr_jwt_verify_jwks(good, jwks, "https://other.example.net", 1500, NULL),
                     KR_ERR_VERIFY);
    char *ps = make_jwt(k, "{\"alg\":\"PS256\",\"kid\":\"k1\"}", "{\"exp\":2000}");
    assert_int_equal(kr_jwt_verify_jwks(ps, jwks, NULL, 1500, NULL), KR_OK);
    char *nokid = make_jwt(k, "{\"alg\":\"RS256\",\"kid\":\"k2\"}", "{\"exp\":2000}");
    assert_int_equal(kr_jwt_verify_jwks(nokid, jwks, NULL, 1500, NULL), KR_ERR_VERIFY);
    char *noexp = make_jwt(k, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "{\"nbf\":1}");
    assert_int_equal(kr_jwt_verify_jwks(noexp, jwks, NULL, 1500, NULL), KR_ERR_VERIFY);
    free(good);
    free(ps);
    free(nokid);
    free(noexp);
    json_decref(jwks);
    EVP_PKEY_free(k);
}

static void test_jwt_alg_refused(void **state)
{
    (void)state;
    EVP_PKEY *k = gen_rsa();
    json_t *jwks = rsa_jwks(k, "k1");
    char *none = make_jwt(k, "{\"alg\":\"none\",\"kid\":\"k1\"}", "{\"exp\":2000}");
    char *hs = make_jwt(k, "{\"alg\":\"HS256\",\"kid\":\"k1\"}", "{\"exp\":2000}");
    assert_int_equal(kr_jwt_verify_jwks(none, jwks, NULL, 1500, NULL), KR_ERR_VERIFY);
    assert_int_equal(kr_jwt_verify_jwks(hs, jwks, NULL, 1500, NULL), KR_ERR_VERIFY);
    assert_false(kr_jws_alg_allowed("none"));
    assert_false(kr_jws_alg_allowed("HS256"));
    assert_true(kr_jws_alg_allowed("RS256"));
    /* A valid RS256 signature relabelled as PS256 must fail. */
    char *rs = make_jwt(k, "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "{\"exp\":2000}");
    struct kr_jws *j = NULL;
    assert_int_equal(kr_jws_parse(rs, (size_t)-1, &j), KR_OK);
    assert_int_equal(kr_jws_verify(j, k), KR_OK);
    j->alg = "PS256";
    assert_int_equal(kr_jws_verify(j, k), KR_ERR_VERIFY);
    kr_jws_free(j);
    free(rs);
    free(none);
    free(hs);
    json_decref(jwks);
    EVP_PKEY_free(k);
}

static void test_jwt_ec(void **state)
{
    (void)state;
    const char *curves[] = {"P-256", "P-384"}, *algs[] = {"ES256", "ES384"};
    for (size_t i = 0; i < 2; i++) {
        EVP_PKEY *k = gen_ec(curves[i]);
        unsigned char *spki = NULL;
        size_t spki_len = 0;
        assert_int_equal(kr_pkey_to_spki(k, &spki, &spki_len), KR_OK);
        BIGNUM *x = NULL, *y = NULL;
        EVP_PKEY_get_bn_param(k, "qx", &x);
        EVP_PKEY_get_bn_param(k, "qy", &y);
        char *xs = bn_b64(x), *ys = bn_b64(y), *hdr = NULL;
        json_t *jwk = json_pack("{s:s,s:s,s:s,s:s,s:s}", "kty", "EC-HSM", "kid", "e", "crv",
                                curves[i], "x", xs, "y", ys);
        unsigned char *d2 = NULL;
        size_t l2 = 0;
        assert_int_equal(kr_jwk_to_spki(jwk, &d2, &l2), KR_OK);
        assert_int_equal(l2, spki_len);
        assert_memory_equal(d2, spki, l2);
        json_t *jwks = json_pack("{s:[O]}", "keys", jwk);
        assert_true(asprintf(&hdr, "{\"alg\":\"%s\",\"kid\":\"e\"}", algs[i]) > 0);
        char *t = make_jwt(k, hdr, "{\"exp\":2000}");
        assert_int_equal(kr_jwt_verify_jwks(t, jwks, NULL, 1500, NULL), KR_OK);
        free(t);
        free(hdr);
        free(xs);
        free(ys);
        free(d2);
        free(spki);
        BN_free(x);
        BN_free(y);
        json_decref(jwk);
        json_decref(jwks);
        EVP_PKEY_free(k);
    }
}

static void test_jwk_rsa_spki(void **state)
{
    (void)state;
    EVP_PKEY *k = gen_rsa();
    json_t *jwks = rsa_jwks(k, "x");
    unsigned char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    assert_int_equal(kr_pkey_to_spki(k, &a, &al), KR_OK);
    assert_int_equal(kr_jwk_to_spki(json_array_get(json_object_get(jwks, "keys"), 0), &b, &bl),
                     KR_OK);
    assert_int_equal(al, bl);
    assert_memory_equal(a, b, al);
    json_t *bad = json_pack("{s:s,s:s,s:s}", "kty", "EC", "crv", "P-256K", "x", "AA");
    assert_int_equal(kr_jwk_to_spki(bad, &b, &bl), KR_ERR_UNSUPPORTED);
    json_decref(bad);
    assert_true(kr_issuer_equal("https://A.example/", "https://a.example"));
    assert_false(kr_issuer_equal("https://a.example/x", "https://a.example/X"));
    free(a);
    free(b);
    json_decref(jwks);
    EVP_PKEY_free(k);
}

/* ---- unwrap math -------------------------------------------------------------------------- */

static char *build_key_hsm(EVP_PKEY *wrap, const char *enc, const EVP_MD *md,
                           const unsigned char *plain, size_t plen)
{
    unsigned char kek[32], c[4096];
    assert_int_equal(RAND_bytes(kek, sizeof(kek)), 1);
    size_t c1 = sizeof(c);
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(wrap, NULL);
    assert_int_equal(EVP_PKEY_encrypt_init(pc), 1);
    EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_OAEP_PADDING);
    EVP_PKEY_CTX_set_rsa_oaep_md(pc, md);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md);
    assert_int_equal(EVP_PKEY_encrypt(pc, c, &c1, kek, sizeof(kek)), 1);
    EVP_PKEY_CTX_free(pc);
    EVP_CIPHER_CTX *cc = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX_set_flags(cc, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    int n = 0, f = 0;
    assert_int_equal(EVP_EncryptInit_ex(cc, EVP_aes_256_wrap_pad(), NULL, kek, NULL), 1);
    assert_int_equal(EVP_EncryptUpdate(cc, c + c1, &n, plain, (int)plen), 1);
    assert_int_equal(EVP_EncryptFinal_ex(cc, c + c1 + n, &f), 1);
    EVP_CIPHER_CTX_free(cc);
    char *ct = kr_b64url_encode(c, c1 + (size_t)n + (size_t)f), *js = NULL;
    assert_true(
            asprintf(
                    &js,
                    "{\"schema_version\":\"1.0\",\"header\":{\"kid\":\"TpmEphemeralEncryptionKey\","
                    "\"alg\":\"dir\",\"enc\":\"%s\"},\"ciphertext\":\"%s\"}",
                    enc, ct) > 0);
    char *b = b64url_str(js);
    free(ct);
    free(js);
    return b;
}

static void test_unwrap_all_enc(void **state)
{
    (void)state;
    EVP_PKEY *wrap = gen_rsa();
    EVP_PKEY *released = gen_ec("P-256");
    unsigned char *p8 = NULL, *spki = NULL;
    PKCS8_PRIV_KEY_INFO *pi = EVP_PKEY2PKCS8(released);
    int p8len = i2d_PKCS8_PRIV_KEY_INFO(pi, &p8);
    assert_true(p8len > 0);
    PKCS8_PRIV_KEY_INFO_free(pi);
    size_t spki_len = 0;
    assert_int_equal(kr_pkey_to_spki(released, &spki, &spki_len), KR_OK);
    const char *encs[] = {"CKM_RSA_AES_KEY_WRAP", "RSA_AES_KEY_WRAP_256", "RSA_AES_KEY_WRAP_384"};
    const EVP_MD *mds[] = {EVP_sha1(), EVP_sha256(), EVP_sha384()};
    for (size_t i = 0; i < 3; i++) {
        char *hsm_b64 = build_key_hsm(wrap, encs[i], mds[i], p8, (size_t)p8len);
        struct kr_key_hsm *h = NULL;
        assert_int_equal(kr_key_hsm_parse(hsm_b64, (size_t)-1, &h), KR_OK);
        assert_string_equal(h->kid, "TpmEphemeralEncryptionKey");
        struct kr_decryptor dec = {.fn = kr_oaep_pkey, .arg = wrap, .modulus_len = 256};
        struct u_secbuf *plain = NULL;
        assert_int_equal(kr_key_hsm_unwrap(h, &dec, &plain), KR_OK);
        assert_int_equal(plain->len, (size_t)p8len);
        assert_memory_equal(plain->data, p8, plain->len);
        assert_int_equal(kr_check_released_matches(plain, spki, spki_len), KR_OK);
        spki[spki_len - 1] ^= 1;
        assert_int_equal(kr_check_released_matches(plain, spki, spki_len), KR_ERR_MISMATCH);
        spki[spki_len - 1] ^= 1;
        u_secbuf_free(plain);
        /* Tampered C2 fails the RFC 5649 integrity check. */
        h->ciphertext[h->ciphertext_len - 3] ^= 0x40;
        assert_int_equal(kr_key_hsm_unwrap(h, &dec, &plain), KR_ERR_UNWRAP);
        /* Wrong OAEP hash fails. */
        h->ciphertext[h->ciphertext_len - 3] ^= 0x40;
        h->oaep_nid = i == 0 ? NID_sha256 : NID_sha1;
        assert_int_equal(kr_key_hsm_unwrap(h, &dec, &plain), KR_ERR_UNWRAP);
        kr_key_hsm_free(h);
        free(hsm_b64);
    }
    struct kr_key_hsm *h = NULL;
    char *bad =
            b64url_str("{\"header\":{\"alg\":\"RSA-OAEP\",\"enc\":\"x\"},\"ciphertext\":\"AA\"}");
    assert_int_equal(kr_key_hsm_parse(bad, (size_t)-1, &h), KR_ERR_UNSUPPORTED);
    free(bad);
    OPENSSL_free(p8);
    free(spki);
    EVP_PKEY_free(wrap);
    EVP_PKEY_free(released);
}

static void test_release_error_classes(void **state)
{
    (void)state;
    assert_int_equal(kr_akv_classify_error(403, "Forbidden",
                                           "Target environment attestation statement does not "
                                           "satisfy the key release policy",
                                           KR_ERR_FORBIDDEN),
                     KR_ERR_POLICY);
    assert_int_equal(kr_akv_classify_error(400, "BadParameter", "The key 'k' is not exportable",
                                           KR_ERR_HTTP),
                     KR_ERR_NOT_EXPORTABLE);
    assert_int_equal(kr_akv_classify_error(403, "Forbidden",
                                           "The user ... does not have keys release permission "
                                           "on key vault 'v' (access policy)",
                                           KR_ERR_FORBIDDEN),
                     KR_ERR_FORBIDDEN);
    assert_int_equal(kr_akv_classify_error(404, "KeyNotFound", "not found", KR_ERR_NOT_FOUND),
                     KR_ERR_NOT_FOUND);
    assert_int_equal(kr_akv_classify_error(401, "Unauthorized", "AKV10000", KR_ERR_AUTH),
                     KR_ERR_AUTH);
    assert_int_equal(kr_akv_classify_error(500, "", "", KR_ERR_HTTP), KR_ERR_HTTP);
    char *u = kr_akv_key_url("https://v.vault.azure.net/", "a b", NULL);
    assert_string_equal(u, "https://v.vault.azure.net/keys/a%20b");
    free(u);
    u = kr_akv_key_url("https://v.vault.azure.net", "k", "0123abc");
    assert_string_equal(u, "https://v.vault.azure.net/keys/k/0123abc");
    free(u);
    u = kr_url_host("https://user@Host.example:8443/x?y");
    assert_string_equal(u, "Host.example");
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_b64),
            cmocka_unit_test(test_recorded_release_verifies),
            cmocka_unit_test(test_recorded_release_refusals),
            cmocka_unit_test(test_jwt_rsa_and_time),
            cmocka_unit_test(test_jwt_alg_refused),
            cmocka_unit_test(test_jwt_ec),
            cmocka_unit_test(test_jwk_rsa_spki),
            cmocka_unit_test(test_unwrap_all_enc),
            cmocka_unit_test(test_release_error_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
