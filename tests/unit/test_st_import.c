/* SPDX-License-Identifier: Apache-2.0 */
/*
 * st_import.c: key-source objects from PKCS#8 (RSA, EC P-256/384/521, Ed25519, Ed448), SPKI,
 * raw secrets and X.509 certificates. Forced token-key attributes, shared CKA_ID/CKA_LABEL,
 * CKA_ID = the subjectKeyIdentifier `openssl req -x509` wrote, CKA_EC_POINT as a DER OCTET
 * STRING, and st_object_same_public_key.
 */
#define _POSIX_C_SOURCE 200809L
#include "st_object_test.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

static const struct st_key_meta meta = {
        .label = "demo-key", .id = NULL, .id_len = 0, .token = true, .private_ = true};

struct fixture {
    const char *file;
    CK_KEY_TYPE kt;
    size_t point_len; /* raw EC point or EdDSA key bytes in CKA_EC_POINT */
};

static const struct fixture fixtures[] = {
        {"rsa2048.p8.der", CKK_RSA, 0},         {"ec256.p8.der", CKK_EC, 65},
        {"ec384.p8.der", CKK_EC, 97},           {"ec521.p8.der", CKK_EC, 133},
        {"ed25519.p8.der", CKK_EC_EDWARDS, 32}, {"ed448.p8.der", CKK_EC_EDWARDS, 57},
};

static void import(const char *file, const struct st_key_meta *m, struct st_object **priv,
                   struct st_object **pub)
{
    size_t len;
    unsigned char *der = ot_read(file, &len);
    assert_int_equal(st_import_private_pkcs8(der, len, m, priv, pub), CKR_OK);
    OPENSSL_cleanse(der, len);
    free(der);
}

/* What the spec says a released token key looks like. */
static void assert_token_key(struct st_object *priv, struct st_object *pub)
{
    assert_int_equal(ot_bool(priv, CKA_SENSITIVE), CK_TRUE);
    assert_int_equal(ot_bool(priv, CKA_ALWAYS_SENSITIVE), CK_TRUE);
    assert_int_equal(ot_bool(priv, CKA_NEVER_EXTRACTABLE), CK_TRUE);
    assert_int_equal(ot_bool(priv, CKA_EXTRACTABLE), CK_FALSE);
    assert_int_equal(ot_bool(priv, CKA_MODIFIABLE), CK_FALSE);
    assert_int_equal(ot_bool(priv, CKA_DESTROYABLE), CK_FALSE);
    assert_int_equal(ot_bool(priv, CKA_TOKEN), CK_TRUE);
    assert_int_equal(ot_bool(priv, CKA_PRIVATE), CK_TRUE);
    assert_int_equal(ot_bool(priv, CKA_LOCAL), CK_FALSE);
    assert_true(st_object_is_token(priv));
    assert_true(st_object_is_private(priv));
    assert_false(st_object_is_destroyable(priv));
    assert_int_equal(ot_bool(pub, CKA_TOKEN), CK_TRUE);
    assert_int_equal(ot_bool(pub, CKA_PRIVATE), CK_FALSE);
    assert_int_equal(ot_bool(pub, CKA_MODIFIABLE), CK_FALSE);
    assert_false(st_object_is_private(pub));
    CK_ATTRIBUTE label[] = {OT_STR(CKA_LABEL, "x")};
    assert_int_equal(st_object_set_attributes(priv, label, 1), CKR_ACTION_PROHIBITED);
}

/* SHA-1 of the subjectPublicKey BIT STRING contents, computed independently. */
static void expected_id(EVP_PKEY *k, unsigned char md[20])
{
    X509_PUBKEY *xpk = NULL;
    const unsigned char *pk;
    int pklen;
    assert_true(X509_PUBKEY_set(&xpk, k));
    assert_true(X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk));
    SHA1(pk, (size_t)pklen, md);
    X509_PUBKEY_free(xpk);
}

static void check_ec_point(struct st_object *pub, const struct fixture *f)
{
    CK_ULONG len = 0;
    CK_RV rv;
    unsigned char *v = ot_get(pub, CKA_EC_POINT, &len, &rv);
    assert_int_equal(rv, CKR_OK);
    const unsigned char *p = v;
    ASN1_OCTET_STRING *os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
    assert_non_null(os);          /* a DER OCTET STRING ... */
    assert_ptr_equal(p, v + len); /* ... spanning the whole attribute */
    assert_int_equal(ASN1_STRING_length(os), f->point_len);
    if (f->kt == CKK_EC)
        assert_int_equal(ASN1_STRING_get0_data(os)[0], 0x04); /* uncompressed */
    unsigned char raw[160];
    size_t rl = sizeof(raw);
    EVP_PKEY *k = st_object_pkey(pub);
    if (f->kt == CKK_EC)
        assert_true(EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", raw, rl, &rl));
    else
        assert_true(EVP_PKEY_get_raw_public_key(k, raw, &rl));
    assert_int_equal(rl, f->point_len);
    assert_memory_equal(ASN1_STRING_get0_data(os), raw, rl);
    ASN1_OCTET_STRING_free(os);
    free(v);
}

static void test_pkcs8_all(void **state)
{
    (void)state;
    for (size_t i = 0; i < OT_N(fixtures); i++) {
        const struct fixture *f = &fixtures[i];
        struct st_object *priv = NULL, *pub = NULL;
        import(f->file, &meta, &priv, &pub);
        assert_int_equal(st_object_class(priv), CKO_PRIVATE_KEY);
        assert_int_equal(st_object_class(pub), CKO_PUBLIC_KEY);
        assert_int_equal(st_object_key_type(priv), f->kt);
        assert_int_equal(st_object_key_type(pub), f->kt);
        assert_token_key(priv, pub);
        /* class and key type are attributes too (C_FindObjects matches on them) */
        CK_OBJECT_CLASS pc = CKO_PRIVATE_KEY, uc = CKO_PUBLIC_KEY;
        CK_ATTRIBUTE by_priv[] = {OT_ATTR(CKA_CLASS, pc), OT_ATTR(CKA_KEY_TYPE, f->kt)};
        CK_ATTRIBUTE by_pub[] = {OT_ATTR(CKA_CLASS, uc), OT_ATTR(CKA_KEY_TYPE, f->kt)};
        assert_true(st_object_match(priv, by_priv, 2));
        assert_true(st_object_match(pub, by_pub, 2));
        assert_false(st_object_match(pub, by_priv, 2));
        unsigned char id[20];
        expected_id(st_object_pkey(priv), id);
        ot_assert_attr(priv, CKA_ID, id, 20);
        ot_assert_attr(pub, CKA_ID, id, 20);
        ot_assert_attr(priv, CKA_LABEL, "demo-key", 8);
        ot_assert_attr(pub, CKA_LABEL, "demo-key", 8);
        assert_true(st_object_same_public_key(priv, pub));
        CK_ATTRIBUTE secret = {f->kt == CKK_RSA ? CKA_PRIVATE_EXPONENT : CKA_VALUE, NULL, 0};
        assert_int_equal(st_object_get_attributes(priv, &secret, 1), CKR_ATTRIBUTE_SENSITIVE);
        assert_int_equal(secret.ulValueLen, CK_UNAVAILABLE_INFORMATION);
        if (f->kt != CKK_RSA)
            check_ec_point(pub, f);
        else
            assert_int_equal(ot_ulong(pub, CKA_MODULUS_BITS), 2048);
        /* a different key is not the same public key */
        struct st_object *other = NULL, *other_pub = NULL;
        import(fixtures[(i + 1) % OT_N(fixtures)].file, &meta, &other, &other_pub);
        assert_false(st_object_same_public_key(priv, other));
        assert_false(st_object_same_public_key(pub, other_pub));
        st_object_unref(other);
        st_object_unref(other_pub);
        st_object_unref(pub);
        st_object_unref(priv);
    }
}

static void test_spki_matches_fixture(void **state)
{
    (void)state;
    static const char *keys[] = {"rsa2048", "ec256", "ed25519"};
    for (size_t i = 0; i < OT_N(keys); i++) {
        char name[64];
        size_t len;
        snprintf(name, sizeof(name), "%s.spki.der", keys[i]);
        unsigned char *spki = ot_read(name, &len);
        snprintf(name, sizeof(name), "%s.p8.der", keys[i]);
        struct st_object *priv = NULL, *pub = NULL, *pub2 = NULL;
        import(name, &meta, &priv, NULL);
        assert_int_equal(st_import_public_spki(spki, len, &meta, &pub2), CKR_OK);
        ot_assert_attr(priv, CKA_PUBLIC_KEY_INFO, spki, len);
        ot_assert_attr(pub2, CKA_PUBLIC_KEY_INFO, spki, len);
        assert_true(st_object_same_public_key(priv, pub2));
        CK_ULONG l1 = 0, l2 = 0;
        CK_RV rv;
        void *a = ot_get(priv, CKA_ID, &l1, &rv), *b = ot_get(pub2, CKA_ID, &l2, &rv);
        assert_int_equal(l1, l2);
        assert_memory_equal(a, b, l1);
        free(a);
        free(b);
        (void)pub;
        st_object_unref(pub2);
        st_object_unref(priv);
        free(spki);
    }
}

static void test_cert_id_is_ski(void **state)
{
    (void)state;
    static const char *keys[] = {"rsa2048", "ec256", "ed25519"};
    for (size_t i = 0; i < OT_N(keys); i++) {
        char name[64];
        size_t len;
        snprintf(name, sizeof(name), "%s.cert.der", keys[i]);
        unsigned char *der = ot_read(name, &len);
        const unsigned char *p = der;
        X509 *x = d2i_X509(NULL, &p, (long)len);
        assert_non_null(x);
        const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(x);
        assert_non_null(ski);
        struct st_object *cert = NULL, *priv = NULL, *pub = NULL;
        assert_int_equal(st_import_certificate(der, len, &meta, &cert), CKR_OK);
        ot_assert_attr(cert, CKA_ID, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
        snprintf(name, sizeof(name), "%s.p8.der", keys[i]);
        import(name, &meta, &priv, &pub);
        ot_assert_attr(priv, CKA_ID, ASN1_STRING_get0_data(ski), (size_t)ASN1_STRING_length(ski));
        ot_assert_attr(cert, CKA_LABEL, "demo-key", 8);
        ot_assert_attr(cert, CKA_VALUE, der, len);
        assert_int_equal(ot_ulong(cert, CKA_CERTIFICATE_TYPE), CKC_X_509);
        assert_int_equal(ot_ulong(cert, CKA_CLASS), CKO_CERTIFICATE);
        assert_int_equal(ot_ulong(cert, CKA_CERTIFICATE_CATEGORY), 1);
        assert_int_equal(ot_bool(cert, CKA_TOKEN), CK_TRUE);
        assert_int_equal(ot_bool(cert, CKA_PRIVATE), CK_FALSE);
        assert_int_equal(ot_bool(cert, CKA_MODIFIABLE), CK_FALSE);
        unsigned char *subj = NULL, *serial = NULL;
        int sl = i2d_X509_NAME(X509_get_subject_name(x), &subj);
        int nl = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &serial);
        ot_assert_attr(cert, CKA_SUBJECT, subj, (size_t)sl);
        ot_assert_attr(cert, CKA_SERIAL_NUMBER, serial, (size_t)nl);
        unsigned char md[20];
        SHA1(der, len, md);
        ot_assert_attr(cert, CKA_CHECK_VALUE, md, 3);
        assert_true(st_object_same_public_key(cert, priv));
        assert_true(st_object_same_public_key(pub, cert));
        OPENSSL_free(subj);
        OPENSSL_free(serial);
        X509_free(x);
        free(der);
        st_object_unref(cert);
        st_object_unref(pub);
        st_object_unref(priv);
    }
}

static void test_explicit_id_and_public_token(void **state)
{
    (void)state;
    static const unsigned char id[] = {0x0a, 0x1b};
    struct st_key_meta m = {.label = NULL, .id = id, .id_len = 2, .token = true, .private_ = false};
    struct st_object *priv = NULL, *pub = NULL;
    import("ec384.p8.der", &m, &priv, &pub);
    ot_assert_attr(priv, CKA_ID, id, 2);
    ot_assert_attr(pub, CKA_ID, id, 2);
    ot_assert_attr(priv, CKA_LABEL, "", 0);
    assert_false(st_object_is_private(priv)); /* token without a PIN */
    st_object_unref(pub);
    st_object_unref(priv);
}

static void test_secret_import(void **state)
{
    (void)state;
    unsigned char key[32];
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (unsigned char)i;
    struct st_key_meta m = meta;
    m.secret_type = CKK_AES;
    struct st_object *o = NULL, *bad = NULL;
    assert_int_equal(st_import_secret(key, 32, &m, &o), CKR_OK);
    assert_int_equal(st_object_key_type(o), CKK_AES);
    assert_int_equal(ot_ulong(o, CKA_CLASS), CKO_SECRET_KEY);
    assert_int_equal(ot_ulong(o, CKA_KEY_TYPE), CKK_AES);
    assert_int_equal(ot_ulong(o, CKA_VALUE_LEN), 32);
    assert_int_equal(ot_bool(o, CKA_SENSITIVE), CK_TRUE);
    assert_int_equal(ot_bool(o, CKA_NEVER_EXTRACTABLE), CK_TRUE);
    assert_int_equal(ot_bool(o, CKA_DESTROYABLE), CK_FALSE);
    CK_ATTRIBUTE v = {CKA_VALUE, NULL, 0};
    assert_int_equal(st_object_get_attributes(o, &v, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_memory_equal(st_object_secret(o)->data, key, 32);
    assert_true(st_object_secret(o)->data != key);
    assert_int_equal(st_import_secret(key, 15, &m, &bad), CKR_KEY_SIZE_RANGE);
    m.secret_type = CKK_GENERIC_SECRET;
    st_object_unref(o);
    assert_int_equal(st_import_secret(key, 15, &m, &o), CKR_OK);
    assert_int_equal(st_object_key_type(o), CKK_GENERIC_SECRET);
    m.secret_type = CKK_DES3;
    assert_int_equal(st_import_secret(key, 24, &m, &bad), CKR_TEMPLATE_INCONSISTENT);
    assert_null(bad);
    st_object_unref(o);
}

static void test_bad_input(void **state)
{
    (void)state;
    size_t len;
    unsigned char *der = ot_read("ec256.p8.der", &len);
    struct st_object *o = NULL, *p = NULL;
    assert_int_equal(st_import_private_pkcs8(der, len - 1, &meta, &o, &p),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    unsigned char junk[8] = {0x30, 0x03, 0x02, 0x01, 0x00, 0, 0, 0};
    assert_int_equal(st_import_private_pkcs8(junk, sizeof(junk), &meta, &o, &p),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(st_import_public_spki(der, len, &meta, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(st_import_certificate(der, len, &meta, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_null(o);
    assert_null(p);
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pkcs8_all),
            cmocka_unit_test(test_spki_matches_fixture),
            cmocka_unit_test(test_cert_id_is_ski),
            cmocka_unit_test(test_explicit_id_and_public_token),
            cmocka_unit_test(test_secret_import),
            cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, ot_setup, ot_teardown);
}
