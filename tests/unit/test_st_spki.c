/* SPDX-License-Identifier: Apache-2.0 */
/*
 * st_spki.c: SubjectPublicKeyInfo without OpenSSL's encoder/decoder gives the same bytes and
 * keys as the encoder/decoder route it replaces (RSA-2048/3072, EC P-256/384/521, Ed25519,
 * Ed448, legacy RSA from u_pkcs8_decode), CKA_ID and CKA_PUBLIC_KEY_INFO included; anything
 * else (compressed points, explicit curves, RSA-PSS, malformed or non-canonical DER) is left
 * to OpenSSL, so st_pkey_from_spki behaves as the decoder on it. The start-up import path
 * calls none of OSSL_DECODER_CTX_new_for_pkey, i2d_PUBKEY, X509_PUBKEY_set (wrapped, counted).
 */
#define _POSIX_C_SOURCE 200809L
#include "st_object_test.h"

#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "st_object_int.h"
#include "u_pkcs8.h"

/* Calls from the token's code into OpenSSL's encoder/decoder entry points (-Wl,--wrap). */
static int n_decoder, n_i2d_pubkey, n_x509_pubkey_set;

OSSL_DECODER_CTX *__real_OSSL_DECODER_CTX_new_for_pkey(EVP_PKEY **pkey, const char *input_type,
                                                       const char *input_struct,
                                                       const char *keytype, int selection,
                                                       OSSL_LIB_CTX *libctx, const char *propquery);
OSSL_DECODER_CTX *__wrap_OSSL_DECODER_CTX_new_for_pkey(EVP_PKEY **pkey, const char *input_type,
                                                       const char *input_struct,
                                                       const char *keytype, int selection,
                                                       OSSL_LIB_CTX *libctx, const char *propquery);
OSSL_DECODER_CTX *__wrap_OSSL_DECODER_CTX_new_for_pkey(EVP_PKEY **pkey, const char *input_type,
                                                       const char *input_struct,
                                                       const char *keytype, int selection,
                                                       OSSL_LIB_CTX *libctx, const char *propquery)
{
    n_decoder++;
    return __real_OSSL_DECODER_CTX_new_for_pkey(pkey, input_type, input_struct, keytype, selection,
                                                libctx, propquery);
}

int __real_i2d_PUBKEY(const EVP_PKEY *a, unsigned char **pp);
int __wrap_i2d_PUBKEY(const EVP_PKEY *a, unsigned char **pp);
int __wrap_i2d_PUBKEY(const EVP_PKEY *a, unsigned char **pp)
{
    n_i2d_pubkey++;
    return __real_i2d_PUBKEY(a, pp);
}

int __real_X509_PUBKEY_set(X509_PUBKEY **x, EVP_PKEY *pkey);
int __wrap_X509_PUBKEY_set(X509_PUBKEY **x, EVP_PKEY *pkey);
int __wrap_X509_PUBKEY_set(X509_PUBKEY **x, EVP_PKEY *pkey)
{
    n_x509_pubkey_set++;
    return __real_X509_PUBKEY_set(x, pkey);
}

struct keyspec {
    const char *type; /* key type for keygen */
    const char *group;
    unsigned bits;
};

static const struct keyspec specs[] = {
        {"RSA", NULL, 2048}, {"RSA", NULL, 3072},  {"EC", "P-256", 0}, {"EC", "P-384", 0},
        {"EC", "P-521", 0},  {"ED25519", NULL, 0}, {"ED448", NULL, 0},
};

static EVP_PKEY *keygen(const struct keyspec *s)
{
    EVP_PKEY *k = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(st_libctx(), s->type, ST_PROPQ);
    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
    if (s->group != NULL) {
        OSSL_PARAM p[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                                           (char *)(uintptr_t)s->group, 0),
                          OSSL_PARAM_construct_end()};
        assert_int_equal(EVP_PKEY_CTX_set_params(ctx, p), 1);
    }
    if (s->bits > 0)
        assert_int_equal(EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)s->bits), 1);
    assert_int_equal(EVP_PKEY_generate(ctx, &k), 1);
    EVP_PKEY_CTX_free(ctx);
    return k;
}

/* ---- the old route: OpenSSL's encoder and decoder ------------------------------------------ */

static unsigned char *old_spki(EVP_PKEY *k, size_t *len)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    assert_true(n > 0);
    *len = (size_t)n;
    return der;
}

static void old_id(EVP_PKEY *k, unsigned char md[20])
{
    X509_PUBKEY *xpk = NULL;
    const unsigned char *pk = NULL;
    int pklen = 0;
    assert_int_equal(X509_PUBKEY_set(&xpk, k), 1);
    assert_int_equal(X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk), 1);
    assert_non_null(SHA1(pk, (size_t)pklen, md));
    X509_PUBKEY_free(xpk);
}

static EVP_PKEY *old_decode(const unsigned char *der, size_t len)
{
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = der;
    size_t left = len;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(
            &pkey, "DER", "SubjectPublicKeyInfo", NULL, EVP_PKEY_PUBLIC_KEY, st_libctx(), ST_PROPQ);
    assert_non_null(dctx);
    if (OSSL_DECODER_from_data(dctx, &p, &left) != 1 || left != 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    ERR_clear_error();
    return pkey;
}

/* ---- checks -------------------------------------------------------------------------------- */

static void assert_attr(struct st_object *o, CK_ATTRIBUTE_TYPE t, const void *v, size_t len)
{
    CK_ULONG alen = 0;
    CK_RV rv;
    void *a = ot_get(o, t, &alen, &rv);
    assert_int_equal(rv, CKR_OK);
    assert_int_equal(alen, len);
    assert_memory_equal(a, v, len);
    free(a);
}

/* st_spki_encode and st_key_id_sha1 against i2d_PUBKEY and X509_PUBKEY. */
static void assert_encode_same(EVP_PKEY *k)
{
    size_t olen = 0, len = 0, off = 0, bits = 0;
    unsigned char *old = old_spki(k, &olen), *der = NULL, oid[20], id[20];
    assert_int_equal(st_spki_encode(k, &der, &len, &off, &bits), CKR_OK);
    assert_int_equal(len, olen);
    assert_memory_equal(der, old, olen);
    assert_int_equal(off + bits, len);
    old_id(k, oid);
    assert_int_equal(st_key_id_sha1(k, id), CKR_OK);
    assert_memory_equal(id, oid, 20);
    OPENSSL_free(der);
    OPENSSL_free(old);
}

/* The fast decoder takes the SPKI, and gives the decoder's key; so do public_dup and import. */
static void assert_decode_same(EVP_PKEY *k)
{
    size_t len = 0;
    unsigned char *spki = old_spki(k, &len), oid[20];
    EVP_PKEY *dec = old_decode(spki, len);
    EVP_PKEY *fast = st_pkey_from_spki_fast(spki, len);
    EVP_PKEY *dup = st_pkey_public_dup(k);
    assert_non_null(dec);
    assert_non_null(fast);
    assert_non_null(dup);
    assert_int_equal(EVP_PKEY_eq(fast, dec), 1);
    assert_int_equal(EVP_PKEY_eq(dup, dec), 1);
    assert_int_equal(EVP_PKEY_eq(fast, k), 1);
    assert_non_null(EVP_PKEY_get0_provider(fast)); /* a provider key, never a legacy one */
    assert_encode_same(fast);
    assert_encode_same(dec);

    struct st_key_meta m = {.label = "k", .token = true, .private_ = false};
    struct st_object *o = NULL;
    assert_int_equal(st_import_public_spki(spki, len, &m, &o), CKR_OK);
    old_id(k, oid);
    assert_attr(o, CKA_ID, oid, 20);
    assert_attr(o, CKA_PUBLIC_KEY_INFO, spki, len);
    st_object_unref(o);
    EVP_PKEY_free(dup);
    EVP_PKEY_free(fast);
    EVP_PKEY_free(dec);
    OPENSSL_free(spki);
}

static void test_generated_keys(void **state)
{
    (void)state;
    for (size_t i = 0; i < OT_N(specs); i++) {
        EVP_PKEY *k = keygen(&specs[i]);
        assert_encode_same(k);
        assert_decode_same(k);
        EVP_PKEY_free(k);
    }
}

/* PKCS#8 import: the private object's CKA_ID and CKA_PUBLIC_KEY_INFO, its public object's too;
 * RSA goes through u_pkcs8_decode's legacy RSA. */
static void test_pkcs8_import(void **state)
{
    (void)state;
    for (size_t i = 0; i < OT_N(specs); i++) {
        EVP_PKEY *k = keygen(&specs[i]);
        unsigned char *p8 = NULL, oid[20];
        int p8len = i2d_PrivateKey(k, &p8);
        assert_true(p8len > 0);
        EVP_PKEY *dk = u_pkcs8_decode(p8, (size_t)p8len, st_libctx());
        assert_non_null(dk);
        assert_encode_same(dk);
        EVP_PKEY_free(dk);

        struct st_key_meta m = {.label = "k", .token = true, .private_ = true};
        struct st_object *priv = NULL, *pub = NULL;
        assert_int_equal(st_import_private_pkcs8(p8, (size_t)p8len, &m, &priv, &pub), CKR_OK);
        size_t len = 0;
        unsigned char *spki = old_spki(k, &len);
        old_id(k, oid);
        assert_attr(priv, CKA_ID, oid, 20);
        assert_attr(pub, CKA_ID, oid, 20);
        assert_attr(priv, CKA_PUBLIC_KEY_INFO, spki, len);
        assert_attr(pub, CKA_PUBLIC_KEY_INFO, spki, len);
        st_object_unref(priv);
        st_object_unref(pub);
        OPENSSL_free(spki);
        OPENSSL_clear_free(p8, (size_t)p8len);
        EVP_PKEY_free(k);
    }
}

/* What the start-up import does per key (module/mod_ks_keyvault.c import_key: SPKI public key,
 * then PKCS#8 private key) reaches neither the encoder nor the decoder for these types, but for
 * the EdDSA PKCS#8 private key. */
static void test_import_without_encoder(void **state)
{
    (void)state;
    for (size_t i = 0; i < OT_N(specs); i++) {
        EVP_PKEY *k = keygen(&specs[i]);
        unsigned char *p8 = NULL;
        int p8len = i2d_PrivateKey(k, &p8);
        size_t len = 0;
        unsigned char *spki = old_spki(k, &len);
        struct st_key_meta m = {.label = "k", .token = true, .private_ = true};
        struct st_object *priv = NULL, *pub = NULL;
        assert_true(p8len > 0);
        n_decoder = n_i2d_pubkey = n_x509_pubkey_set = 0;
        assert_int_equal(st_import_public_spki(spki, len, &m, &pub), CKR_OK);
        assert_int_equal(st_import_private_pkcs8(p8, (size_t)p8len, &m, &priv, NULL), CKR_OK);
        /* u_pkcs8_decode leaves EdDSA PKCS#8 to OpenSSL's decoder (u_pkcs8.h) */
        assert_int_equal(n_decoder, specs[i].type[0] == 'E' && specs[i].type[1] == 'D' ? 1 : 0);
        assert_int_equal(n_i2d_pubkey, 0);
        assert_int_equal(n_x509_pubkey_set, 0);
        st_object_unref(priv);
        st_object_unref(pub);
        OPENSSL_free(spki);
        OPENSSL_clear_free(p8, (size_t)p8len);
        EVP_PKEY_free(k);
    }
    /* and the wraps do count: a compressed point goes to the decoder */
    static const struct keyspec p256 = {"EC", "P-256", 0};
    EVP_PKEY *k = keygen(&p256);
    assert_int_equal(
            EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
            1);
    size_t len = 0;
    unsigned char *spki = old_spki(k, &len);
    n_decoder = 0;
    EVP_PKEY *pub = st_pkey_from_spki(spki, len);
    assert_non_null(pub);
    assert_int_equal(n_decoder, 1);
    EVP_PKEY_free(pub);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
}

/* A key whose SPKI the fast path does not write: st_spki_encode says so, callers use OpenSSL. */
static void assert_not_fast(EVP_PKEY *k)
{
    unsigned char *der = NULL, oid[20], id[20];
    size_t len = 0;
    assert_int_equal(st_spki_encode(k, &der, &len, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    assert_null(der);
    old_id(k, oid);
    assert_int_equal(st_key_id_sha1(k, id), CKR_OK);
    assert_memory_equal(id, oid, 20);
}

static void test_other_keys(void **state)
{
    (void)state;
    static const struct keyspec others[] = {{"RSA-PSS", NULL, 2048}, {"EC", "secp256k1", 0}};
    for (size_t i = 0; i < OT_N(others); i++) {
        EVP_PKEY *k = keygen(&others[i]);
        assert_not_fast(k);
        size_t len = 0;
        unsigned char *spki = old_spki(k, &len);
        assert_null(st_pkey_from_spki_fast(spki, len));
        EVP_PKEY *pub = st_pkey_from_spki(spki, len);
        assert_non_null(pub);
        assert_int_equal(EVP_PKEY_eq(pub, k), 1);
        EVP_PKEY_free(pub);
        OPENSSL_free(spki);
        EVP_PKEY_free(k);
    }
}

/* Explicit curve parameters and a compressed point: the decoder's key, the encoder's bytes. */
static void test_ec_explicit_and_compressed(void **state)
{
    (void)state;
    static const struct keyspec p256 = {"EC", "P-256", 0};
    EVP_PKEY *k = keygen(&p256);
    size_t len = 0;

    assert_int_equal(
            EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_COMPRESSED),
            1);
    unsigned char *spki = old_spki(k, &len);
    assert_int_equal(len, 59); /* 33-byte point */
    assert_null(st_pkey_from_spki_fast(spki, len));
    EVP_PKEY *pub = st_pkey_from_spki(spki, len);
    assert_non_null(pub);
    assert_int_equal(EVP_PKEY_eq(pub, k), 1);
    assert_not_fast(pub); /* CKA_ID of the compressed point, as the encoder writes it */
    assert_not_fast(k);

    /* The object: CKA_ID as before (compressed point), CKA_PUBLIC_KEY_INFO as before (the
     * uncompressed form CKA_EC_POINT set on the key). */
    unsigned char oid[20];
    size_t ulen = 0;
    old_id(pub, oid);
    assert_int_equal(
            EVP_PKEY_set_utf8_string_param(pub, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED),
            1);
    unsigned char *uspki = old_spki(pub, &ulen);
    struct st_key_meta m = {.label = "k", .token = true, .private_ = false};
    struct st_object *o = NULL;
    assert_int_equal(st_import_public_spki(spki, len, &m, &o), CKR_OK);
    assert_attr(o, CKA_ID, oid, 20);
    assert_attr(o, CKA_PUBLIC_KEY_INFO, uspki, ulen);
    st_object_unref(o);
    OPENSSL_free(uspki);
    EVP_PKEY_free(pub);
    OPENSSL_free(spki);

    assert_int_equal(EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING,
                                                    OSSL_PKEY_EC_ENCODING_EXPLICIT),
                     1);
    assert_int_equal(
            EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                           OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED),
            1);
    assert_not_fast(k);
    spki = old_spki(k, &len);
    assert_null(st_pkey_from_spki_fast(spki, len));
    pub = st_pkey_from_spki(spki, len);
    EVP_PKEY *dec = old_decode(spki, len);
    assert_int_equal(pub != NULL, dec != NULL);
    if (pub != NULL)
        assert_int_equal(EVP_PKEY_eq(pub, dec), 1);
    EVP_PKEY_free(dec);
    EVP_PKEY_free(pub);
    OPENSSL_free(spki);
    EVP_PKEY_free(k);
}

/* st_pkey_from_spki on a damaged SPKI gives the decoder's result; the fast path refuses it, or
 * (a changed RSA modulus or EdDSA key is still a key) gives the decoder's key. */
static void assert_like_decoder(const unsigned char *der, size_t len)
{
    EVP_PKEY *fast = st_pkey_from_spki_fast(der, len);
    EVP_PKEY *dec = old_decode(der, len);
    EVP_PKEY *got = st_pkey_from_spki(der, len);
    assert_int_equal(got != NULL, dec != NULL);
    if (got != NULL)
        assert_int_equal(EVP_PKEY_eq(got, dec), 1);
    if (fast != NULL)
        assert_int_equal(EVP_PKEY_eq(fast, dec), 1);
    EVP_PKEY_free(fast);
    assert_int_equal(ERR_peek_error(), 0); /* st_pkey_from_spki drains the queue */
    EVP_PKEY_free(got);
    EVP_PKEY_free(dec);
}

static void damage(const unsigned char *spki, size_t len, size_t at, unsigned char x)
{
    unsigned char *c = malloc(len);
    assert_non_null(c);
    memcpy(c, spki, len);
    c[at] ^= x;
    assert_like_decoder(c, len);
    free(c);
}

/* Outer SEQUENCE written with a long-form length it does not need (BER, not DER). */
static void non_minimal_length(const unsigned char *spki, size_t len)
{
    unsigned char *c = malloc(len + 1);
    assert_non_null(c);
    assert_true(spki[1] < 0x80);
    c[0] = spki[0];
    c[1] = 0x81;
    memcpy(c + 2, spki + 1, len - 1);
    assert_like_decoder(c, len + 1);
    free(c);
}

static void test_malformed(void **state)
{
    (void)state;
    for (size_t i = 0; i < OT_N(specs); i++) {
        EVP_PKEY *k = keygen(&specs[i]);
        size_t len = 0;
        unsigned char *spki = old_spki(k, &len);
        unsigned char *t = malloc(len + 1);
        assert_non_null(t);
        memcpy(t, spki, len);
        t[len] = 0;
        assert_like_decoder(t, len + 1); /* trailing byte */
        assert_like_decoder(t, len - 1); /* truncated */
        assert_like_decoder(t, 0);
        free(t);
        const unsigned char *p = spki;
        size_t oid_at = p[1] < 0x80 ? 6 : (size_t)(p[1] & 0x7f) + 2 + 4;
        damage(spki, len, oid_at, 0x01);  /* first OID content byte: another algorithm */
        damage(spki, len, len - 1, 0x01); /* last key byte: an EC point off the curve */
        damage(spki, len, len / 2, 0x80); /* somewhere in the key */
        size_t bits_hdr = 0;
        unsigned char *der = NULL;
        size_t dlen = 0, off = 0;
        assert_int_equal(st_spki_encode(k, &der, &dlen, &off, &bits_hdr), CKR_OK);
        size_t content = bits_hdr + 1, hs = content < 0x80 ? 2 : content < 0x100 ? 3 : 4;
        damage(spki, len, off - 1, 0x03);      /* unused bits != 0 */
        damage(spki, len, off - 1 - hs, 0x20); /* BIT STRING tag → constructed */
        damage(spki, len, off - 1 - hs, 0x07); /* BIT STRING → OCTET STRING */
        if (EVP_PKEY_is_a(k, "EC"))
            damage(spki, len, off, 0x04); /* 04 → 00: not an uncompressed point */
        OPENSSL_free(der);
        if (spki[1] < 0x80)
            non_minimal_length(spki, len);
        OPENSSL_free(spki);
        EVP_PKEY_free(k);
    }
}

static int setup(void **state)
{
    (void)state;
    return st_init() == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    st_cleanup();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_generated_keys),
            cmocka_unit_test(test_pkcs8_import),
            cmocka_unit_test(test_import_without_encoder),
            cmocka_unit_test(test_other_keys),
            cmocka_unit_test(test_ec_explicit_and_compressed),
            cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
