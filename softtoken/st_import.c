/* SPDX-License-Identifier: Apache-2.0 */
#define _POSIX_C_SOURCE 200809L /* pthread_rwlock_t */
/*
 * Import from a key source: PKCS#8 private keys (with their public-key object), SPKI public
 * keys, raw secret keys and X.509 certificates become token objects. The private key, public
 * key and certificate of one key share CKA_ID (default: SHA-1 of the subjectPublicKey, which is
 * what OpenSSL puts in the subjectKeyIdentifier) and CKA_LABEL.
 */
#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <string.h>
#include <time.h>

#include "st_object_priv.h"
#include "u_log.h"
#include "u_macros.h"
#include "u_pkcs8.h"

/* CK_CERTIFICATE_CATEGORY_TOKEN_USER: the certificate of a key the token holds (§4.6.2). */
#define ST_CERT_CATEGORY_TOKEN_USER 1UL

/* The metadata template every imported object starts from. */
struct meta_tmpl {
    CK_ATTRIBUTE a[5]; /* TOKEN, PRIVATE, LABEL, ID, + DERIVE on EC private keys */
    CK_ULONG n;
    CK_BBOOL token, private_;
    unsigned char id[20];
};

static CK_RV meta_tmpl_init(struct meta_tmpl *t, const struct st_key_meta *m, bool want_private,
                            EVP_PKEY *pkey)
{
    t->n = 0;
    t->token = m->token ? CK_TRUE : CK_FALSE;
    t->private_ = (want_private && m->private_) ? CK_TRUE : CK_FALSE;
    t->a[t->n++] = (CK_ATTRIBUTE){CKA_TOKEN, &t->token, sizeof(t->token)};
    t->a[t->n++] = (CK_ATTRIBUTE){CKA_PRIVATE, &t->private_, sizeof(t->private_)};
    if (m->label != NULL)
        t->a[t->n++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)(uintptr_t)m->label, strlen(m->label)};
    if (m->id != NULL && m->id_len > 0) {
        t->a[t->n++] = (CK_ATTRIBUTE){CKA_ID, (void *)(uintptr_t)m->id, m->id_len};
    } else if (pkey != NULL) {
        CK_RV rv = st_key_id_sha1(pkey, t->id);
        if (rv != CKR_OK)
            return rv;
        t->a[t->n++] = (CK_ATTRIBUTE){CKA_ID, t->id, sizeof(t->id)};
    }
    return CKR_OK;
}

CK_RV st_import_private_pkcs8(const unsigned char *der, size_t len, const struct st_key_meta *m,
                              struct st_object **priv, struct st_object **pub)
{
    U_RETURN_IF_FAIL(der != NULL && m != NULL && priv != NULL, CKR_ARGUMENTS_BAD);
    CK_RV rv = CKR_GENERAL_ERROR;
    struct meta_tmpl t;
    struct st_object *po = NULL;
    EVP_PKEY *pkey = u_pkcs8_decode(der, len, st_libctx()); /* no copies left: u_pkcs8.h */

    if (pkey == NULL) {
        U_LOG_ERR("st", "key material is not a PKCS#8 private key");
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
        goto out;
    }
    rv = meta_tmpl_init(&t, m, true, pkey);
    if (rv != CKR_OK)
        goto out;
    if (pub != NULL) {
        struct meta_tmpl tp = t;
        tp.private_ = CK_FALSE; /* public keys are visible without login */
        tp.a[0].pValue = &tp.token;
        tp.a[1].pValue = &tp.private_;
        if (tp.n == 4 && tp.a[3].pValue == t.id)
            tp.a[3].pValue = tp.id;
        if (EVP_PKEY_up_ref(pkey) != 1) {
            rv = CKR_FUNCTION_FAILED;
            goto out;
        }
        rv = st_object_new_asym(pkey, CKO_PUBLIC_KEY, tp.a, tp.n, ST_ORIGIN_IMPORT,
                                CK_UNAVAILABLE_INFORMATION, &po);
        if (rv != CKR_OK)
            goto out;
    }
    /* An EC key of the token serves ECDH (CKM_ECDH1_DERIVE) as well as ECDSA. */
    static const CK_BBOOL derive = CK_TRUE;
    if (EVP_PKEY_is_a(pkey, "EC"))
        t.a[t.n++] = (CK_ATTRIBUTE){CKA_DERIVE, (void *)(uintptr_t)&derive, sizeof(derive)};
    rv = st_object_new_asym(pkey, CKO_PRIVATE_KEY, t.a, t.n, ST_ORIGIN_IMPORT,
                            CK_UNAVAILABLE_INFORMATION, priv);
    pkey = NULL; /* taken */
    if (rv != CKR_OK)
        goto out;
    if (pub != NULL) {
        *pub = po;
        po = NULL;
    }
out:
    st_object_unref(po);
    EVP_PKEY_free(pkey);
    return rv;
}

CK_RV st_import_public_spki(const unsigned char *der, size_t len, const struct st_key_meta *m,
                            struct st_object **pub)
{
    U_RETURN_IF_FAIL(der != NULL && m != NULL && pub != NULL, CKR_ARGUMENTS_BAD);
    struct meta_tmpl t;
    EVP_PKEY *pkey = st_pkey_from_spki(der, len);
    if (pkey == NULL) {
        U_LOG_ERR("st", "key material is not a SubjectPublicKeyInfo public key");
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    CK_RV rv = meta_tmpl_init(&t, m, false, pkey);
    if (rv != CKR_OK) {
        EVP_PKEY_free(pkey);
        return rv;
    }
    /* public material only: no public-only copy needed */
    return st_object_new_public(pkey, t.a, t.n, ST_ORIGIN_IMPORT, CK_UNAVAILABLE_INFORMATION, pub);
}

CK_RV st_import_secret(const unsigned char *key, size_t len, const struct st_key_meta *m,
                       struct st_object **out)
{
    U_RETURN_IF_FAIL(key != NULL && m != NULL && out != NULL, CKR_ARGUMENTS_BAD);
    struct meta_tmpl t;
    CK_RV rv = meta_tmpl_init(&t, m, true, NULL);
    if (rv != CKR_OK)
        return rv;
    struct u_secbuf *v = u_secbuf_dup(key, len);
    if (v == NULL)
        return CKR_HOST_MEMORY;
    return st_object_new_secret(v, m->secret_type, t.a, t.n, ST_ORIGIN_IMPORT,
                                CK_UNAVAILABLE_INFORMATION, NULL, out);
}

static CK_RV der_of_name(const X509_NAME *name, unsigned char **out, int *len)
{
    *len = i2d_X509_NAME(name, out);
    return *len > 0 ? CKR_OK : CKR_FUNCTION_FAILED;
}

CK_RV st_import_certificate(const unsigned char *der, size_t len, const struct st_key_meta *m,
                            struct st_object **out)
{
    U_RETURN_IF_FAIL(der != NULL && m != NULL && out != NULL, CKR_ARGUMENTS_BAD);
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    struct meta_tmpl t;
    unsigned char *subject = NULL;
    int slen = 0;
    CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
    CK_CERTIFICATE_TYPE ct = CKC_X_509;
    CK_ULONG cat = ST_CERT_CATEGORY_TOKEN_USER;
    const unsigned char *p = der;
    X509 *x = X509_new_ex(st_libctx(), NULL);

    if (x == NULL || d2i_X509(&x, &p, (long)len) == NULL || p != der + len)
        goto out;
    rv = meta_tmpl_init(&t, m, false, X509_get0_pubkey(x));
    if (rv == CKR_OK)
        rv = der_of_name(X509_get_subject_name(x), &subject, &slen);
    if (rv != CKR_OK)
        goto out;
    CK_ATTRIBUTE tmpl[10];
    CK_ULONG n = 0;
    memcpy(tmpl, t.a, t.n * sizeof(CK_ATTRIBUTE));
    n = t.n;
    tmpl[n++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
    tmpl[n++] = (CK_ATTRIBUTE){CKA_CERTIFICATE_TYPE, &ct, sizeof(ct)};
    tmpl[n++] = (CK_ATTRIBUTE){CKA_CERTIFICATE_CATEGORY, &cat, sizeof(cat)};
    tmpl[n++] = (CK_ATTRIBUTE){CKA_SUBJECT, subject, (CK_ULONG)slen};
    tmpl[n++] = (CK_ATTRIBUTE){CKA_VALUE, (void *)(uintptr_t)der, len};
    rv = st_object_create_ex(tmpl, n, ST_ORIGIN_IMPORT, out);
out:
    OPENSSL_free(subject);
    X509_free(x);
    return rv;
}

/* ---- certificate attributes computed from CKA_VALUE ---------------------------------------- */

static CK_RV put_if_empty(struct st_object *o, CK_ATTRIBUTE_TYPE t, unsigned char *der, int len)
{
    CK_RV rv = CKR_FUNCTION_FAILED;
    const CK_ATTRIBUTE *a = st_attrs_get(&o->attrs, t);
    if (len <= 0)
        goto out;
    rv = CKR_OK;
    if (a == NULL || a->ulValueLen == 0)
        rv = st_attrs_put(&o->attrs, t, der, (CK_ULONG)len);
out:
    OPENSSL_free(der);
    return rv;
}

/* CK_DATE "YYYYMMDD" of an X.509 validity bound, when absent from the template. */
static CK_RV put_date(struct st_object *o, CK_ATTRIBUTE_TYPE t, const ASN1_TIME *when)
{
    struct tm tm;
    char buf[16];
    const CK_ATTRIBUTE *a = st_attrs_get(&o->attrs, t);
    if ((a != NULL && a->ulValueLen != 0) || when == NULL || !ASN1_TIME_to_tm(when, &tm))
        return CKR_OK;
    if (tm.tm_year + 1900 > 9999 || strftime(buf, sizeof(buf), "%Y%m%d", &tm) != 8)
        return CKR_OK;
    return st_attrs_put(&o->attrs, t, buf, 8);
}

static CK_RV cert_attrs(struct st_object *o, X509 *x, const CK_ATTRIBUTE *v)
{
    unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int len = i2d_X509_NAME(X509_get_issuer_name(x), &der);
    CK_RV rv = put_if_empty(o, CKA_ISSUER, der, len);
    der = NULL;
    len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &der);
    if (rv == CKR_OK)
        rv = put_if_empty(o, CKA_SERIAL_NUMBER, der, len);
    else
        OPENSSL_free(der);
    der = NULL;
    len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
    if (rv == CKR_OK)
        rv = put_if_empty(o, CKA_PUBLIC_KEY_INFO, der, len);
    else
        OPENSSL_free(der);
    if (rv == CKR_OK)
        rv = put_date(o, CKA_START_DATE, X509_get0_notBefore(x));
    if (rv == CKR_OK)
        rv = put_date(o, CKA_END_DATE, X509_get0_notAfter(x));
    if (rv != CKR_OK)
        return rv;
    /* PKCS#11 3.0 §4.6.3: check value = first three bytes of SHA-1(CKA_VALUE) */
    EVP_MD *sha1 = EVP_MD_fetch(st_libctx(), "SHA1", NULL);
    if (sha1 == NULL || !EVP_Digest(v->pValue, v->ulValueLen, md, &mdlen, sha1, NULL))
        rv = CKR_FUNCTION_FAILED;
    EVP_MD_free(sha1);
    if (rv == CKR_OK)
        rv = st_attrs_put(&o->attrs, CKA_CHECK_VALUE, md, 3);
    return rv;
}

CK_RV st_cert_fill(struct st_object *o)
{
    const CK_ATTRIBUTE *v = st_attrs_get(&o->attrs, CKA_VALUE);
    if (v == NULL || v->ulValueLen == 0)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    const unsigned char *p = v->pValue;
    X509 *x = X509_new_ex(st_libctx(), NULL);
    if (x == NULL)
        return CKR_HOST_MEMORY;
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (d2i_X509(&x, &p, (long)v->ulValueLen) != NULL &&
        p == (const unsigned char *)v->pValue + v->ulValueLen)
        rv = cert_attrs(o, x, v);
    X509_free(x);
    return rv;
}

/* SPKI DER of a key or certificate object, copied out under its lock. */
static unsigned char *spki_copy(struct st_object *o, size_t *len)
{
    unsigned char *copy = NULL;
    pthread_rwlock_rdlock(&o->lock);
    const CK_ATTRIBUTE *a = st_attrs_get(&o->attrs, CKA_PUBLIC_KEY_INFO);
    if (a != NULL && a->ulValueLen > 0) {
        copy = OPENSSL_memdup(a->pValue, a->ulValueLen);
        *len = a->ulValueLen;
    }
    pthread_rwlock_unlock(&o->lock);
    return copy;
}

bool st_object_same_public_key(struct st_object *a, struct st_object *b)
{
    if (a == NULL || b == NULL)
        return false;
    if (a->pkey != NULL && b->pkey != NULL)
        return EVP_PKEY_eq(a->pkey, b->pkey) == 1;
    size_t la = 0, lb = 0;
    unsigned char *sa = spki_copy(a, &la);
    unsigned char *sb = spki_copy(b, &lb);
    bool same = sa != NULL && sb != NULL && la == lb && memcmp(sa, sb, la) == 0;
    OPENSSL_free(sa);
    OPENSSL_free(sb);
    return same;
}
