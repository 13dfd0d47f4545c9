/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attribute policy: the per-class tables of PKCS#11 3.0 §4 (common storage, key, public,
 * private, secret, RSA, EC/EdDSA, data and X.509 certificate attributes) and st_attr_apply(),
 * which checks every template against them (kryoptic src/object/factory.rs is the model).
 */
#include "st_attr_policy.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "u_macros.h"

/* A template value larger than this is refused: no attribute we keep is near it. */
#define ST_ATTR_MAX_LEN (1024UL * 1024UL)

#define F_REQ     ST_AF_REQUIRED_ON_CREATE
#define F_NEVER   ST_AF_NEVER_SETTABLE
#define F_FIXED   ST_AF_ONLY_ON_CREATE
#define F_SENS    ST_AF_SENSITIVE
#define F_TOFALSE ST_AF_CHANGE_TO_FALSE
#define F_TOTRUE  ST_AF_CHANGE_TO_TRUE
#define F_COPY    ST_AF_CHANGE_ON_COPY
#define F_MAT     ST_AF_MATERIAL
#define F_GEN     ST_AF_GEN_PARAM
#define F_NOTCR   ST_AF_NOT_ON_CREATE
#define F_DEF     ST_AF_DEFAULT
#define F_SO      ST_AF_TRUE_NEEDS_SO
#define F_CHK     ST_AF_CHECKED

/* Flags that make an attribute a creation-time one: never changed by set or copy. */
#define F_CREATE_TIME (F_FIXED | F_MAT | F_GEN | F_NOTCR | F_CHK)

/* PKCS#11 3.0 §4.4 common storage attributes (CKA_PRIVATE is per class: its default differs). */
static const struct st_attr_rule r_storage[] = {
        {CKA_CLASS, F_REQ | F_FIXED, ST_AK_ULONG, 0},
        {CKA_TOKEN, F_FIXED | F_COPY | F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_MODIFIABLE, F_FIXED | F_COPY | F_TOFALSE | F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_LABEL, F_DEF, ST_AK_BYTES, 0},
        {CKA_COPYABLE, F_TOFALSE | F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_DESTROYABLE, F_TOFALSE | F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_UNIQUE_ID, F_NEVER, ST_AK_BYTES, 0},
};

/* §4.5 data objects. */
static const struct st_attr_rule r_data[] = {
        {CKA_PRIVATE, F_FIXED | F_COPY | F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_APPLICATION, F_DEF, ST_AK_BYTES, 0},
        {CKA_OBJECT_ID, F_DEF, ST_AK_BYTES, 0},
        {CKA_VALUE, F_DEF, ST_AK_BYTES, 0},
};

/* §4.6 certificates, §4.6.3 X.509 public key certificates. */
static const struct st_attr_rule r_cert[] = {
        {CKA_PRIVATE, F_FIXED | F_COPY | F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_CERTIFICATE_TYPE, F_REQ | F_FIXED, ST_AK_ULONG, 0},
        {CKA_TRUSTED, F_SO | F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_CERTIFICATE_CATEGORY, F_FIXED | F_DEF, ST_AK_ULONG, 0},
        {CKA_CHECK_VALUE, F_CHK, ST_AK_BYTES, 0},
        {CKA_START_DATE, F_DEF, ST_AK_DATE, 0},
        {CKA_END_DATE, F_DEF, ST_AK_DATE, 0},
        {CKA_PUBLIC_KEY_INFO, F_CHK, ST_AK_BYTES, 0},
        {CKA_SUBJECT, F_REQ | F_FIXED, ST_AK_BYTES, 0},
        {CKA_ID, F_DEF, ST_AK_BYTES, 0},
        {CKA_ISSUER, F_FIXED | F_DEF, ST_AK_BYTES, 0},
        {CKA_SERIAL_NUMBER, F_FIXED | F_DEF, ST_AK_BYTES, 0},
        {CKA_VALUE, F_REQ | F_FIXED, ST_AK_BYTES, 0},
        {CKA_URL, F_FIXED | F_DEF, ST_AK_BYTES, 0},
        {CKA_HASH_OF_SUBJECT_PUBLIC_KEY, F_FIXED | F_DEF, ST_AK_BYTES, 0},
        {CKA_HASH_OF_ISSUER_PUBLIC_KEY, F_FIXED | F_DEF, ST_AK_BYTES, 0},
        {CKA_JAVA_MIDP_SECURITY_DOMAIN, F_FIXED | F_DEF, ST_AK_ULONG, 0},
        {CKA_NAME_HASH_ALGORITHM, F_FIXED | F_DEF, ST_AK_ULONG, CKM_SHA_1},
};

/* §4.7 common key attributes. */
static const struct st_attr_rule r_key[] = {
        {CKA_KEY_TYPE, F_REQ | F_FIXED, ST_AK_ULONG, 0},
        {CKA_ID, F_DEF, ST_AK_BYTES, 0},
        {CKA_START_DATE, F_DEF, ST_AK_DATE, 0},
        {CKA_END_DATE, F_DEF, ST_AK_DATE, 0},
        {CKA_DERIVE, F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_LOCAL, F_NEVER, ST_AK_BOOL, 0},
        {CKA_KEY_GEN_MECHANISM, F_NEVER, ST_AK_ULONG, 0},
        {CKA_ALLOWED_MECHANISMS, F_DEF, ST_AK_MECHS, 0},
};

/* §4.8 public keys. */
static const struct st_attr_rule r_public[] = {
        {CKA_PRIVATE, F_FIXED | F_COPY | F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_SUBJECT, F_DEF, ST_AK_BYTES, 0},
        {CKA_ENCRYPT, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_VERIFY, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_VERIFY_RECOVER, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_WRAP, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_TRUSTED, F_SO | F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_PUBLIC_KEY_INFO, F_CHK, ST_AK_BYTES, 0},
};

/* §4.9 private keys. */
static const struct st_attr_rule r_private[] = {
        {CKA_PRIVATE, F_FIXED | F_COPY | F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_SUBJECT, F_DEF, ST_AK_BYTES, 0},
        {CKA_SENSITIVE, F_TOTRUE | F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_DECRYPT, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_SIGN, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_SIGN_RECOVER, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_UNWRAP, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_EXTRACTABLE, F_TOFALSE | F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_ALWAYS_SENSITIVE, F_NEVER, ST_AK_BOOL, 0},
        {CKA_NEVER_EXTRACTABLE, F_NEVER, ST_AK_BOOL, 0},
        {CKA_WRAP_WITH_TRUSTED, F_TOTRUE | F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_ALWAYS_AUTHENTICATE, F_FIXED | F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_PUBLIC_KEY_INFO, F_CHK, ST_AK_BYTES, 0},
};

/* §4.10 secret keys. */
static const struct st_attr_rule r_secret[] = {
        {CKA_PRIVATE, F_FIXED | F_COPY | F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_SENSITIVE, F_TOTRUE | F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_ENCRYPT, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_DECRYPT, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_SIGN, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_VERIFY, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_WRAP, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_UNWRAP, F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_EXTRACTABLE, F_TOFALSE | F_DEF, ST_AK_BOOL, CK_TRUE},
        {CKA_ALWAYS_SENSITIVE, F_NEVER, ST_AK_BOOL, 0},
        {CKA_NEVER_EXTRACTABLE, F_NEVER, ST_AK_BOOL, 0},
        {CKA_CHECK_VALUE, F_CHK, ST_AK_BYTES, 0},
        {CKA_WRAP_WITH_TRUSTED, F_TOTRUE | F_DEF, ST_AK_BOOL, CK_FALSE},
        {CKA_TRUSTED, F_SO | F_DEF, ST_AK_BOOL, CK_FALSE},
};

/* PKCS#11 3.0 mechanisms §2.1.2/§2.1.3: RSA public and private key objects. The public exponent
 * is required on create of a private key too: OpenSSL needs it to use the key. */
static const struct st_attr_rule r_rsa_pub[] = {
        {CKA_MODULUS, F_MAT | F_REQ, ST_AK_BYTES, 0},
        {CKA_MODULUS_BITS, F_NOTCR | F_GEN, ST_AK_ULONG, 0},
        {CKA_PUBLIC_EXPONENT, F_MAT | F_REQ | F_GEN, ST_AK_BYTES, 0},
};
static const struct st_attr_rule r_rsa_priv[] = {
        {CKA_MODULUS, F_MAT | F_REQ, ST_AK_BYTES, 0},
        {CKA_PUBLIC_EXPONENT, F_MAT | F_REQ | F_GEN, ST_AK_BYTES, 0},
        {CKA_PRIVATE_EXPONENT, F_MAT | F_REQ | F_SENS, ST_AK_BYTES, 0},
        {CKA_PRIME_1, F_MAT | F_SENS, ST_AK_BYTES, 0},
        {CKA_PRIME_2, F_MAT | F_SENS, ST_AK_BYTES, 0},
        {CKA_EXPONENT_1, F_MAT | F_SENS, ST_AK_BYTES, 0},
        {CKA_EXPONENT_2, F_MAT | F_SENS, ST_AK_BYTES, 0},
        {CKA_COEFFICIENT, F_MAT | F_SENS, ST_AK_BYTES, 0},
};

/* §2.3.3/§2.3.4 EC and §2.3.5/§2.3.6 EdDSA keys share the layout. */
static const struct st_attr_rule r_ec_pub[] = {
        {CKA_EC_PARAMS, F_MAT | F_REQ | F_GEN, ST_AK_BYTES, 0},
        {CKA_EC_POINT, F_MAT | F_REQ, ST_AK_BYTES, 0},
};
static const struct st_attr_rule r_ec_priv[] = {
        {CKA_EC_PARAMS, F_MAT | F_REQ | F_GEN, ST_AK_BYTES, 0},
        {CKA_VALUE, F_MAT | F_REQ | F_SENS, ST_AK_BYTES, 0},
};

/* §2.8.2 AES and §2.38.? generic secret keys. */
static const struct st_attr_rule r_secret_value[] = {
        {CKA_VALUE, F_MAT | F_REQ | F_SENS, ST_AK_BYTES, 0},
        {CKA_VALUE_LEN, F_NOTCR | F_GEN, ST_AK_ULONG, 0},
};

struct seg {
    const struct st_attr_rule *r;
    size_t n;
};

#define SEG(a)   ((struct seg){(a), U_ARRAY_SIZE(a)})
#define MAX_SEGS 4

static size_t key_segments(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, struct seg *s)
{
    bool ec = kt == CKK_EC || kt == CKK_EC_EDWARDS;
    s[0] = SEG(r_storage);
    s[1] = SEG(r_key);
    if (cls == CKO_PUBLIC_KEY && (kt == CKK_RSA || ec)) {
        s[2] = SEG(r_public);
        s[3] = kt == CKK_RSA ? SEG(r_rsa_pub) : SEG(r_ec_pub);
        return 4;
    }
    if (cls == CKO_PRIVATE_KEY && (kt == CKK_RSA || ec)) {
        s[2] = SEG(r_private);
        s[3] = kt == CKK_RSA ? SEG(r_rsa_priv) : SEG(r_ec_priv);
        return 4;
    }
    if (cls == CKO_SECRET_KEY && (kt == CKK_AES || kt == CKK_GENERIC_SECRET)) {
        s[2] = SEG(r_secret);
        s[3] = SEG(r_secret_value);
        return 4;
    }
    return 0;
}

/* The tables of one class/key type; 0 when unsupported. */
static size_t segments(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, struct seg s[MAX_SEGS])
{
    switch (cls) {
    case CKO_DATA:
        s[0] = SEG(r_storage);
        s[1] = SEG(r_data);
        return 2;
    case CKO_CERTIFICATE:
        s[0] = SEG(r_storage);
        s[1] = SEG(r_cert);
        return 2;
    default:
        return key_segments(cls, kt, s);
    }
}

const struct st_attr_rule *st_attr_rule_find(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt,
                                             CK_ATTRIBUTE_TYPE type)
{
    struct seg s[MAX_SEGS];
    size_t ns = segments(cls, kt, s);
    for (size_t i = 0; i < ns; i++) {
        for (size_t j = 0; j < s[i].n; j++) {
            if (s[i].r[j].type == type)
                return &s[i].r[j];
        }
    }
    return NULL;
}

bool st_attr_class_supported(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    struct seg s[MAX_SEGS];
    return segments(cls, kt, s) > 0;
}

static bool date_valid(const CK_ATTRIBUTE *a)
{
    if (a->ulValueLen == 0)
        return true;
    if (a->ulValueLen != sizeof(CK_DATE))
        return false;
    const CK_BYTE *p = a->pValue;
    for (size_t i = 0; i < sizeof(CK_DATE); i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
    }
    return true;
}

CK_RV st_attr_check_value(const struct st_attr_rule *r, const CK_ATTRIBUTE *a)
{
    if (a->ulValueLen > ST_ATTR_MAX_LEN || (a->pValue == NULL && a->ulValueLen != 0))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    switch (r->kind) {
    case ST_AK_BOOL:
        return a->ulValueLen == sizeof(CK_BBOOL) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case ST_AK_ULONG:
        return a->ulValueLen == sizeof(CK_ULONG) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case ST_AK_DATE:
        return date_valid(a) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    case ST_AK_MECHS:
        return a->ulValueLen % sizeof(CK_MECHANISM_TYPE) == 0 ? CKR_OK
                                                              : CKR_ATTRIBUTE_VALUE_INVALID;
    case ST_AK_BYTES:
    default:
        return CKR_OK;
    }
}

static bool tmpl_bool(const CK_ATTRIBUTE *a)
{
    return *(const CK_BBOOL *)a->pValue != CK_FALSE;
}

static CK_ULONG tmpl_ulong(const CK_ATTRIBUTE *a)
{
    CK_ULONG v;
    memcpy(&v, a->pValue, sizeof(v));
    return v;
}

static bool is_create_like(enum st_attr_op op)
{
    return op != ST_AOP_COPY && op != ST_AOP_SET;
}

/* Permission of one (valid, well-formed) attribute for `op`, before transitions. */
static CK_RV check_op(enum st_attr_op op, const struct st_attr_rule *r)
{
    unsigned int f = r->flags;
    if (f & F_NEVER)
        return CKR_ATTRIBUTE_READ_ONLY;
    switch (op) {
    case ST_AOP_SET:
        return (f & F_CREATE_TIME) ? CKR_ATTRIBUTE_READ_ONLY : CKR_OK;
    case ST_AOP_COPY:
        if ((f & F_CREATE_TIME) && !(f & F_COPY))
            return CKR_ATTRIBUTE_READ_ONLY;
        return CKR_OK;
    case ST_AOP_CREATE:
        return (f & F_NOTCR) ? CKR_TEMPLATE_INCONSISTENT : CKR_OK;
    default:
        /* generate, unwrap, derive, import: material comes from the mechanism */
        if ((f & (F_MAT | F_CHK)) && !(f & F_GEN))
            return CKR_TEMPLATE_INCONSISTENT;
        return CKR_OK;
    }
}

/* Class/key type in a template must agree with the object being made. */
static CK_RV check_identity(enum st_attr_op op, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt,
                            const CK_ATTRIBUTE *a)
{
    if (a->type != CKA_CLASS && a->type != CKA_KEY_TYPE)
        return CKR_OK;
    CK_ULONG want = a->type == CKA_CLASS ? cls : kt;
    if (tmpl_ulong(a) == want)
        return CKR_OK;
    return is_create_like(op) ? CKR_TEMPLATE_INCONSISTENT : CKR_ATTRIBUTE_READ_ONLY;
}

/* Set/copy direction rules for booleans (PKCS#11 3.0 §4.9 table footnotes 11, 12). */
static CK_RV check_transition(enum st_attr_op op, const struct st_attr_rule *r,
                              const CK_ATTRIBUTE *a, const struct st_attrs *cur)
{
    if (r->kind != ST_AK_BOOL)
        return CKR_OK;
    bool v = tmpl_bool(a);
    if ((r->flags & F_SO) && v)
        return CKR_ATTRIBUTE_READ_ONLY;
    if (is_create_like(op))
        return CKR_OK;
    bool old = st_attrs_bool(cur, a->type, r->dflt != CK_FALSE);
    if ((r->flags & F_TOFALSE) && v && !old)
        return CKR_ATTRIBUTE_READ_ONLY;
    if ((r->flags & F_TOTRUE) && !v && old)
        return CKR_ATTRIBUTE_READ_ONLY;
    return CKR_OK;
}

/* Same type twice with different values is ambiguous (§5.1 template consistency). */
static CK_RV check_duplicate(const CK_ATTRIBUTE *tmpl, CK_ULONG i)
{
    for (CK_ULONG j = 0; j < i; j++) {
        if (tmpl[j].type != tmpl[i].type)
            continue;
        if (tmpl[j].ulValueLen != tmpl[i].ulValueLen ||
            (tmpl[i].ulValueLen && memcmp(tmpl[j].pValue, tmpl[i].pValue, tmpl[i].ulValueLen)))
            return CKR_TEMPLATE_INCONSISTENT;
    }
    return CKR_OK;
}

static CK_RV check_one(enum st_attr_op op, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt,
                       const CK_ATTRIBUTE *tmpl, CK_ULONG i, const struct st_attrs *cur)
{
    const CK_ATTRIBUTE *a = &tmpl[i];
    const struct st_attr_rule *r = st_attr_rule_find(cls, kt, a->type);
    if (r == NULL)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    CK_RV rv = st_attr_check_value(r, a);
    if (rv != CKR_OK)
        return rv;
    rv = check_op(op, r);
    if (rv != CKR_OK)
        return rv;
    rv = check_identity(op, cls, kt, a);
    if (rv != CKR_OK)
        return rv;
    rv = check_transition(op, r, a, cur);
    if (rv != CKR_OK)
        return rv;
    return check_duplicate(tmpl, i);
}

static bool tmpl_has(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE t)
{
    for (CK_ULONG i = 0; i < n; i++) {
        if (tmpl[i].type == t)
            return true;
    }
    return false;
}

/* Create-like ops: required attributes present (create only), then defaults filled. */
static CK_RV complete(enum st_attr_op op, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt,
                      const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_attrs *attrs)
{
    struct seg s[MAX_SEGS];
    size_t ns = segments(cls, kt, s);
    for (size_t i = 0; i < ns; i++) {
        for (size_t j = 0; j < s[i].n; j++) {
            const struct st_attr_rule *r = &s[i].r[j];
            if (op == ST_AOP_CREATE && (r->flags & F_REQ) && !tmpl_has(tmpl, n, r->type))
                return CKR_TEMPLATE_INCOMPLETE;
        }
    }
    for (size_t i = 0; i < ns; i++) {
        for (size_t j = 0; j < s[i].n; j++) {
            const struct st_attr_rule *r = &s[i].r[j];
            if (!(r->flags & F_DEF) || st_attrs_get(attrs, r->type) != NULL)
                continue;
            CK_RV rv = CKR_OK;
            if (r->kind == ST_AK_BOOL)
                rv = st_attrs_put_bool(attrs, r->type, r->dflt != CK_FALSE);
            else if (r->kind == ST_AK_ULONG)
                rv = st_attrs_put_ulong(attrs, r->type, r->dflt);
            else
                rv = st_attrs_put(attrs, r->type, NULL, 0);
            if (rv != CKR_OK)
                return rv;
        }
    }
    return CKR_OK;
}

/* What a create-like op keeps from the template: not material, not parameters. */
static bool stored_from_template(enum st_attr_op op, const struct st_attr_rule *r)
{
    if (!is_create_like(op))
        return true;
    return !(r->flags & (F_MAT | F_GEN | F_NOTCR | F_CHK));
}

CK_RV st_attr_apply(enum st_attr_op op, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt,
                    const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_attrs *attrs)
{
    U_RETURN_IF_FAIL(attrs != NULL, CKR_GENERAL_ERROR);
    U_RETURN_IF_FAIL(tmpl != NULL || n == 0, CKR_ARGUMENTS_BAD);
    if (!st_attr_class_supported(cls, kt))
        return CKR_TEMPLATE_INCONSISTENT;
    for (CK_ULONG i = 0; i < n; i++) {
        CK_RV rv = check_one(op, cls, kt, tmpl, i, attrs);
        if (rv != CKR_OK)
            return rv;
    }
    for (CK_ULONG i = 0; i < n; i++) {
        const struct st_attr_rule *r = st_attr_rule_find(cls, kt, tmpl[i].type);
        if (!stored_from_template(op, r))
            continue;
        CK_RV rv = r->kind == ST_AK_BOOL
                           ? st_attrs_put_bool(attrs, r->type, tmpl_bool(&tmpl[i]))
                           : st_attrs_put(attrs, r->type, tmpl[i].pValue, tmpl[i].ulValueLen);
        if (rv != CKR_OK)
            return rv;
    }
    if (!is_create_like(op))
        return CKR_OK;
    return complete(op, cls, kt, tmpl, n, attrs);
}

/* ---- the attribute store ------------------------------------------------------------------- */

const CK_ATTRIBUTE *st_attrs_get(const struct st_attrs *s, CK_ATTRIBUTE_TYPE t)
{
    for (CK_ULONG i = 0; i < s->n; i++) {
        if (s->v[i].type == t)
            return &s->v[i];
    }
    return NULL;
}

bool st_attrs_bool(const struct st_attrs *s, CK_ATTRIBUTE_TYPE t, bool dflt)
{
    const CK_ATTRIBUTE *a = st_attrs_get(s, t);
    if (a == NULL || a->ulValueLen != sizeof(CK_BBOOL))
        return dflt;
    return *(const CK_BBOOL *)a->pValue != CK_FALSE;
}

static void value_free(CK_ATTRIBUTE *a)
{
    if (a->pValue != NULL) {
        OPENSSL_cleanse(a->pValue, a->ulValueLen);
        free(a->pValue);
    }
    a->pValue = NULL;
    a->ulValueLen = 0;
}

CK_RV st_attrs_put(struct st_attrs *s, CK_ATTRIBUTE_TYPE t, const void *p, CK_ULONG len)
{
    void *copy = malloc(len ? len : 1);
    if (copy == NULL)
        return CKR_HOST_MEMORY;
    if (len)
        memcpy(copy, p, len);
    CK_ATTRIBUTE *slot = NULL;
    for (CK_ULONG i = 0; i < s->n && slot == NULL; i++) {
        if (s->v[i].type == t)
            slot = &s->v[i];
    }
    if (slot == NULL) {
        if (s->n == s->cap) {
            CK_ULONG cap = s->cap ? s->cap * 2 : 24;
            CK_ATTRIBUTE *v = realloc(s->v, cap * sizeof(*v));
            if (v == NULL) {
                free(copy);
                return CKR_HOST_MEMORY;
            }
            s->v = v;
            s->cap = cap;
        }
        slot = &s->v[s->n++];
        slot->type = t;
        slot->pValue = NULL;
        slot->ulValueLen = 0;
    }
    value_free(slot);
    slot->pValue = copy;
    slot->ulValueLen = len;
    return CKR_OK;
}

CK_RV st_attrs_put_bool(struct st_attrs *s, CK_ATTRIBUTE_TYPE t, bool v)
{
    CK_BBOOL b = v ? CK_TRUE : CK_FALSE;
    return st_attrs_put(s, t, &b, sizeof(b));
}

CK_RV st_attrs_put_ulong(struct st_attrs *s, CK_ATTRIBUTE_TYPE t, CK_ULONG v)
{
    return st_attrs_put(s, t, &v, sizeof(v));
}

CK_RV st_attrs_dup(const struct st_attrs *src, struct st_attrs *dst)
{
    for (CK_ULONG i = 0; i < src->n; i++) {
        CK_RV rv = st_attrs_put(dst, src->v[i].type, src->v[i].pValue, src->v[i].ulValueLen);
        if (rv != CKR_OK) {
            st_attrs_cleanup(dst);
            return rv;
        }
    }
    return CKR_OK;
}

void st_attrs_cleanup(struct st_attrs *s)
{
    for (CK_ULONG i = 0; i < s->n; i++)
        value_free(&s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
    s->cap = 0;
}
