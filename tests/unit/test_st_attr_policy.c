/* SPDX-License-Identifier: Apache-2.0 */
/*
 * st_attr_policy.c: the per-class tables and st_attr_apply. For every supported class/key type:
 * which attributes are valid, which are required, computed (read-only), sensitive, and how
 * set/copy transitions behave; defaults filled on create; template length rules.
 */
#define _POSIX_C_SOURCE 200809L
#include "st_object_test.h"

struct kind {
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt;
};

static const struct kind kinds[] = {
        {CKO_DATA, CK_UNAVAILABLE_INFORMATION},
        {CKO_CERTIFICATE, CK_UNAVAILABLE_INFORMATION},
        {CKO_PUBLIC_KEY, CKK_RSA},
        {CKO_PRIVATE_KEY, CKK_RSA},
        {CKO_PUBLIC_KEY, CKK_EC},
        {CKO_PRIVATE_KEY, CKK_EC},
        {CKO_PUBLIC_KEY, CKK_EC_EDWARDS},
        {CKO_PRIVATE_KEY, CKK_EC_EDWARDS},
        {CKO_SECRET_KEY, CKK_AES},
        {CKO_SECRET_KEY, CKK_GENERIC_SECRET},
};

static bool is_key(CK_OBJECT_CLASS c)
{
    return c == CKO_PUBLIC_KEY || c == CKO_PRIVATE_KEY || c == CKO_SECRET_KEY;
}

static bool is_secret_holder(CK_OBJECT_CLASS c)
{
    return c == CKO_PRIVATE_KEY || c == CKO_SECRET_KEY;
}

static void test_supported(void **state)
{
    (void)state;
    for (size_t i = 0; i < OT_N(kinds); i++)
        assert_true(st_attr_class_supported(kinds[i].cls, kinds[i].kt));
    assert_false(st_attr_class_supported(CKO_SECRET_KEY, CKK_DES3));
    assert_false(st_attr_class_supported(CKO_PRIVATE_KEY, CKK_DSA));
    assert_false(st_attr_class_supported(CKO_HW_FEATURE, CK_UNAVAILABLE_INFORMATION));
    assert_false(st_attr_class_supported(CKO_PUBLIC_KEY, CKK_AES));
}

/* Every class: common storage attributes, and their flags. */
static void test_common_rules(void **state)
{
    (void)state;
    static const CK_ATTRIBUTE_TYPE common[] = {CKA_CLASS,       CKA_TOKEN,    CKA_PRIVATE,
                                               CKA_MODIFIABLE,  CKA_LABEL,    CKA_COPYABLE,
                                               CKA_DESTROYABLE, CKA_UNIQUE_ID};
    for (size_t i = 0; i < OT_N(kinds); i++) {
        const struct kind *k = &kinds[i];
        for (size_t j = 0; j < OT_N(common); j++)
            assert_non_null(st_attr_rule_find(k->cls, k->kt, common[j]));
        const struct st_attr_rule *r = st_attr_rule_find(k->cls, k->kt, CKA_CLASS);
        assert_true(r->flags & ST_AF_REQUIRED_ON_CREATE);
        assert_true(r->flags & ST_AF_ONLY_ON_CREATE);
        r = st_attr_rule_find(k->cls, k->kt, CKA_UNIQUE_ID);
        assert_true(r->flags & ST_AF_NEVER_SETTABLE);
        r = st_attr_rule_find(k->cls, k->kt, CKA_COPYABLE);
        assert_true(r->flags & ST_AF_CHANGE_TO_FALSE);
        r = st_attr_rule_find(k->cls, k->kt, CKA_PRIVATE);
        assert_int_equal(r->dflt, is_secret_holder(k->cls) ? CK_TRUE : CK_FALSE);
        /* key attributes only on keys */
        assert_true((st_attr_rule_find(k->cls, k->kt, CKA_KEY_TYPE) != NULL) == is_key(k->cls));
        assert_true((st_attr_rule_find(k->cls, k->kt, CKA_LOCAL) != NULL) == is_key(k->cls));
        /* sensitive/extractable only where there is a secret */
        const struct st_attr_rule *s = st_attr_rule_find(k->cls, k->kt, CKA_SENSITIVE);
        assert_true((s != NULL) == is_secret_holder(k->cls));
        if (s != NULL) {
            assert_true(s->flags & ST_AF_CHANGE_TO_TRUE);
            r = st_attr_rule_find(k->cls, k->kt, CKA_EXTRACTABLE);
            assert_true(r->flags & ST_AF_CHANGE_TO_FALSE);
            assert_true(st_attr_rule_find(k->cls, k->kt, CKA_ALWAYS_SENSITIVE)->flags &
                        ST_AF_NEVER_SETTABLE);
            assert_true(st_attr_rule_find(k->cls, k->kt, CKA_NEVER_EXTRACTABLE)->flags &
                        ST_AF_NEVER_SETTABLE);
        }
        assert_null(st_attr_rule_find(k->cls, k->kt, CKA_VENDOR_DEFINED | 1));
        assert_null(st_attr_rule_find(k->cls, k->kt, CKA_WRAP_TEMPLATE));
    }
}

/* The attributes holding secrets are exactly the private components. */
static void test_sensitive_flags(void **state)
{
    (void)state;
    static const CK_ATTRIBUTE_TYPE rsa_secret[] = {CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
                                                   CKA_PRIME_2,          CKA_EXPONENT_1,
                                                   CKA_EXPONENT_2,       CKA_COEFFICIENT};
    for (size_t i = 0; i < OT_N(rsa_secret); i++) {
        const struct st_attr_rule *r = st_attr_rule_find(CKO_PRIVATE_KEY, CKK_RSA, rsa_secret[i]);
        assert_non_null(r);
        assert_true(r->flags & ST_AF_SENSITIVE);
        assert_null(st_attr_rule_find(CKO_PUBLIC_KEY, CKK_RSA, rsa_secret[i]));
    }
    assert_false(st_attr_rule_find(CKO_PRIVATE_KEY, CKK_RSA, CKA_MODULUS)->flags & ST_AF_SENSITIVE);
    assert_true(st_attr_rule_find(CKO_PRIVATE_KEY, CKK_EC, CKA_VALUE)->flags & ST_AF_SENSITIVE);
    assert_true(st_attr_rule_find(CKO_PRIVATE_KEY, CKK_EC_EDWARDS, CKA_VALUE)->flags &
                ST_AF_SENSITIVE);
    assert_true(st_attr_rule_find(CKO_SECRET_KEY, CKK_AES, CKA_VALUE)->flags & ST_AF_SENSITIVE);
    assert_false(st_attr_rule_find(CKO_DATA, CK_UNAVAILABLE_INFORMATION, CKA_VALUE)->flags &
                 ST_AF_SENSITIVE);
    assert_false(st_attr_rule_find(CKO_CERTIFICATE, CK_UNAVAILABLE_INFORMATION, CKA_VALUE)->flags &
                 ST_AF_SENSITIVE);
    assert_null(st_attr_rule_find(CKO_PUBLIC_KEY, CKK_EC, CKA_VALUE));
    assert_null(st_attr_rule_find(CKO_PRIVATE_KEY, CKK_EC, CKA_EC_POINT));
}

/* Required on create: per class. */
static void test_required(void **state)
{
    (void)state;
    struct {
        CK_OBJECT_CLASS cls;
        CK_KEY_TYPE kt;
        CK_ATTRIBUTE_TYPE t;
    } req[] = {
            {CKO_CERTIFICATE, CK_UNAVAILABLE_INFORMATION, CKA_CERTIFICATE_TYPE},
            {CKO_CERTIFICATE, CK_UNAVAILABLE_INFORMATION, CKA_SUBJECT},
            {CKO_CERTIFICATE, CK_UNAVAILABLE_INFORMATION, CKA_VALUE},
            {CKO_PUBLIC_KEY, CKK_RSA, CKA_MODULUS},
            {CKO_PUBLIC_KEY, CKK_RSA, CKA_PUBLIC_EXPONENT},
            {CKO_PRIVATE_KEY, CKK_RSA, CKA_PRIVATE_EXPONENT},
            {CKO_PUBLIC_KEY, CKK_EC, CKA_EC_PARAMS},
            {CKO_PUBLIC_KEY, CKK_EC, CKA_EC_POINT},
            {CKO_PRIVATE_KEY, CKK_EC_EDWARDS, CKA_VALUE},
            {CKO_SECRET_KEY, CKK_AES, CKA_VALUE},
            {CKO_SECRET_KEY, CKK_AES, CKA_KEY_TYPE},
    };
    for (size_t i = 0; i < OT_N(req); i++) {
        const struct st_attr_rule *r = st_attr_rule_find(req[i].cls, req[i].kt, req[i].t);
        assert_non_null(r);
        assert_true(r->flags & ST_AF_REQUIRED_ON_CREATE);
    }
    /* and enforced by st_attr_apply */
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    CK_ATTRIBUTE t[] = {OT_ATTR(CKA_CLASS, c), OT_ATTR(CKA_KEY_TYPE, kt)};
    struct st_attrs s = {0};
    assert_int_equal(st_attr_apply(ST_AOP_CREATE, c, kt, t, 2, &s), CKR_TEMPLATE_INCOMPLETE);
    st_attrs_cleanup(&s);
    /* not on generate: the mechanism makes the value */
    assert_int_equal(st_attr_apply(ST_AOP_GENERATE, c, kt, t, 2, &s), CKR_OK);
    st_attrs_cleanup(&s);
}

/* Defaults on create; material is parsed by the caller, never stored from the template. */
static void test_defaults_and_material(void **state)
{
    (void)state;
    CK_OBJECT_CLASS c = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_AES;
    unsigned char v[16] = {1};
    CK_ATTRIBUTE t[] = {OT_ATTR(CKA_CLASS, c), OT_ATTR(CKA_KEY_TYPE, kt),
                        OT_BYTES(CKA_VALUE, v, 16), OT_ATTR(CKA_SIGN, ot_false)};
    struct st_attrs s = {0};
    assert_int_equal(st_attr_apply(ST_AOP_CREATE, c, kt, t, OT_N(t), &s), CKR_OK);
    assert_null(st_attrs_get(&s, CKA_VALUE));
    assert_false(st_attrs_bool(&s, CKA_SIGN, true));
    assert_true(st_attrs_bool(&s, CKA_ENCRYPT, false));      /* default TRUE */
    assert_true(st_attrs_bool(&s, CKA_SENSITIVE, false));    /* default TRUE */
    assert_false(st_attrs_bool(&s, CKA_TOKEN, true));        /* default FALSE */
    assert_false(st_attrs_bool(&s, CKA_DERIVE, true));       /* default FALSE */
    assert_false(st_attrs_bool(&s, CKA_TRUSTED, true));      /* default FALSE */
    const CK_ATTRIBUTE *label = st_attrs_get(&s, CKA_LABEL); /* default empty */
    assert_non_null(label);
    assert_int_equal(label->ulValueLen, 0);
    st_attrs_cleanup(&s);
    assert_int_equal(s.n, 0);
}

/* Template length rules: CK_BBOOL and CK_ULONG sizes, dates, mechanism arrays. */
static void test_value_lengths(void **state)
{
    (void)state;
    const struct st_attr_rule *b = st_attr_rule_find(CKO_SECRET_KEY, CKK_AES, CKA_ENCRYPT);
    const struct st_attr_rule *u = st_attr_rule_find(CKO_SECRET_KEY, CKK_AES, CKA_KEY_TYPE);
    const struct st_attr_rule *d = st_attr_rule_find(CKO_SECRET_KEY, CKK_AES, CKA_START_DATE);
    const struct st_attr_rule *m =
            st_attr_rule_find(CKO_SECRET_KEY, CKK_AES, CKA_ALLOWED_MECHANISMS);
    const struct st_attr_rule *l = st_attr_rule_find(CKO_SECRET_KEY, CKK_AES, CKA_LABEL);
    CK_BYTE buf[16] = {0};
    CK_ATTRIBUTE a = {0, buf, 0};
    a.ulValueLen = 1;
    assert_int_equal(st_attr_check_value(b, &a), CKR_OK);
    a.ulValueLen = 0;
    assert_int_equal(st_attr_check_value(b, &a), CKR_ATTRIBUTE_VALUE_INVALID);
    a.ulValueLen = 4;
    assert_int_equal(st_attr_check_value(b, &a), CKR_ATTRIBUTE_VALUE_INVALID);
    a.ulValueLen = sizeof(CK_ULONG);
    assert_int_equal(st_attr_check_value(u, &a), CKR_OK);
    a.ulValueLen = 4;
    assert_int_equal(st_attr_check_value(u, &a), CKR_ATTRIBUTE_VALUE_INVALID);
    memcpy(buf, "20240131", 8);
    a.ulValueLen = 8;
    assert_int_equal(st_attr_check_value(d, &a), CKR_OK);
    a.ulValueLen = 0;
    assert_int_equal(st_attr_check_value(d, &a), CKR_OK); /* empty date */
    memcpy(buf, "2024-1-1", 8);
    a.ulValueLen = 8;
    assert_int_equal(st_attr_check_value(d, &a), CKR_ATTRIBUTE_VALUE_INVALID);
    a.ulValueLen = 2 * sizeof(CK_MECHANISM_TYPE);
    assert_int_equal(st_attr_check_value(m, &a), CKR_OK);
    a.ulValueLen = sizeof(CK_MECHANISM_TYPE) + 1;
    assert_int_equal(st_attr_check_value(m, &a), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE null_bytes = {CKA_LABEL, NULL, 3};
    assert_int_equal(st_attr_check_value(l, &null_bytes), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE huge = {CKA_LABEL, buf, CK_UNAVAILABLE_INFORMATION};
    assert_int_equal(st_attr_check_value(l, &huge), CKR_ATTRIBUTE_VALUE_INVALID);
    CK_ATTRIBUTE empty = {CKA_LABEL, NULL, 0};
    assert_int_equal(st_attr_check_value(l, &empty), CKR_OK);
}

/* Per-op permissions: computed attributes, generate-only parameters, material. */
static void test_op_permissions(void **state)
{
    (void)state;
    CK_ULONG bits = 2048, len = 16;
    struct st_attrs s = {0};
    CK_ATTRIBUTE mb[] = {OT_ATTR(CKA_MODULUS_BITS, bits)};
    assert_int_equal(st_attr_apply(ST_AOP_GENERATE, CKO_PUBLIC_KEY, CKK_RSA, mb, 1, &s), CKR_OK);
    assert_null(st_attrs_get(&s, CKA_MODULUS_BITS)); /* a parameter: the key decides */
    st_attrs_cleanup(&s);
    assert_int_equal(st_attr_apply(ST_AOP_CREATE, CKO_PUBLIC_KEY, CKK_RSA, mb, 1, &s),
                     CKR_TEMPLATE_INCONSISTENT);
    st_attrs_cleanup(&s);
    CK_ATTRIBUTE vl[] = {OT_ATTR(CKA_VALUE_LEN, len)};
    assert_int_equal(st_attr_apply(ST_AOP_UNWRAP, CKO_SECRET_KEY, CKK_AES, vl, 1, &s), CKR_OK);
    st_attrs_cleanup(&s);
    assert_int_equal(st_attr_apply(ST_AOP_DERIVE, CKO_SECRET_KEY, CKK_AES, vl, 1, &s), CKR_OK);
    st_attrs_cleanup(&s);
    unsigned char n[4] = {1, 2, 3, 4};
    CK_ATTRIBUTE mod[] = {OT_BYTES(CKA_MODULUS, n, 4)};
    assert_int_equal(st_attr_apply(ST_AOP_GENERATE, CKO_PUBLIC_KEY, CKK_RSA, mod, 1, &s),
                     CKR_TEMPLATE_INCONSISTENT);
    st_attrs_cleanup(&s);
    static const CK_ATTRIBUTE_TYPE computed[] = {CKA_LOCAL, CKA_KEY_GEN_MECHANISM,
                                                 CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
                                                 CKA_UNIQUE_ID};
    for (size_t i = 0; i < OT_N(computed); i++) {
        CK_ULONG v = 0;
        CK_BBOOL bv = CK_TRUE;
        CK_ATTRIBUTE a = {computed[i], &v, sizeof(v)};
        if (computed[i] != CKA_KEY_GEN_MECHANISM && computed[i] != CKA_UNIQUE_ID) {
            a.pValue = &bv;
            a.ulValueLen = 1;
        }
        for (int op = ST_AOP_CREATE; op <= ST_AOP_SET; op++) {
            assert_int_equal(st_attr_apply(op, CKO_PRIVATE_KEY, CKK_EC, &a, 1, &s),
                             CKR_ATTRIBUTE_READ_ONLY);
            st_attrs_cleanup(&s);
        }
    }
}

/* Set and copy transitions against an existing store. */
static void test_transitions(void **state)
{
    (void)state;
    struct st_attrs s = {0};
    assert_int_equal(st_attrs_put_bool(&s, CKA_SENSITIVE, false), CKR_OK);
    assert_int_equal(st_attrs_put_bool(&s, CKA_EXTRACTABLE, true), CKR_OK);
    assert_int_equal(st_attrs_put_bool(&s, CKA_MODIFIABLE, true), CKR_OK);
    assert_int_equal(st_attrs_put_bool(&s, CKA_TOKEN, false), CKR_OK);
    CK_ATTRIBUTE st = {CKA_SENSITIVE, &ot_true, 1}, sf = {CKA_SENSITIVE, &ot_false, 1};
    CK_ATTRIBUTE et = {CKA_EXTRACTABLE, &ot_true, 1}, ef = {CKA_EXTRACTABLE, &ot_false, 1};
    CK_ATTRIBUTE mf = {CKA_MODIFIABLE, &ot_false, 1}, mt = {CKA_MODIFIABLE, &ot_true, 1};
    CK_ATTRIBUTE tt = {CKA_TOKEN, &ot_true, 1};
    const CK_OBJECT_CLASS c = CKO_PRIVATE_KEY;
    const CK_KEY_TYPE k = CKK_EC;
    assert_int_equal(st_attr_apply(ST_AOP_SET, c, k, &st, 1, &s), CKR_OK);
    assert_true(st_attrs_bool(&s, CKA_SENSITIVE, false));
    assert_int_equal(st_attr_apply(ST_AOP_SET, c, k, &sf, 1, &s), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(st_attr_apply(ST_AOP_COPY, c, k, &sf, 1, &s), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(st_attr_apply(ST_AOP_SET, c, k, &ef, 1, &s), CKR_OK);
    assert_int_equal(st_attr_apply(ST_AOP_SET, c, k, &et, 1, &s), CKR_ATTRIBUTE_READ_ONLY);
    /* MODIFIABLE and TOKEN: fixed for set, changeable (MODIFIABLE only to FALSE) on copy */
    assert_int_equal(st_attr_apply(ST_AOP_SET, c, k, &mf, 1, &s), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(st_attr_apply(ST_AOP_SET, c, k, &tt, 1, &s), CKR_ATTRIBUTE_READ_ONLY);
    assert_int_equal(st_attr_apply(ST_AOP_COPY, c, k, &tt, 1, &s), CKR_OK);
    assert_int_equal(st_attr_apply(ST_AOP_COPY, c, k, &mf, 1, &s), CKR_OK);
    assert_int_equal(st_attr_apply(ST_AOP_COPY, c, k, &mt, 1, &s), CKR_ATTRIBUTE_READ_ONLY);
    st_attrs_cleanup(&s);
}

static void test_store(void **state)
{
    (void)state;
    struct st_attrs s = {0}, d = {0};
    for (CK_ULONG i = 0; i < 100; i++)
        assert_int_equal(st_attrs_put(&s, CKA_VENDOR_DEFINED + i, &i, sizeof(i)), CKR_OK);
    assert_int_equal(s.n, 100);
    assert_int_equal(st_attrs_put(&s, CKA_VENDOR_DEFINED + 5, "x", 1), CKR_OK); /* replace */
    assert_int_equal(s.n, 100);
    assert_int_equal(st_attrs_dup(&s, &d), CKR_OK);
    const CK_ATTRIBUTE *a = st_attrs_get(&d, CKA_VENDOR_DEFINED + 5);
    assert_int_equal(a->ulValueLen, 1);
    assert_ptr_not_equal(a->pValue, st_attrs_get(&s, CKA_VENDOR_DEFINED + 5)->pValue);
    st_attrs_cleanup(&s);
    st_attrs_cleanup(&d);
    assert_null(st_attrs_get(&s, CKA_VENDOR_DEFINED));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_supported),
            cmocka_unit_test(test_common_rules),
            cmocka_unit_test(test_sensitive_flags),
            cmocka_unit_test(test_required),
            cmocka_unit_test(test_defaults_and_material),
            cmocka_unit_test(test_value_lengths),
            cmocka_unit_test(test_op_permissions),
            cmocka_unit_test(test_transitions),
            cmocka_unit_test(test_store),
    };
    return cmocka_run_group_tests(tests, ot_setup, ot_teardown);
}
