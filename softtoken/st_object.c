/* SPDX-License-Identifier: Apache-2.0 */
#define _POSIX_C_SOURCE 200809L /* pthread_rwlock_t */
/*
 * Objects: reference-counted attribute sets with their key material parsed once (EVP_PKEY for
 * public/private keys, a secure-heap buffer for secret keys). Attributes are guarded by a
 * per-object rwlock; key material is immutable. The last reference wipes everything (kryoptic
 * zeroizes attributes on drop; we OPENSSL_cleanse every value).
 */
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_object_priv.h"
#include "u_macros.h"
#include "u_rv.h"

static atomic_ulong g_unique_id;

struct st_object *st_object_alloc(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt)
{
    struct st_object *o = calloc(1, sizeof(*o));
    if (o == NULL)
        return NULL;
    if (pthread_rwlock_init(&o->lock, NULL) != 0) {
        free(o);
        return NULL;
    }
    atomic_init(&o->refs, 1);
    atomic_init(&o->destroyable, true);
    o->cls = cls;
    o->kt = kt;
    return o;
}

void st_object_ref(struct st_object *o)
{
    if (o != NULL)
        atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

void st_object_unref(struct st_object *o)
{
    if (o == NULL)
        return;
    if (atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) != 1)
        return;
    st_attrs_cleanup(&o->attrs);
    EVP_PKEY_free(o->pkey); /* OpenSSL clears private BIGNUMs / raw keys on free */
    u_secbuf_free(o->secret);
    pthread_rwlock_destroy(&o->lock);
    OPENSSL_cleanse(o, sizeof(*o));
    free(o);
}

static enum st_attr_op op_of(enum st_origin origin)
{
    switch (origin) {
    case ST_ORIGIN_CREATE:
        return ST_AOP_CREATE;
    case ST_ORIGIN_UNWRAP:
        return ST_AOP_UNWRAP;
    case ST_ORIGIN_DERIVE:
        return ST_AOP_DERIVE;
    case ST_ORIGIN_IMPORT:
        return ST_AOP_IMPORT;
    case ST_ORIGIN_GENERATE:
    case ST_ORIGIN_COPY:
    default:
        return ST_AOP_GENERATE;
    }
}

/* PKCS#11 3.0 §4.9/§4.10: how ALWAYS_SENSITIVE and NEVER_EXTRACTABLE follow the origin. */
static CK_RV finish_secret_history(struct st_object *o, enum st_origin origin,
                                   struct st_object *base)
{
    bool sens = st_attrs_bool(&o->attrs, CKA_SENSITIVE, false);
    bool extr = st_attrs_bool(&o->attrs, CKA_EXTRACTABLE, true);
    bool always = false, never = false;
    if (origin == ST_ORIGIN_GENERATE || origin == ST_ORIGIN_IMPORT) {
        always = sens;
        never = !extr;
    } else if (origin == ST_ORIGIN_DERIVE && base != NULL) {
        always = sens && st_object_attr_bool(base, CKA_ALWAYS_SENSITIVE, false);
        never = !extr && st_object_attr_bool(base, CKA_NEVER_EXTRACTABLE, false);
    }
    CK_RV rv = st_attrs_put_bool(&o->attrs, CKA_ALWAYS_SENSITIVE, always);
    if (rv == CKR_OK)
        rv = st_attrs_put_bool(&o->attrs, CKA_NEVER_EXTRACTABLE, never);
    return rv;
}

/* Key-source objects: the token is write-protected and released keys stay in it. */
static CK_RV force_import(struct st_object *o)
{
    CK_RV rv = st_attrs_put_bool(&o->attrs, CKA_MODIFIABLE, false);
    if (rv == CKR_OK)
        rv = st_attrs_put_bool(&o->attrs, CKA_DESTROYABLE, false);
    if (rv == CKR_OK && (o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY)) {
        rv = st_attrs_put_bool(&o->attrs, CKA_SENSITIVE, true);
        if (rv == CKR_OK)
            rv = st_attrs_put_bool(&o->attrs, CKA_EXTRACTABLE, false);
    }
    return rv;
}

static CK_RV put_unique_id(struct st_object *o)
{
    char buf[32];
    unsigned long id = atomic_fetch_add(&g_unique_id, 1) + 1;
    int len = snprintf(buf, sizeof(buf), "%lu", id);
    return st_attrs_put(&o->attrs, CKA_UNIQUE_ID, buf, (CK_ULONG)len);
}

static void cache_flags(struct st_object *o)
{
    o->token = st_attrs_bool(&o->attrs, CKA_TOKEN, false);
    o->private_ = st_attrs_bool(&o->attrs, CKA_PRIVATE, false);
    atomic_store(&o->destroyable, st_attrs_bool(&o->attrs, CKA_DESTROYABLE, true));
}

CK_RV st_object_finish(struct st_object *o, enum st_origin origin, CK_MECHANISM_TYPE mech,
                       struct st_object *base)
{
    /* class and key type are always present, whatever the template said (generate, import) */
    CK_RV rv = st_attrs_put_ulong(&o->attrs, CKA_CLASS, o->cls);
    if (rv == CKR_OK && o->kt != CK_UNAVAILABLE_INFORMATION)
        rv = st_attrs_put_ulong(&o->attrs, CKA_KEY_TYPE, o->kt);
    if (rv == CKR_OK)
        rv = put_unique_id(o);
    if (rv == CKR_OK && origin == ST_ORIGIN_IMPORT)
        rv = force_import(o);
    bool key = o->cls == CKO_PUBLIC_KEY || o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY;
    if (rv == CKR_OK && key) {
        rv = st_attrs_put_bool(&o->attrs, CKA_LOCAL, origin == ST_ORIGIN_GENERATE);
        if (rv == CKR_OK)
            rv = st_attrs_put_ulong(&o->attrs, CKA_KEY_GEN_MECHANISM,
                                    origin == ST_ORIGIN_GENERATE ? mech
                                                                 : CK_UNAVAILABLE_INFORMATION);
    }
    if (rv == CKR_OK && (o->cls == CKO_PRIVATE_KEY || o->cls == CKO_SECRET_KEY))
        rv = finish_secret_history(o, origin, base);
    if (rv == CKR_OK)
        cache_flags(o);
    return rv;
}

/* ---- small accessors --------------------------------------------------------------------- */

CK_OBJECT_CLASS st_object_class(const struct st_object *o)
{
    return o->cls;
}

CK_KEY_TYPE st_object_key_type(const struct st_object *o)
{
    return o->kt;
}

bool st_object_is_token(const struct st_object *o)
{
    return o->token;
}

bool st_object_is_private(const struct st_object *o)
{
    return o->private_;
}

bool st_object_is_destroyable(const struct st_object *o)
{
    return atomic_load(&o->destroyable);
}

EVP_PKEY *st_object_pkey(const struct st_object *o)
{
    return o != NULL ? o->pkey : NULL;
}

const struct u_secbuf *st_object_secret(const struct st_object *o)
{
    return o != NULL ? o->secret : NULL;
}

bool st_object_attr_bool(struct st_object *o, CK_ATTRIBUTE_TYPE t, bool dflt)
{
    pthread_rwlock_rdlock(&o->lock);
    bool v = st_attrs_bool(&o->attrs, t, dflt);
    pthread_rwlock_unlock(&o->lock);
    return v;
}

/* CKA_ALLOWED_MECHANISMS of `s` (absent or empty: every mechanism) admits `m`. Lock held. */
static bool mechs_admit(const struct st_attrs *s, CK_MECHANISM_TYPE m)
{
    const CK_ATTRIBUTE *a = st_attrs_get(s, CKA_ALLOWED_MECHANISMS);
    if (a == NULL || a->ulValueLen == 0)
        return true;
    for (CK_ULONG i = 0; i < a->ulValueLen / sizeof(CK_MECHANISM_TYPE); i++) {
        CK_MECHANISM_TYPE x;
        memcpy(&x, (const CK_BYTE *)a->pValue + i * sizeof(x), sizeof(x));
        if (x == m)
            return true;
    }
    return false;
}

bool st_key_mech_allowed(struct st_object *key, CK_MECHANISM_TYPE m)
{
    pthread_rwlock_rdlock(&key->lock);
    bool ok = mechs_admit(&key->attrs, m);
    pthread_rwlock_unlock(&key->lock);
    return ok;
}

CK_RV st_object_check_use(struct st_object *key, CK_ATTRIBUTE_TYPE usage, CK_MECHANISM_TYPE m)
{
    CK_RV rv = CKR_KEY_FUNCTION_NOT_PERMITTED;
    pthread_rwlock_rdlock(&key->lock);
    if (st_attrs_bool(&key->attrs, usage, false))
        rv = mechs_admit(&key->attrs, m) ? CKR_OK : CKR_MECHANISM_INVALID;
    pthread_rwlock_unlock(&key->lock);
    return rv;
}

CK_RV st_object_attr_ulong(struct st_object *o, CK_ATTRIBUTE_TYPE t, CK_ULONG *out)
{
    CK_RV rv = CKR_ATTRIBUTE_TYPE_INVALID;
    pthread_rwlock_rdlock(&o->lock);
    const CK_ATTRIBUTE *a = st_attrs_get(&o->attrs, t);
    if (a != NULL && a->ulValueLen == sizeof(CK_ULONG)) {
        memcpy(out, a->pValue, sizeof(CK_ULONG));
        rv = CKR_OK;
    }
    pthread_rwlock_unlock(&o->lock);
    return rv;
}

const CK_ATTRIBUTE *st_tmpl_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE t)
{
    if (tmpl == NULL)
        return NULL;
    for (CK_ULONG i = 0; i < n; i++) {
        if (tmpl[i].type == t)
            return &tmpl[i];
    }
    return NULL;
}

static CK_RV copy_attr_out(struct st_object *o, CK_ATTRIBUTE_TYPE t, CK_BYTE_PTR out,
                           CK_ULONG_PTR len)
{
    U_RETURN_IF_FAIL(o != NULL && len != NULL, CKR_ARGUMENTS_BAD);
    pthread_rwlock_rdlock(&o->lock);
    const CK_ATTRIBUTE *a = st_attrs_get(&o->attrs, t);
    CK_RV rv = CKR_OK;
    if (a == NULL || a->ulValueLen == 0)
        *len = 0;
    else
        rv = u_copy_out(a->pValue, a->ulValueLen, out, len);
    pthread_rwlock_unlock(&o->lock);
    return rv;
}

CK_RV st_object_id(struct st_object *o, CK_BYTE_PTR out, CK_ULONG_PTR len)
{
    return copy_attr_out(o, CKA_ID, out, len);
}

CK_RV st_object_label(struct st_object *o, CK_BYTE_PTR out, CK_ULONG_PTR len)
{
    return copy_attr_out(o, CKA_LABEL, out, len);
}

/* ---- construction -------------------------------------------------------------------------- */

CK_RV st_object_check_computed(struct st_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    static const CK_ATTRIBUTE_TYPE computed[] = {CKA_CHECK_VALUE, CKA_PUBLIC_KEY_INFO};
    for (size_t i = 0; i < U_ARRAY_SIZE(computed); i++) {
        const CK_ATTRIBUTE *t = st_tmpl_find(tmpl, n, computed[i]);
        if (t == NULL || t->ulValueLen == 0)
            continue; /* absent or "unknown": nothing to check */
        const CK_ATTRIBUTE *a = st_attrs_get(&o->attrs, computed[i]);
        if (a == NULL || a->ulValueLen != t->ulValueLen ||
            memcmp(a->pValue, t->pValue, t->ulValueLen) != 0)
            return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    return CKR_OK;
}

/* Public-only copy, so a public-key object never holds private material. */
static CK_RV public_only(EVP_PKEY **pkey)
{
    EVP_PKEY *pub = st_pkey_public_dup(*pkey);
    if (pub == NULL)
        return CKR_FUNCTION_FAILED;
    EVP_PKEY_free(*pkey);
    *pkey = pub;
    return CKR_OK;
}

/* Everything after the EVP_PKEY is in place: public attributes, template checks, history. */
static CK_RV asym_complete(struct st_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                           enum st_origin origin, CK_MECHANISM_TYPE mech)
{
    CK_RV rv = st_key_public_attrs(o);
    if (rv != CKR_OK)
        return rv;
    if (origin == ST_ORIGIN_CREATE) {
        rv = st_object_check_computed(o, tmpl, n);
        if (rv != CKR_OK)
            return rv;
    }
    return st_object_finish(o, origin, mech, NULL);
}

/* `copy_public`: make the public-only copy of a CKO_PUBLIC_KEY's key (false: known public). */
static CK_RV new_asym(EVP_PKEY *pkey, CK_OBJECT_CLASS cls, bool copy_public,
                      const CK_ATTRIBUTE *tmpl, CK_ULONG n, enum st_origin origin,
                      CK_MECHANISM_TYPE mech, struct st_object **out)
{
    U_RETURN_IF_FAIL(pkey != NULL, CKR_ARGUMENTS_BAD);
    CK_RV rv = CKR_GENERAL_ERROR;
    struct st_object *o = NULL;
    CK_KEY_TYPE kt = st_key_type_of(pkey);

    if (out == NULL || (tmpl == NULL && n > 0)) {
        rv = CKR_ARGUMENTS_BAD;
        goto out;
    }
    if (kt == CK_UNAVAILABLE_INFORMATION || (cls != CKO_PUBLIC_KEY && cls != CKO_PRIVATE_KEY)) {
        rv = CKR_TEMPLATE_INCONSISTENT;
        goto out;
    }
    if (cls == CKO_PUBLIC_KEY && copy_public) {
        rv = public_only(&pkey);
        if (rv != CKR_OK)
            goto out;
    }
    o = st_object_alloc(cls, kt);
    if (o == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    o->pkey = pkey;
    pkey = NULL;
    rv = st_attr_apply(op_of(origin), cls, kt, tmpl, n, &o->attrs);
    if (rv != CKR_OK)
        goto out;
    rv = asym_complete(o, tmpl, n, origin, mech);
    if (rv != CKR_OK)
        goto out;
    *out = o;
    o = NULL;
out:
    EVP_PKEY_free(pkey);
    st_object_unref(o);
    return rv;
}

CK_RV st_object_new_asym(EVP_PKEY *pkey, CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                         enum st_origin origin, CK_MECHANISM_TYPE mech, struct st_object **out)
{
    return new_asym(pkey, cls, true, tmpl, n, origin, mech, out);
}

CK_RV st_object_new_public(EVP_PKEY *pub, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                           enum st_origin origin, CK_MECHANISM_TYPE mech, struct st_object **out)
{
    return new_asym(pub, CKO_PUBLIC_KEY, false, tmpl, n, origin, mech, out);
}

static CK_RV secret_len_valid(CK_KEY_TYPE kt, size_t len)
{
    if (kt == CKK_AES)
        return (len == 16 || len == 24 || len == 32) ? CKR_OK : CKR_KEY_SIZE_RANGE;
    if (kt == CKK_GENERIC_SECRET)
        return len > 0 ? CKR_OK : CKR_KEY_SIZE_RANGE;
    return CKR_TEMPLATE_INCONSISTENT;
}

/* Computed secret-key attributes, and CKA_VALUE_LEN of a generate/derive template honoured. */
static CK_RV secret_complete(struct st_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    unsigned char cv[3];
    const CK_ATTRIBUTE *vl = st_tmpl_find(tmpl, n, CKA_VALUE_LEN);
    CK_ULONG len = (CK_ULONG)o->secret->len;
    if (vl != NULL && memcmp(vl->pValue, &len, sizeof(len)) != 0)
        return CKR_TEMPLATE_INCONSISTENT;
    CK_RV rv = st_attrs_put_ulong(&o->attrs, CKA_VALUE_LEN, len);
    if (rv == CKR_OK)
        rv = st_secret_check_value(o->kt, o->secret, cv);
    if (rv == CKR_OK)
        rv = st_attrs_put(&o->attrs, CKA_CHECK_VALUE, cv, sizeof(cv));
    return rv;
}

CK_RV st_object_new_secret(struct u_secbuf *value, CK_KEY_TYPE kt, const CK_ATTRIBUTE *tmpl,
                           CK_ULONG n, enum st_origin origin, CK_MECHANISM_TYPE mech,
                           struct st_object *base, struct st_object **out)
{
    U_RETURN_IF_FAIL(value != NULL, CKR_ARGUMENTS_BAD);
    CK_RV rv = CKR_GENERAL_ERROR;
    struct st_object *o = NULL;

    if (out == NULL || (tmpl == NULL && n > 0)) {
        rv = CKR_ARGUMENTS_BAD;
        goto out;
    }
    rv = secret_len_valid(kt, value->len);
    if (rv != CKR_OK)
        goto out;
    o = st_object_alloc(CKO_SECRET_KEY, kt);
    if (o == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    o->secret = value;
    value = NULL;
    rv = st_attr_apply(op_of(origin), CKO_SECRET_KEY, kt, tmpl, n, &o->attrs);
    if (rv == CKR_OK)
        rv = secret_complete(o, tmpl, n);
    if (rv == CKR_OK && origin == ST_ORIGIN_CREATE)
        rv = st_object_check_computed(o, tmpl, n);
    if (rv == CKR_OK)
        rv = st_object_finish(o, origin, mech, base);
    if (rv != CKR_OK)
        goto out;
    *out = o;
    o = NULL;
out:
    u_secbuf_free(value);
    st_object_unref(o);
    return rv;
}

/* C_CreateObject of a key from its components. */
static CK_RV create_asym(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt,
                         struct st_object **out)
{
    CK_RV rv = CKR_GENERAL_ERROR;
    struct st_object *o = st_object_alloc(cls, kt);
    if (o == NULL)
        return CKR_HOST_MEMORY;
    rv = st_attr_apply(ST_AOP_CREATE, cls, kt, tmpl, n, &o->attrs);
    if (rv != CKR_OK)
        goto out;
    rv = st_key_from_template(cls, kt, tmpl, n, &o->pkey);
    if (rv != CKR_OK)
        goto out;
    rv = asym_complete(o, tmpl, n, ST_ORIGIN_CREATE, CK_UNAVAILABLE_INFORMATION);
    if (rv != CKR_OK)
        goto out;
    *out = o;
    o = NULL;
out:
    st_object_unref(o);
    return rv;
}

static CK_RV create_secret(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_KEY_TYPE kt,
                           struct st_object **out)
{
    const CK_ATTRIBUTE *v = st_tmpl_find(tmpl, n, CKA_VALUE);
    if (v == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (v->pValue == NULL || v->ulValueLen > 1024 * 1024 ||
        secret_len_valid(kt, v->ulValueLen) != CKR_OK)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    struct u_secbuf *b = u_secbuf_dup(v->pValue, v->ulValueLen);
    if (b == NULL)
        return CKR_HOST_MEMORY;
    return st_object_new_secret(b, kt, tmpl, n, ST_ORIGIN_CREATE, CK_UNAVAILABLE_INFORMATION, NULL,
                                out);
}

static CK_RV create_plain(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_CLASS cls,
                          enum st_origin origin, struct st_object **out)
{
    CK_RV rv = CKR_GENERAL_ERROR;
    struct st_object *o = st_object_alloc(cls, CK_UNAVAILABLE_INFORMATION);
    if (o == NULL)
        return CKR_HOST_MEMORY;
    rv = st_attr_apply(op_of(origin), cls, CK_UNAVAILABLE_INFORMATION, tmpl, n, &o->attrs);
    if (rv == CKR_OK && cls == CKO_CERTIFICATE)
        rv = st_cert_fill(o);
    if (rv == CKR_OK && origin == ST_ORIGIN_CREATE)
        rv = st_object_check_computed(o, tmpl, n);
    if (rv == CKR_OK)
        rv = st_object_finish(o, origin, CK_UNAVAILABLE_INFORMATION, NULL);
    if (rv != CKR_OK)
        goto out;
    *out = o;
    o = NULL;
out:
    st_object_unref(o);
    return rv;
}

/* A CK_ULONG template attribute: CKR_TEMPLATE_INCOMPLETE if absent, VALUE_INVALID if bad. */
static CK_RV tmpl_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE t, CK_ULONG *v)
{
    const CK_ATTRIBUTE *a = st_tmpl_find(tmpl, n, t);
    if (a == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (a->pValue == NULL || a->ulValueLen != sizeof(CK_ULONG))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    memcpy(v, a->pValue, sizeof(*v));
    return CKR_OK;
}

/* Class and key or certificate type of a create template, checked for support. */
static CK_RV create_kind(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_CLASS *cls,
                         CK_KEY_TYPE *kt)
{
    CK_RV rv = tmpl_ulong(tmpl, n, CKA_CLASS, cls);
    if (rv != CKR_OK)
        return rv;
    *kt = CK_UNAVAILABLE_INFORMATION;
    if (*cls == CKO_DATA)
        return CKR_OK;
    if (*cls == CKO_CERTIFICATE) {
        CK_ULONG ct;
        rv = tmpl_ulong(tmpl, n, CKA_CERTIFICATE_TYPE, &ct);
        if (rv != CKR_OK)
            return rv;
        return ct == CKC_X_509 ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
    }
    if (*cls != CKO_PUBLIC_KEY && *cls != CKO_PRIVATE_KEY && *cls != CKO_SECRET_KEY)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    rv = tmpl_ulong(tmpl, n, CKA_KEY_TYPE, kt);
    if (rv != CKR_OK)
        return rv;
    return st_attr_class_supported(*cls, *kt) ? CKR_OK : CKR_ATTRIBUTE_VALUE_INVALID;
}

CK_RV st_object_create_ex(const CK_ATTRIBUTE *tmpl, CK_ULONG n, enum st_origin origin,
                          struct st_object **out)
{
    U_RETURN_IF_FAIL(out != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL(tmpl != NULL || n == 0, CKR_ARGUMENTS_BAD);
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt;
    CK_RV rv = create_kind(tmpl, n, &cls, &kt);
    if (rv != CKR_OK)
        return rv;
    if (cls == CKO_DATA || cls == CKO_CERTIFICATE)
        return create_plain(tmpl, n, cls, origin, out);
    if (origin != ST_ORIGIN_CREATE)
        return CKR_TEMPLATE_INCONSISTENT;
    if (cls == CKO_SECRET_KEY)
        return create_secret(tmpl, n, kt, out);
    return create_asym(tmpl, n, cls, kt, out);
}

CK_RV st_object_create(const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_object **out)
{
    return st_object_create_ex(tmpl, n, ST_ORIGIN_CREATE, out);
}

CK_RV st_object_copy(struct st_object *src, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                     struct st_object **out)
{
    U_RETURN_IF_FAIL(src != NULL && out != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL(tmpl != NULL || n == 0, CKR_ARGUMENTS_BAD);
    CK_RV rv = CKR_GENERAL_ERROR;
    struct st_object *o = st_object_alloc(src->cls, src->kt);
    if (o == NULL)
        return CKR_HOST_MEMORY;

    pthread_rwlock_rdlock(&src->lock);
    if (!st_attrs_bool(&src->attrs, CKA_COPYABLE, true))
        rv = CKR_ACTION_PROHIBITED;
    else
        rv = st_attrs_dup(&src->attrs, &o->attrs);
    pthread_rwlock_unlock(&src->lock);
    if (rv != CKR_OK)
        goto out;
    rv = st_attr_apply(ST_AOP_COPY, o->cls, o->kt, tmpl, n, &o->attrs);
    if (rv != CKR_OK)
        goto out;
    if (src->pkey != NULL && EVP_PKEY_up_ref(src->pkey) == 1)
        o->pkey = src->pkey; /* immutable, so shared */
    if (src->secret != NULL) {
        o->secret = u_secbuf_dup(src->secret->data, src->secret->len);
        if (o->secret == NULL) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
    }
    if ((src->pkey != NULL) != (o->pkey != NULL)) {
        rv = CKR_FUNCTION_FAILED;
        goto out;
    }
    rv = put_unique_id(o);
    if (rv != CKR_OK)
        goto out;
    cache_flags(o);
    *out = o;
    o = NULL;
out:
    st_object_unref(o);
    return rv;
}

/* ---- attribute access ---------------------------------------------------------------------- */

/* §5.7.5 C_GetAttributeValue for one entry; sets ulValueLen in every case. */
static CK_RV copy_value(CK_ATTRIBUTE_PTR t, const void *v, CK_ULONG len)
{
    if (t->pValue == NULL) {
        t->ulValueLen = len;
        return CKR_OK;
    }
    if (t->ulValueLen < len) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_BUFFER_TOO_SMALL;
    }
    if (len > 0)
        memcpy(t->pValue, v, len);
    t->ulValueLen = len;
    return CKR_OK;
}

static CK_RV get_sensitive(struct st_object *o, CK_ATTRIBUTE_PTR t)
{
    if (st_attrs_bool(&o->attrs, CKA_SENSITIVE, true) ||
        !st_attrs_bool(&o->attrs, CKA_EXTRACTABLE, false)) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_ATTRIBUTE_SENSITIVE;
    }
    if (o->secret != NULL)
        return copy_value(t, o->secret->data, (CK_ULONG)o->secret->len);
    struct u_secbuf *b = NULL;
    CK_RV rv = st_key_export_private(o->pkey, t->type, &b);
    if (rv != CKR_OK) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return rv == CKR_HOST_MEMORY ? rv : CKR_ATTRIBUTE_TYPE_INVALID;
    }
    rv = copy_value(t, b->data, (CK_ULONG)b->len);
    u_secbuf_free(b);
    return rv;
}

static CK_RV get_one(struct st_object *o, CK_ATTRIBUTE_PTR t)
{
    const struct st_attr_rule *r = st_attr_rule_find(o->cls, o->kt, t->type);
    if (r != NULL && (r->flags & ST_AF_SENSITIVE))
        return get_sensitive(o, t);
    const CK_ATTRIBUTE *a = r != NULL ? st_attrs_get(&o->attrs, t->type) : NULL;
    if (a == NULL) {
        t->ulValueLen = CK_UNAVAILABLE_INFORMATION;
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
    return copy_value(t, a->pValue, a->ulValueLen);
}

/* Rank of a per-entry error: PKCS#11 3.0 §5.7.5 allows any; we report the most severe. */
static int rv_rank(CK_RV rv)
{
    switch (rv) {
    case CKR_OK:
        return 0;
    case CKR_BUFFER_TOO_SMALL:
        return 1;
    case CKR_ATTRIBUTE_TYPE_INVALID:
        return 2;
    case CKR_ATTRIBUTE_SENSITIVE:
        return 3;
    default:
        return 4;
    }
}

CK_RV st_object_get_attributes(struct st_object *o, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
    U_RETURN_IF_FAIL(o != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL(tmpl != NULL || n == 0, CKR_ARGUMENTS_BAD);
    CK_RV rv = CKR_OK;
    pthread_rwlock_rdlock(&o->lock);
    for (CK_ULONG i = 0; i < n; i++) {
        CK_RV r = get_one(o, &tmpl[i]);
        if (rv_rank(r) > rv_rank(rv))
            rv = r;
    }
    pthread_rwlock_unlock(&o->lock);
    return rv;
}

CK_RV st_object_set_attributes(struct st_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    U_RETURN_IF_FAIL(o != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL(tmpl != NULL || n == 0, CKR_ARGUMENTS_BAD);
    CK_RV rv = CKR_GENERAL_ERROR;
    struct st_attrs next = {0};

    pthread_rwlock_wrlock(&o->lock);
    if (!st_attrs_bool(&o->attrs, CKA_MODIFIABLE, true)) {
        rv = CKR_ACTION_PROHIBITED;
        goto out_unlock;
    }
    rv = st_attrs_dup(&o->attrs, &next);
    if (rv != CKR_OK)
        goto out_unlock;
    rv = st_attr_apply(ST_AOP_SET, o->cls, o->kt, tmpl, n, &next);
    if (rv != CKR_OK)
        goto out_unlock;
    struct st_attrs old = o->attrs;
    o->attrs = next;
    next = old; /* wiped below */
    atomic_store(&o->destroyable, st_attrs_bool(&o->attrs, CKA_DESTROYABLE, true));
out_unlock:
    pthread_rwlock_unlock(&o->lock);
    st_attrs_cleanup(&next);
    return rv;
}

bool st_object_match(struct st_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    if (o == NULL || (tmpl == NULL && n > 0))
        return false;
    bool match = true;
    pthread_rwlock_rdlock(&o->lock);
    for (CK_ULONG i = 0; i < n && match; i++) {
        const CK_ATTRIBUTE *a = st_attrs_get(&o->attrs, tmpl[i].type);
        if (a == NULL || a->ulValueLen != tmpl[i].ulValueLen)
            match = false;
        else if (a->ulValueLen > 0)
            match = tmpl[i].pValue != NULL && memcmp(a->pValue, tmpl[i].pValue, a->ulValueLen) == 0;
    }
    pthread_rwlock_unlock(&o->lock);
    return match;
}

CK_ULONG st_object_size(struct st_object *o)
{
    if (o == NULL)
        return 0;
    CK_ULONG size = sizeof(*o);
    pthread_rwlock_rdlock(&o->lock);
    for (CK_ULONG i = 0; i < o->attrs.n; i++)
        size += sizeof(CK_ATTRIBUTE) + o->attrs.v[i].ulValueLen;
    pthread_rwlock_unlock(&o->lock);
    if (o->pkey != NULL) /* the parsed key: a few copies of its modulus or point */
        size += 4 * (CK_ULONG)EVP_PKEY_get_size(o->pkey);
    if (o->secret != NULL)
        size += (CK_ULONG)o->secret->len;
    return size;
}
