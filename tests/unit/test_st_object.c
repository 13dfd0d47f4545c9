/* SPDX-License-Identifier: Apache-2.0 */
/*
 * st_object.c: C_CreateObject for every class, C_GetAttributeValue rules (length query, short
 * buffer, sensitive, invalid type, every entry processed), C_SetAttributeValue all-or-nothing,
 * C_CopyObject, C_FindObjects matching, origins (generate/derive history), and that the last
 * reference wipes attribute values and secret key bytes (OPENSSL_cleanse / u_secbuf_free are
 * wrapped with -Wl,--wrap to observe it).
 */
#define _POSIX_C_SOURCE 200809L
#include "st_object_test.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

/* ---- observing wipes ------------------------------------------------------------------------ */

void __real_OPENSSL_cleanse(void *p, size_t len);
void __wrap_OPENSSL_cleanse(void *p, size_t len);
void __real_u_secbuf_free(struct u_secbuf *b);
void __wrap_u_secbuf_free(struct u_secbuf *b);

static bool g_watch;
static const void *g_watch_ptr;
static size_t g_watch_len;
static bool g_watch_wiped;
static const struct u_secbuf *g_watch_buf;
static bool g_watch_buf_freed;

void __wrap_OPENSSL_cleanse(void *p, size_t len)
{
    __real_OPENSSL_cleanse(p, len);
    if (g_watch && p == g_watch_ptr && len >= g_watch_len) {
        const unsigned char *c = p;
        bool zero = true;
        for (size_t i = 0; i < g_watch_len; i++)
            zero = zero && c[i] == 0;
        g_watch_wiped = zero;
    }
}

void __wrap_u_secbuf_free(struct u_secbuf *b)
{
    if (g_watch && b != NULL && b == g_watch_buf)
        g_watch_buf_freed = true;
    __real_u_secbuf_free(b);
}

/* ---- templates ----------------------------------------------------------------------------- */

static CK_OBJECT_CLASS c_data = CKO_DATA, c_secret = CKO_SECRET_KEY, c_pub = CKO_PUBLIC_KEY,
                       c_priv = CKO_PRIVATE_KEY, c_cert = CKO_CERTIFICATE;
static CK_KEY_TYPE k_aes = CKK_AES, k_gen = CKK_GENERIC_SECRET, k_rsa = CKK_RSA, k_ec = CKK_EC,
                   k_ed = CKK_EC_EDWARDS, k_bad = 0x1234;
static const unsigned char aes16[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                        0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                         0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_k256[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a};
static const unsigned char oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const unsigned char ps_ed25519[] = "\x13\x0c"
                                          "edwards25519";

static struct st_object *make_data(const char *value)
{
    CK_ATTRIBUTE t[] = {OT_ATTR(CKA_CLASS, c_data), OT_STR(CKA_LABEL, "data-label"),
                        OT_STR(CKA_APPLICATION, "app"), OT_STR(CKA_VALUE, value)};
    struct st_object *o = NULL;
    assert_int_equal(st_object_create(t, OT_N(t), &o), CKR_OK);
    return o;
}

static struct st_object *make_aes(CK_BBOOL sensitive, CK_BBOOL extractable)
{
    CK_ATTRIBUTE t[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes),
                        OT_BYTES(CKA_VALUE, aes16, 16), OT_ATTR(CKA_SENSITIVE, sensitive),
                        OT_ATTR(CKA_EXTRACTABLE, extractable)};
    struct st_object *o = NULL;
    assert_int_equal(st_object_create(t, OT_N(t), &o), CKR_OK);
    return o;
}

static EVP_PKEY *fixture_key(const char *name)
{
    size_t len;
    unsigned char *der = ot_read(name, &len);
    const unsigned char *p = der;
    EVP_PKEY *k = d2i_AutoPrivateKey(NULL, &p, (long)len);
    assert_non_null(k);
    free(der);
    return k;
}

/* ---- data objects and the C_GetAttributeValue rules ----------------------------------------- */

static void test_data_object(void **state)
{
    (void)state;
    struct st_object *o = make_data("hello");
    assert_int_equal(st_object_class(o), CKO_DATA);
    assert_int_equal(st_object_key_type(o), CK_UNAVAILABLE_INFORMATION);
    assert_false(st_object_is_token(o));
    assert_false(st_object_is_private(o));
    assert_true(st_object_is_destroyable(o));
    ot_assert_attr(o, CKA_VALUE, "hello", 5);
    ot_assert_attr(o, CKA_OBJECT_ID, "", 0); /* default: empty */
    assert_int_equal(ot_bool(o, CKA_MODIFIABLE), CK_TRUE);
    CK_BYTE buf[32];
    CK_ULONG len = sizeof(buf);
    assert_int_equal(st_object_label(o, buf, &len), CKR_OK);
    assert_int_equal(len, 10);
    assert_memory_equal(buf, "data-label", 10);
    len = 0;
    assert_int_equal(st_object_id(o, NULL, &len), CKR_OK);
    assert_int_equal(len, 0);
    assert_true(st_object_size(o) > 5);
    st_object_unref(o);
}

static void test_get_rules(void **state)
{
    (void)state;
    struct st_object *o = make_aes(CK_TRUE, CK_FALSE);
    CK_BYTE label[2], small[1];
    CK_ULONG vlen = 0;
    CK_ATTRIBUTE t[] = {
            {CKA_VALUE, NULL, 0},                    /* sensitive */
            {CKA_MODULUS, NULL, 0},                  /* invalid for the class */
            {CKA_VALUE_LEN, &vlen, sizeof(vlen)},    /* fine */
            {CKA_CHECK_VALUE, small, sizeof(small)}, /* too small */
            {CKA_LABEL, label, sizeof(label)},       /* empty label fits */
            {CKA_KEY_TYPE, NULL, 0},                 /* length query */
    };
    CK_RV rv = st_object_get_attributes(o, t, OT_N(t));
    assert_true(rv == CKR_ATTRIBUTE_SENSITIVE || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
                rv == CKR_BUFFER_TOO_SMALL);
    assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[2].ulValueLen, sizeof(CK_ULONG));
    assert_int_equal(vlen, 16);
    assert_int_equal(t[3].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(t[4].ulValueLen, 0);
    assert_int_equal(t[5].ulValueLen, sizeof(CK_KEY_TYPE));

    /* each error alone */
    CK_ATTRIBUTE one = {CKA_MODULUS, NULL, 0};
    assert_int_equal(st_object_get_attributes(o, &one, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE two = {CKA_CHECK_VALUE, small, sizeof(small)};
    assert_int_equal(st_object_get_attributes(o, &two, 1), CKR_BUFFER_TOO_SMALL);
    CK_ATTRIBUTE three = {CKA_VALUE, NULL, 0};
    assert_int_equal(st_object_get_attributes(o, &three, 1), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(three.ulValueLen, CK_UNAVAILABLE_INFORMATION);
    /* the secret never matches in a search either */
    CK_ATTRIBUTE m[] = {OT_BYTES(CKA_VALUE, aes16, 16)};
    assert_false(st_object_match(o, m, 1));
    st_object_unref(o);
}

/* ---- secret keys --------------------------------------------------------------------------- */

static void test_secret_create(void **state)
{
    (void)state;
    struct st_object *o = make_aes(CK_FALSE, CK_TRUE);
    assert_int_equal(st_object_key_type(o), CKK_AES);
    assert_true(st_object_is_private(o));    /* secret keys default to private */
    ot_assert_attr(o, CKA_VALUE, aes16, 16); /* not sensitive and extractable: readable */
    assert_int_equal(ot_ulong(o, CKA_VALUE_LEN), 16);
    assert_int_equal(ot_bool(o, CKA_LOCAL), CK_FALSE);
    assert_int_equal(ot_bool(o, CKA_ALWAYS_SENSITIVE), CK_FALSE);
    assert_int_equal(ot_bool(o, CKA_NEVER_EXTRACTABLE), CK_FALSE);
    assert_int_equal(ot_ulong(o, CKA_KEY_GEN_MECHANISM), CK_UNAVAILABLE_INFORMATION);
    const struct u_secbuf *s = st_object_secret(o);
    assert_non_null(s);
    assert_int_equal(s->len, 16);
    assert_null(st_object_pkey(o));

    /* CKA_CHECK_VALUE = AES-ECB(key, 0^16)[0..3] */
    unsigned char zero[16] = {0}, enc[32];
    int outl = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    assert_true(EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, aes16, NULL));
    EVP_CIPHER_CTX_set_padding(c, 0);
    assert_true(EVP_EncryptUpdate(c, enc, &outl, zero, 16));
    EVP_CIPHER_CTX_free(c);
    ot_assert_attr(o, CKA_CHECK_VALUE, enc, 3);
    st_object_unref(o);

    /* a matching check value in the template is accepted, a wrong one refused */
    CK_ATTRIBUTE ok[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes),
                         OT_BYTES(CKA_VALUE, aes16, 16), OT_BYTES(CKA_CHECK_VALUE, enc, 3)};
    assert_int_equal(st_object_create(ok, OT_N(ok), &o), CKR_OK);
    st_object_unref(o);
    enc[0] ^= 1;
    o = NULL;
    assert_int_equal(st_object_create(ok, OT_N(ok), &o), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_null(o);
}

static void test_secret_errors(void **state)
{
    (void)state;
    struct st_object *o = NULL;
    CK_ULONG vl = 16;
    CK_BYTE short_bool[2] = {1, 0};
    CK_ATTRIBUTE bad_len[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes),
                              OT_BYTES(CKA_VALUE, aes16, 15)};
    assert_int_equal(st_object_create(bad_len, OT_N(bad_len), &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE no_value[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes)};
    assert_int_equal(st_object_create(no_value, OT_N(no_value), &o), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE no_class[] = {OT_ATTR(CKA_KEY_TYPE, k_aes), OT_BYTES(CKA_VALUE, aes16, 16)};
    assert_int_equal(st_object_create(no_class, OT_N(no_class), &o), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE no_kt[] = {OT_ATTR(CKA_CLASS, c_secret), OT_BYTES(CKA_VALUE, aes16, 16)};
    assert_int_equal(st_object_create(no_kt, OT_N(no_kt), &o), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE bad_kt[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_bad),
                             OT_BYTES(CKA_VALUE, aes16, 16)};
    assert_int_equal(st_object_create(bad_kt, OT_N(bad_kt), &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE vlen[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes),
                           OT_BYTES(CKA_VALUE, aes16, 16), OT_ATTR(CKA_VALUE_LEN, vl)};
    assert_int_equal(st_object_create(vlen, OT_N(vlen), &o), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE wide_bool[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes),
                                OT_BYTES(CKA_VALUE, aes16, 16),
                                OT_BYTES(CKA_ENCRYPT, short_bool, 2)};
    assert_int_equal(st_object_create(wide_bool, OT_N(wide_bool), &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_BYTE one = 1;
    CK_ATTRIBUTE short_ulong[] = {OT_BYTES(CKA_CLASS, &one, 1)};
    assert_int_equal(st_object_create(short_ulong, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE local[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes),
                            OT_BYTES(CKA_VALUE, aes16, 16), OT_ATTR(CKA_LOCAL, ot_true)};
    assert_int_equal(st_object_create(local, OT_N(local), &o), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE foreign[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes),
                              OT_BYTES(CKA_VALUE, aes16, 16), OT_BYTES(CKA_MODULUS, aes16, 16)};
    assert_int_equal(st_object_create(foreign, OT_N(foreign), &o), CKR_ATTRIBUTE_TYPE_INVALID);
    CK_ATTRIBUTE clash[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes),
                            OT_BYTES(CKA_VALUE, aes16, 16), OT_ATTR(CKA_SIGN, ot_true),
                            OT_ATTR(CKA_SIGN, ot_false)};
    assert_int_equal(st_object_create(clash, OT_N(clash), &o), CKR_TEMPLATE_INCONSISTENT);
    CK_ATTRIBUTE null_value[] = {
            OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_aes), {CKA_VALUE, NULL, 16}};
    assert_int_equal(st_object_create(null_value, OT_N(null_value), &o),
                     CKR_ATTRIBUTE_VALUE_INVALID);
    CK_OBJECT_CLASS hw = CKO_HW_FEATURE;
    CK_ATTRIBUTE hw_t[] = {OT_ATTR(CKA_CLASS, hw)};
    assert_int_equal(st_object_create(hw_t, 1, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_null(o);
}

static void test_generic_secret(void **state)
{
    (void)state;
    static const unsigned char v[5] = "abcde";
    CK_ATTRIBUTE t[] = {OT_ATTR(CKA_CLASS, c_secret), OT_ATTR(CKA_KEY_TYPE, k_gen),
                        OT_BYTES(CKA_VALUE, v, 5), OT_ATTR(CKA_SENSITIVE, ot_false)};
    struct st_object *o = NULL;
    assert_int_equal(st_object_create(t, OT_N(t), &o), CKR_OK);
    ot_assert_attr(o, CKA_VALUE, v, 5);
    unsigned char md[20];
    assert_non_null(SHA1(v, 5, md));
    ot_assert_attr(o, CKA_CHECK_VALUE, md, 3);
    st_object_unref(o);
}

/* ---- certificates -------------------------------------------------------------------------- */

static void test_cert_create(void **state)
{
    (void)state;
    size_t len;
    unsigned char *der = ot_read("rsa2048.cert.der", &len);
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    assert_non_null(x);
    unsigned char *subj = NULL, *iss = NULL;
    int slen = i2d_X509_NAME(X509_get_subject_name(x), &subj);
    int ilen = i2d_X509_NAME(X509_get_issuer_name(x), &iss);
    CK_CERTIFICATE_TYPE x509 = CKC_X_509, other = CKC_WTLS;
    CK_ATTRIBUTE t[] = {OT_ATTR(CKA_CLASS, c_cert), OT_ATTR(CKA_CERTIFICATE_TYPE, x509),
                        OT_BYTES(CKA_SUBJECT, subj, slen), OT_BYTES(CKA_VALUE, der, len),
                        OT_STR(CKA_LABEL, "cert")};
    struct st_object *o = NULL, *bad = NULL;
    assert_int_equal(st_object_create(t, OT_N(t), &o), CKR_OK);
    ot_assert_attr(o, CKA_ISSUER, iss, (size_t)ilen);
    ot_assert_attr(o, CKA_VALUE, der, len);
    unsigned char md[20];
    SHA1(der, len, md);
    ot_assert_attr(o, CKA_CHECK_VALUE, md, 3);
    assert_int_equal(ot_bool(o, CKA_TRUSTED), CK_FALSE);
    assert_int_equal(ot_ulong(o, CKA_CERTIFICATE_CATEGORY), 0);
    CK_ULONG sl = 0;
    CK_RV rv;
    free(ot_get(o, CKA_PUBLIC_KEY_INFO, &sl, &rv));
    assert_int_equal(rv, CKR_OK);
    assert_true(sl > 200);
    CK_BYTE date[8];
    CK_ATTRIBUTE sd = {CKA_START_DATE, date, sizeof(date)};
    assert_int_equal(st_object_get_attributes(o, &sd, 1), CKR_OK);
    assert_int_equal(sd.ulValueLen, 8);

    assert_int_equal(st_object_create(t, 3, &bad), CKR_TEMPLATE_INCOMPLETE); /* no value */
    CK_ATTRIBUTE nosubj[] = {t[0], t[1], t[3]};
    assert_int_equal(st_object_create(nosubj, 3, &bad), CKR_TEMPLATE_INCOMPLETE);
    CK_ATTRIBUTE junk[] = {t[0], t[1], t[2], OT_BYTES(CKA_VALUE, subj, slen)};
    assert_int_equal(st_object_create(junk, 4, &bad), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE wtls[] = {t[0], OT_ATTR(CKA_CERTIFICATE_TYPE, other), t[2], t[3]};
    assert_int_equal(st_object_create(wtls, 4, &bad), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE trusted[] = {t[0], t[1], t[2], t[3], OT_ATTR(CKA_TRUSTED, ot_true)};
    assert_int_equal(st_object_create(trusted, 5, &bad), CKR_ATTRIBUTE_READ_ONLY);
    assert_null(bad);
    CK_ATTRIBUTE newval[] = {OT_BYTES(CKA_VALUE, der, len)};
    assert_int_equal(st_object_set_attributes(o, newval, 1), CKR_ATTRIBUTE_READ_ONLY);
    OPENSSL_free(subj);
    OPENSSL_free(iss);
    X509_free(x);
    free(der);
    st_object_unref(o);
}

/* ---- set, copy, match ----------------------------------------------------------------------- */

static void test_set_transitions(void **state)
{
    (void)state;
    struct st_object *o = make_aes(CK_FALSE, CK_TRUE);
    CK_ATTRIBUTE label_and_bad[] = {OT_STR(CKA_LABEL, "new"), OT_ATTR(CKA_CLASS, c_data)};
    assert_int_equal(st_object_set_attributes(o, label_and_bad, 2), CKR_ATTRIBUTE_READ_ONLY);
    ot_assert_attr(o, CKA_LABEL, "", 0); /* all or nothing */
    CK_ATTRIBUTE label[] = {OT_STR(CKA_LABEL, "new"), OT_STR(CKA_ID, "id1")};
    assert_int_equal(st_object_set_attributes(o, label, 2), CKR_OK);
    ot_assert_attr(o, CKA_LABEL, "new", 3);

    CK_ATTRIBUTE sens_t[] = {OT_ATTR(CKA_SENSITIVE, ot_true)};
    CK_ATTRIBUTE sens_f[] = {OT_ATTR(CKA_SENSITIVE, ot_false)};
    CK_ATTRIBUTE extr_t[] = {OT_ATTR(CKA_EXTRACTABLE, ot_true)};
    CK_ATTRIBUTE extr_f[] = {OT_ATTR(CKA_EXTRACTABLE, ot_false)};
    assert_int_equal(st_object_set_attributes(o, sens_f, 1), CKR_OK); /* unchanged is fine */
    assert_int_equal(st_object_set_attributes(o, sens_t, 1), CKR_OK); /* FALSE -> TRUE */
    assert_int_equal(st_object_set_attributes(o, sens_f, 1), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(st_object_set_attributes(o, extr_f, 1), CKR_OK); /* TRUE -> FALSE */
    assert_int_equal(st_object_set_attributes(o, extr_t, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE wwt_t[] = {OT_ATTR(CKA_WRAP_WITH_TRUSTED, ot_true)};
    CK_ATTRIBUTE wwt_f[] = {OT_ATTR(CKA_WRAP_WITH_TRUSTED, ot_false)};
    assert_int_equal(st_object_set_attributes(o, wwt_t, 1), CKR_OK);
    assert_int_equal(st_object_set_attributes(o, wwt_f, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE trusted[] = {OT_ATTR(CKA_TRUSTED, ot_true)};
    assert_int_equal(st_object_set_attributes(o, trusted, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE fixed[] = {OT_ATTR(CKA_TOKEN, ot_true)};
    assert_int_equal(st_object_set_attributes(o, fixed, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE value[] = {OT_BYTES(CKA_VALUE, aes16, 16)};
    assert_int_equal(st_object_set_attributes(o, value, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE never[] = {OT_ATTR(CKA_ALWAYS_SENSITIVE, ot_true)};
    assert_int_equal(st_object_set_attributes(o, never, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE usage[] = {OT_ATTR(CKA_ENCRYPT, ot_false), OT_ATTR(CKA_DERIVE, ot_true)};
    assert_int_equal(st_object_set_attributes(o, usage, 2), CKR_OK);
    assert_false(st_object_attr_bool(o, CKA_ENCRYPT, true));
    assert_true(st_object_attr_bool(o, CKA_DERIVE, false));

    CK_ATTRIBUTE destroy_f[] = {OT_ATTR(CKA_DESTROYABLE, ot_false)};
    CK_ATTRIBUTE destroy_t[] = {OT_ATTR(CKA_DESTROYABLE, ot_true)};
    assert_int_equal(st_object_set_attributes(o, destroy_f, 1), CKR_OK);
    assert_false(st_object_is_destroyable(o));
    assert_int_equal(st_object_set_attributes(o, destroy_t, 1), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE modif[] = {OT_ATTR(CKA_MODIFIABLE, ot_false)};
    assert_int_equal(st_object_set_attributes(o, modif, 1), CKR_ATTRIBUTE_READ_ONLY);
    st_object_unref(o);

    CK_ATTRIBUTE ro[] = {OT_ATTR(CKA_CLASS, c_data), OT_ATTR(CKA_MODIFIABLE, ot_false)};
    assert_int_equal(st_object_create(ro, 2, &o), CKR_OK);
    assert_int_equal(st_object_set_attributes(o, label, 1), CKR_ACTION_PROHIBITED);
    st_object_unref(o);
}

static void test_copy(void **state)
{
    (void)state;
    struct st_object *o = make_aes(CK_FALSE, CK_TRUE), *c = NULL, *c2 = NULL;
    CK_ATTRIBUTE t[] = {OT_STR(CKA_LABEL, "copy"), OT_ATTR(CKA_MODIFIABLE, ot_false),
                        OT_ATTR(CKA_SENSITIVE, ot_true)};
    assert_int_equal(st_object_copy(o, t, OT_N(t), &c), CKR_OK);
    ot_assert_attr(c, CKA_LABEL, "copy", 4);
    assert_int_equal(ot_bool(c, CKA_MODIFIABLE), CK_FALSE);
    assert_int_equal(ot_bool(c, CKA_SENSITIVE), CK_TRUE);
    assert_int_equal(ot_bool(o, CKA_SENSITIVE), CK_FALSE); /* source untouched */
    assert_memory_equal(st_object_secret(c)->data, aes16, 16);
    assert_ptr_not_equal(st_object_secret(c), st_object_secret(o));
    CK_BYTE u1[32], u2[32];
    CK_ATTRIBUTE ua = {CKA_UNIQUE_ID, u1, sizeof(u1)}, ub = {CKA_UNIQUE_ID, u2, sizeof(u2)};
    assert_int_equal(st_object_get_attributes(o, &ua, 1), CKR_OK);
    assert_int_equal(st_object_get_attributes(c, &ub, 1), CKR_OK);
    assert_false(ua.ulValueLen == ub.ulValueLen && memcmp(u1, u2, ua.ulValueLen) == 0);

    /* the copy may not turn MODIFIABLE back on, nor change the value or class */
    CK_ATTRIBUTE back[] = {OT_ATTR(CKA_MODIFIABLE, ot_true)};
    assert_int_equal(st_object_copy(c, back, 1, &c2), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE cls[] = {OT_ATTR(CKA_CLASS, c_data)};
    assert_int_equal(st_object_copy(c, cls, 1, &c2), CKR_ATTRIBUTE_READ_ONLY);
    CK_ATTRIBUTE unsens[] = {OT_ATTR(CKA_SENSITIVE, ot_false)};
    assert_int_equal(st_object_copy(c, unsens, 1, &c2), CKR_ATTRIBUTE_READ_ONLY);
    assert_null(c2);

    CK_ATTRIBUTE nocopy[] = {OT_ATTR(CKA_COPYABLE, ot_false)};
    assert_int_equal(st_object_set_attributes(o, nocopy, 1), CKR_OK);
    assert_int_equal(st_object_copy(o, NULL, 0, &c2), CKR_ACTION_PROHIBITED);
    assert_null(c2);
    st_object_unref(c);
    st_object_unref(o);
}

static void test_match(void **state)
{
    (void)state;
    struct st_object *o = make_data("xyz");
    CK_ATTRIBUTE yes[] = {OT_ATTR(CKA_CLASS, c_data), OT_STR(CKA_LABEL, "data-label")};
    CK_ATTRIBUTE no_prefix[] = {OT_STR(CKA_LABEL, "data")};
    CK_ATTRIBUTE no_class[] = {OT_ATTR(CKA_CLASS, c_secret)};
    CK_ATTRIBUTE absent[] = {OT_STR(CKA_MODULUS, "x")};
    assert_true(st_object_match(o, NULL, 0));
    assert_true(st_object_match(o, yes, 2));
    assert_false(st_object_match(o, no_prefix, 1));
    assert_false(st_object_match(o, no_class, 1));
    assert_false(st_object_match(o, absent, 1));
    st_object_unref(o);
}

/* ---- asymmetric keys from components -------------------------------------------------------- */

static unsigned char *bn_param(EVP_PKEY *k, const char *name, CK_ULONG *len)
{
    BIGNUM *bn = NULL;
    assert_true(EVP_PKEY_get_bn_param(k, name, &bn));
    *len = (CK_ULONG)BN_num_bytes(bn);
    unsigned char *p = malloc(*len);
    BN_bn2bin(bn, p);
    BN_free(bn);
    return p;
}

static void test_rsa_components(void **state)
{
    (void)state;
    static const char *names[] = {"n",
                                  "e",
                                  "d",
                                  "rsa-factor1",
                                  "rsa-factor2",
                                  "rsa-exponent1",
                                  "rsa-exponent2",
                                  "rsa-coefficient1"};
    static const CK_ATTRIBUTE_TYPE types[] = {
            CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
            CKA_PRIME_2, CKA_EXPONENT_1,      CKA_EXPONENT_2,       CKA_COEFFICIENT};
    EVP_PKEY *k = fixture_key("rsa2048.p8.der");
    CK_ATTRIBUTE t[12] = {OT_ATTR(CKA_CLASS, c_priv), OT_ATTR(CKA_KEY_TYPE, k_rsa),
                          OT_ATTR(CKA_SENSITIVE, ot_false), OT_ATTR(CKA_EXTRACTABLE, ot_true)};
    for (int i = 0; i < 8; i++) {
        t[4 + i].type = types[i];
        t[4 + i].pValue = bn_param(k, names[i], &t[4 + i].ulValueLen);
    }
    struct st_object *priv = NULL, *pub = NULL;
    assert_int_equal(st_object_create(t, 12, &priv), CKR_OK);
    assert_int_equal(EVP_PKEY_eq(st_object_pkey(priv), k), 1);
    ot_assert_attr(priv, CKA_PRIVATE_EXPONENT, t[6].pValue, t[6].ulValueLen);
    ot_assert_attr(priv, CKA_MODULUS, t[4].pValue, t[4].ulValueLen);

    /* a sensitive copy refuses the component, and partial CRT sets are incomplete */
    CK_ATTRIBUTE sens[] = {OT_ATTR(CKA_SENSITIVE, ot_true)};
    assert_int_equal(st_object_set_attributes(priv, sens, 1), CKR_OK);
    CK_ATTRIBUTE d = {CKA_PRIVATE_EXPONENT, NULL, 0};
    assert_int_equal(st_object_get_attributes(priv, &d, 1), CKR_ATTRIBUTE_SENSITIVE);
    struct st_object *bad = NULL;
    assert_int_equal(st_object_create(t, 10, &bad), CKR_TEMPLATE_INCOMPLETE);
    assert_int_equal(st_object_create(t, 6, &bad), CKR_TEMPLATE_INCOMPLETE); /* no d */

    CK_ATTRIBUTE pt[] = {OT_ATTR(CKA_CLASS, c_pub), OT_ATTR(CKA_KEY_TYPE, k_rsa), t[4], t[5]};
    assert_int_equal(st_object_create(pt, OT_N(pt), &pub), CKR_OK);
    assert_int_equal(ot_ulong(pub, CKA_MODULUS_BITS), 2048);
    assert_true(st_object_same_public_key(pub, priv));
    CK_ULONG bits = 2048;
    CK_ATTRIBUTE pt_bits[] = {OT_ATTR(CKA_CLASS, c_pub), OT_ATTR(CKA_KEY_TYPE, k_rsa), t[4], t[5],
                              OT_ATTR(CKA_MODULUS_BITS, bits)};
    assert_int_equal(st_object_create(pt_bits, OT_N(pt_bits), &bad), CKR_TEMPLATE_INCONSISTENT);
    unsigned char even[1] = {4};
    CK_ATTRIBUTE pt_even[] = {OT_ATTR(CKA_CLASS, c_pub), OT_ATTR(CKA_KEY_TYPE, k_rsa), t[4],
                              OT_BYTES(CKA_PUBLIC_EXPONENT, even, 1)};
    assert_int_equal(st_object_create(pt_even, OT_N(pt_even), &bad), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_null(bad);
    for (int i = 4; i < 12; i++)
        free(t[i].pValue);
    st_object_unref(pub);
    st_object_unref(priv);
    EVP_PKEY_free(k);
}

static void test_ec_components(void **state)
{
    (void)state;
    EVP_PKEY *k = fixture_key("ec256.p8.der");
    CK_ULONG dlen, plen = 0;
    unsigned char *d = bn_param(k, "priv", &dlen);
    unsigned char point[65];
    size_t pl = 0;
    assert_true(EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", point, sizeof(point), &pl));
    assert_int_equal(pl, 65);
    CK_ATTRIBUTE t[] = {OT_ATTR(CKA_CLASS, c_priv), OT_ATTR(CKA_KEY_TYPE, k_ec),
                        OT_BYTES(CKA_EC_PARAMS, oid_p256, sizeof(oid_p256)),
                        OT_BYTES(CKA_VALUE, d, dlen)};
    struct st_object *priv = NULL, *pub = NULL, *pub2 = NULL, *bad = NULL;
    assert_int_equal(st_object_create(t, OT_N(t), &priv), CKR_OK);
    assert_int_equal(EVP_PKEY_eq(st_object_pkey(priv), k), 1);
    ot_assert_attr(priv, CKA_EC_PARAMS, oid_p256, sizeof(oid_p256));

    unsigned char der[67] = {0x04, 0x41};
    memcpy(der + 2, point, 65);
    CK_ATTRIBUTE p1[] = {OT_ATTR(CKA_CLASS, c_pub), OT_ATTR(CKA_KEY_TYPE, k_ec),
                         OT_BYTES(CKA_EC_PARAMS, oid_p256, sizeof(oid_p256)),
                         OT_BYTES(CKA_EC_POINT, der, sizeof(der))};
    assert_int_equal(st_object_create(p1, OT_N(p1), &pub), CKR_OK);
    ot_assert_attr(pub, CKA_EC_POINT, der, sizeof(der));
    CK_ATTRIBUTE p2[] = {OT_ATTR(CKA_CLASS, c_pub), OT_ATTR(CKA_KEY_TYPE, k_ec),
                         OT_BYTES(CKA_EC_PARAMS, oid_p256, sizeof(oid_p256)),
                         OT_BYTES(CKA_EC_POINT, point, sizeof(point))}; /* raw point accepted */
    assert_int_equal(st_object_create(p2, OT_N(p2), &pub2), CKR_OK);
    ot_assert_attr(pub2, CKA_EC_POINT, der, sizeof(der)); /* and stored as DER */
    assert_true(st_object_same_public_key(pub, priv));
    assert_true(st_object_same_public_key(pub2, pub));

    point[64] ^= 1; /* off the curve */
    assert_int_equal(st_object_create(p2, OT_N(p2), &bad), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE k1[] = {OT_ATTR(CKA_CLASS, c_priv), OT_ATTR(CKA_KEY_TYPE, k_ec),
                         OT_BYTES(CKA_EC_PARAMS, oid_k256, sizeof(oid_k256)),
                         OT_BYTES(CKA_VALUE, d, dlen)};
    assert_int_equal(st_object_create(k1, OT_N(k1), &bad), CKR_CURVE_NOT_SUPPORTED);
    CK_ATTRIBUTE ed[] = {OT_ATTR(CKA_CLASS, c_priv), OT_ATTR(CKA_KEY_TYPE, k_ec),
                         OT_BYTES(CKA_EC_PARAMS, oid_ed25519, sizeof(oid_ed25519)),
                         OT_BYTES(CKA_VALUE, d, dlen)};
    assert_int_equal(st_object_create(ed, OT_N(ed), &bad), CKR_TEMPLATE_INCONSISTENT);
    unsigned char big[32];
    memset(big, 0xff, sizeof(big)); /* above the group order */
    CK_ATTRIBUTE order[] = {OT_ATTR(CKA_CLASS, c_priv), OT_ATTR(CKA_KEY_TYPE, k_ec),
                            OT_BYTES(CKA_EC_PARAMS, oid_p256, sizeof(oid_p256)),
                            OT_BYTES(CKA_VALUE, big, sizeof(big))};
    assert_int_equal(st_object_create(order, OT_N(order), &bad), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_null(bad);
    (void)plen;
    free(d);
    st_object_unref(pub2);
    st_object_unref(pub);
    st_object_unref(priv);
    EVP_PKEY_free(k);
}

static void test_ed25519_components(void **state)
{
    (void)state;
    EVP_PKEY *k = fixture_key("ed25519.p8.der");
    unsigned char priv_raw[32], pub_raw[32];
    size_t l1 = 32, l2 = 32;
    assert_true(EVP_PKEY_get_raw_private_key(k, priv_raw, &l1));
    assert_true(EVP_PKEY_get_raw_public_key(k, pub_raw, &l2));
    CK_ATTRIBUTE t[] = {OT_ATTR(CKA_CLASS, c_priv), OT_ATTR(CKA_KEY_TYPE, k_ed),
                        OT_BYTES(CKA_EC_PARAMS, ps_ed25519, 14), OT_BYTES(CKA_VALUE, priv_raw, 32),
                        OT_ATTR(CKA_SENSITIVE, ot_false)};
    struct st_object *priv = NULL, *pub = NULL;
    assert_int_equal(st_object_create(t, OT_N(t), &priv), CKR_OK);
    ot_assert_attr(priv, CKA_EC_PARAMS, oid_ed25519, sizeof(oid_ed25519)); /* stored as OID */
    ot_assert_attr(priv, CKA_VALUE, priv_raw, 32);
    assert_int_equal(EVP_PKEY_eq(st_object_pkey(priv), k), 1);
    CK_ATTRIBUTE p[] = {OT_ATTR(CKA_CLASS, c_pub), OT_ATTR(CKA_KEY_TYPE, k_ed),
                        OT_BYTES(CKA_EC_PARAMS, oid_ed25519, sizeof(oid_ed25519)),
                        OT_BYTES(CKA_EC_POINT, pub_raw, 32)};
    assert_int_equal(st_object_create(p, OT_N(p), &pub), CKR_OK);
    unsigned char der[34] = {0x04, 0x20};
    memcpy(der + 2, pub_raw, 32);
    ot_assert_attr(pub, CKA_EC_POINT, der, sizeof(der));
    assert_true(st_object_same_public_key(pub, priv));
    OPENSSL_cleanse(priv_raw, sizeof(priv_raw));
    st_object_unref(pub);
    st_object_unref(priv);
    EVP_PKEY_free(k);
}

/* ---- origins through the internal constructors ---------------------------------------------- */

static void test_generate_origin(void **state)
{
    (void)state;
    EVP_PKEY *k = fixture_key("ec256.p8.der");
    CK_ATTRIBUTE pubt[] = {OT_ATTR(CKA_EC_PARAMS, oid_p256), OT_STR(CKA_LABEL, "gen"),
                           OT_ATTR(CKA_TOKEN, ot_false)};
    CK_ATTRIBUTE privt[] = {OT_ATTR(CKA_SENSITIVE, ot_true), OT_ATTR(CKA_EXTRACTABLE, ot_false),
                            OT_ATTR(CKA_KEY_TYPE, k_ec)};
    struct st_object *pub = NULL, *priv = NULL, *bad = NULL;
    assert_int_equal(EVP_PKEY_up_ref(k), 1);
    assert_int_equal(st_object_new_asym(k, CKO_PUBLIC_KEY, pubt, OT_N(pubt), ST_ORIGIN_GENERATE,
                                        CKM_EC_KEY_PAIR_GEN, &pub),
                     CKR_OK);
    assert_int_equal(st_object_new_asym(k, CKO_PRIVATE_KEY, privt, OT_N(privt), ST_ORIGIN_GENERATE,
                                        CKM_EC_KEY_PAIR_GEN, &priv),
                     CKR_OK);
    assert_int_equal(ot_ulong(priv, CKA_CLASS), CKO_PRIVATE_KEY);
    assert_int_equal(ot_ulong(pub, CKA_CLASS), CKO_PUBLIC_KEY);
    assert_int_equal(ot_ulong(pub, CKA_KEY_TYPE), CKK_EC);
    assert_int_equal(ot_bool(priv, CKA_LOCAL), CK_TRUE);
    assert_int_equal(ot_bool(priv, CKA_ALWAYS_SENSITIVE), CK_TRUE);
    assert_int_equal(ot_bool(priv, CKA_NEVER_EXTRACTABLE), CK_TRUE);
    assert_int_equal(ot_ulong(priv, CKA_KEY_GEN_MECHANISM), CKM_EC_KEY_PAIR_GEN);
    assert_int_equal(ot_ulong(pub, CKA_KEY_GEN_MECHANISM), CKM_EC_KEY_PAIR_GEN);
    ot_assert_attr(pub, CKA_LABEL, "gen", 3);
    /* the public object holds no private material */
    BIGNUM *bn = NULL;
    assert_false(EVP_PKEY_get_bn_param(st_object_pkey(pub), "priv", &bn));
    assert_true(st_object_same_public_key(pub, priv));

    /* generation may not carry key material, and the class/key type must agree */
    EVP_PKEY *k2 = fixture_key("ec256.p8.der");
    CK_ATTRIBUTE mat[] = {OT_BYTES(CKA_VALUE, aes16, 16)};
    assert_int_equal(st_object_new_asym(k2, CKO_PRIVATE_KEY, mat, 1, ST_ORIGIN_GENERATE,
                                        CKM_EC_KEY_PAIR_GEN, &bad),
                     CKR_TEMPLATE_INCONSISTENT);
    k2 = fixture_key("ec256.p8.der");
    CK_ATTRIBUTE kt[] = {OT_ATTR(CKA_KEY_TYPE, k_rsa)};
    assert_int_equal(st_object_new_asym(k2, CKO_PRIVATE_KEY, kt, 1, ST_ORIGIN_GENERATE,
                                        CKM_EC_KEY_PAIR_GEN, &bad),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_null(bad);
    st_object_unref(pub);
    st_object_unref(priv);
}

static void test_secret_origins(void **state)
{
    (void)state;
    CK_ULONG vl = 32;
    CK_ATTRIBUTE gt[] = {OT_ATTR(CKA_VALUE_LEN, vl), OT_ATTR(CKA_EXTRACTABLE, ot_false)};
    struct st_object *base = NULL, *derived = NULL, *bad = NULL;
    assert_int_equal(st_object_new_secret(u_secbuf_new(32), CKK_AES, gt, 2, ST_ORIGIN_GENERATE,
                                          CKM_AES_KEY_GEN, NULL, &base),
                     CKR_OK);
    assert_int_equal(ot_ulong(base, CKA_CLASS), CKO_SECRET_KEY);
    assert_int_equal(ot_ulong(base, CKA_KEY_TYPE), CKK_AES);
    assert_int_equal(ot_bool(base, CKA_LOCAL), CK_TRUE);
    assert_int_equal(ot_bool(base, CKA_ALWAYS_SENSITIVE), CK_TRUE);
    assert_int_equal(ot_bool(base, CKA_NEVER_EXTRACTABLE), CK_TRUE);
    assert_int_equal(ot_ulong(base, CKA_KEY_GEN_MECHANISM), CKM_AES_KEY_GEN);

    CK_ATTRIBUTE dt[] = {OT_ATTR(CKA_SENSITIVE, ot_true)}; /* extractable by default */
    assert_int_equal(st_object_new_secret(u_secbuf_new(16), CKK_GENERIC_SECRET, dt, 1,
                                          ST_ORIGIN_DERIVE, CK_UNAVAILABLE_INFORMATION, base,
                                          &derived),
                     CKR_OK);
    assert_int_equal(ot_bool(derived, CKA_LOCAL), CK_FALSE);
    assert_int_equal(ot_bool(derived, CKA_ALWAYS_SENSITIVE), CK_TRUE);
    assert_int_equal(ot_bool(derived, CKA_NEVER_EXTRACTABLE), CK_FALSE);

    assert_int_equal(st_object_new_secret(u_secbuf_new(15), CKK_AES, NULL, 0, ST_ORIGIN_UNWRAP,
                                          CK_UNAVAILABLE_INFORMATION, NULL, &bad),
                     CKR_KEY_SIZE_RANGE);
    CK_ATTRIBUTE wrong_len[] = {OT_ATTR(CKA_VALUE_LEN, vl)};
    assert_int_equal(st_object_new_secret(u_secbuf_new(16), CKK_AES, wrong_len, 1, ST_ORIGIN_UNWRAP,
                                          CK_UNAVAILABLE_INFORMATION, NULL, &bad),
                     CKR_TEMPLATE_INCONSISTENT);
    assert_null(bad);
    st_object_unref(derived);
    st_object_unref(base);
}

/* ---- wiping --------------------------------------------------------------------------------- */

static void test_wipe_on_last_unref(void **state)
{
    (void)state;
    struct st_object *o = make_data("top-secret-data");
    const CK_ATTRIBUTE *v = st_attrs_get(&o->attrs, CKA_VALUE);
    assert_non_null(v);
    st_object_ref(o); /* a running operation's reference */
    g_watch = true;
    g_watch_ptr = v->pValue;
    g_watch_len = v->ulValueLen;
    g_watch_wiped = false;
    st_object_unref(o);
    assert_false(g_watch_wiped); /* still referenced */
    st_object_unref(o);
    assert_true(g_watch_wiped); /* the value was cleansed (and read back as zero) before free */

    struct st_object *k = make_aes(CK_TRUE, CK_FALSE);
    g_watch_ptr = NULL;
    g_watch_buf = st_object_secret(k);
    g_watch_buf_freed = false;
    st_object_unref(k);
    assert_true(g_watch_buf_freed); /* the key bytes went through the wiping free */
    g_watch = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_data_object),
            cmocka_unit_test(test_get_rules),
            cmocka_unit_test(test_secret_create),
            cmocka_unit_test(test_secret_errors),
            cmocka_unit_test(test_generic_secret),
            cmocka_unit_test(test_cert_create),
            cmocka_unit_test(test_set_transitions),
            cmocka_unit_test(test_copy),
            cmocka_unit_test(test_match),
            cmocka_unit_test(test_rsa_components),
            cmocka_unit_test(test_ec_components),
            cmocka_unit_test(test_ed25519_components),
            cmocka_unit_test(test_generate_origin),
            cmocka_unit_test(test_secret_origins),
            cmocka_unit_test(test_wipe_on_last_unref),
    };
    return cmocka_run_group_tests(tests, ot_setup, ot_teardown);
}
