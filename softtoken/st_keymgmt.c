/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key management: C_GenerateKey, C_GenerateKeyPair, C_WrapKey, C_UnwrapKey and C_DeriveKey
 * dispatch to the family slots, and the helpers they share (templates, CKA_EC_PARAMS, public
 * halves). Wrapped private keys are PKCS#8 PrivateKeyInfo DER; wrapped secret keys are raw.
 * Every temporary copy of key bytes lives in a u_secbuf (wiped on free).
 */
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <string.h>

#include "st_mech.h"
#include "u_macros.h"
#include "u_rv.h"

CK_RV st_tmpl_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE t, CK_ULONG *out)
{
    const CK_ATTRIBUTE *a = st_tmpl_find(tmpl, n, t);
    if (a == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    if (a->pValue == NULL || a->ulValueLen != sizeof(CK_ULONG))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *out = *(const CK_ULONG *)a->pValue;
    return CKR_OK;
}

CK_RV st_keypair_objects(EVP_PKEY *pkey, CK_MECHANISM_TYPE mech, const CK_ATTRIBUTE *pub_tmpl,
                         CK_ULONG npub, const CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv,
                         struct st_object **pub, struct st_object **priv)
{
    struct st_object *po = NULL;
    EVP_PKEY *pubkey = st_pkey_public_dup(pkey);
    if (pubkey == NULL) {
        EVP_PKEY_free(pkey);
        return st_ossl_err("public half", CKR_FUNCTION_FAILED);
    }
    CK_RV rv = st_object_new_public(pubkey, pub_tmpl, npub, ST_ORIGIN_GENERATE, mech, &po);
    if (rv != CKR_OK) {
        EVP_PKEY_free(pkey);
        return rv;
    }
    rv = st_object_new_asym(pkey, CKO_PRIVATE_KEY, priv_tmpl, npriv, ST_ORIGIN_GENERATE, mech,
                            priv);
    if (rv != CKR_OK) {
        st_object_unref(po);
        return rv;
    }
    *pub = po;
    return CKR_OK;
}

/* CKA_EC_PARAMS: namedCurve OID, or (PKCS#11 3.0 §2.3.5 for Edwards) a PrintableString. */
const char *st_ec_params_curve(const CK_BYTE *der, CK_ULONG len)
{
    static const struct {
        int nid;
        const char *text;
        const char *name;
    } curves[] = {
            {NID_X9_62_prime256v1, "prime256v1", "P-256"},
            {NID_secp384r1, "secp384r1", "P-384"},
            {NID_secp521r1, "secp521r1", "P-521"},
            {NID_ED25519, "edwards25519", "ED25519"},
            {NID_ED448, "edwards448", "ED448"},
    };
    const unsigned char *p = der;
    int nid = NID_undef;
    char text[32] = "";
    ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &p, (long)len);
    if (obj != NULL && p == der + len)
        nid = OBJ_obj2nid(obj);
    ASN1_OBJECT_free(obj);
    if (nid == NID_undef) {
        p = der;
        ASN1_PRINTABLESTRING *s = d2i_ASN1_PRINTABLESTRING(NULL, &p, (long)len);
        if (s != NULL && p == der + len && (size_t)ASN1_STRING_length(s) < sizeof(text))
            memcpy(text, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
        ASN1_STRING_free(s);
    }
    for (size_t i = 0; i < U_ARRAY_SIZE(curves); i++) {
        if (curves[i].nid == nid || strcmp(curves[i].text, text) == 0)
            return curves[i].name;
    }
    return NULL;
}

/* A template's CKA_CLASS / CKA_KEY_TYPE, when present, must agree with the mechanism. */
static CK_RV tmpl_expect(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE t, CK_ULONG want)
{
    const CK_ATTRIBUTE *a = st_tmpl_find(tmpl, n, t);
    if (a == NULL)
        return CKR_OK;
    if (a->pValue == NULL || a->ulValueLen != sizeof(CK_ULONG))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return *(const CK_ULONG *)a->pValue == want ? CKR_OK : CKR_TEMPLATE_INCONSISTENT;
}

CK_RV st_keygen_random_secret(const struct st_mech_desc *d, CK_KEY_TYPE kt, CK_ULONG len,
                              const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_object **out)
{
    struct u_secbuf *v = u_secbuf_new(len);
    if (v == NULL)
        return CKR_HOST_MEMORY;
    CK_RV rv = st_random(v->data, len);
    if (rv != CKR_OK) {
        u_secbuf_free(v);
        return rv;
    }
    return st_object_new_secret(v, kt, tmpl, n, ST_ORIGIN_GENERATE, d->type, NULL, out);
}

CK_RV st_key_generate(const CK_MECHANISM *mech, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                      struct st_object **out)
{
    U_RETURN_IF_FAIL(mech != NULL && out != NULL && (tmpl != NULL || n == 0), CKR_ARGUMENTS_BAD);
    const struct st_mech_desc *d = st_mech_find(mech->mechanism);
    if (d == NULL || d->ops->keygen == NULL)
        return CKR_MECHANISM_INVALID;
    if (st_libctx() == NULL)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    CK_RV rv = tmpl_expect(tmpl, n, CKA_CLASS, CKO_SECRET_KEY);
    if (rv == CKR_OK)
        rv = tmpl_expect(tmpl, n, CKA_KEY_TYPE, d->key_type);
    if (rv != CKR_OK)
        return rv;
    return d->ops->keygen(d, mech, tmpl, n, out);
}

CK_RV st_keypair_generate(const CK_MECHANISM *mech, const CK_ATTRIBUTE *pub_tmpl, CK_ULONG npub,
                          const CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv, struct st_object **pub,
                          struct st_object **priv)
{
    U_RETURN_IF_FAIL(mech != NULL && pub != NULL && priv != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL((pub_tmpl != NULL || npub == 0) && (priv_tmpl != NULL || npriv == 0),
                     CKR_ARGUMENTS_BAD);
    const struct st_mech_desc *d = st_mech_find(mech->mechanism);
    if (d == NULL || d->ops->keypair_gen == NULL)
        return CKR_MECHANISM_INVALID;
    if (st_libctx() == NULL)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    CK_RV rv = tmpl_expect(pub_tmpl, npub, CKA_CLASS, CKO_PUBLIC_KEY);
    if (rv == CKR_OK)
        rv = tmpl_expect(priv_tmpl, npriv, CKA_CLASS, CKO_PRIVATE_KEY);
    if (rv == CKR_OK)
        rv = tmpl_expect(pub_tmpl, npub, CKA_KEY_TYPE, d->key_type);
    if (rv == CKR_OK)
        rv = tmpl_expect(priv_tmpl, npriv, CKA_KEY_TYPE, d->key_type);
    if (rv != CKR_OK)
        return rv;
    return d->ops->keypair_gen(d, mech, pub_tmpl, npub, priv_tmpl, npriv, pub, priv);
}

/* Errors about the (un)wrapping key have their own codes (PKCS#11 3.0 §5.18). */
static CK_RV wrapping_rv(CK_RV rv, bool unwrap)
{
    if (rv == CKR_KEY_TYPE_INCONSISTENT)
        return unwrap ? CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT : CKR_WRAPPING_KEY_TYPE_INCONSISTENT;
    if (rv == CKR_KEY_SIZE_RANGE)
        return unwrap ? CKR_UNWRAPPING_KEY_SIZE_RANGE : CKR_WRAPPING_KEY_SIZE_RANGE;
    if (rv == CKR_KEY_HANDLE_INVALID)
        return unwrap ? CKR_UNWRAPPING_KEY_HANDLE_INVALID : CKR_WRAPPING_KEY_HANDLE_INVALID;
    return rv;
}

/* The bytes a key wraps to: raw secret value, or PKCS#8 DER of a private key. */
static CK_RV key_bytes(struct st_object *key, struct u_secbuf **out)
{
    CK_OBJECT_CLASS cls = st_object_class(key);
    if (cls == CKO_SECRET_KEY && st_object_secret(key) != NULL) {
        const struct u_secbuf *v = st_object_secret(key);
        *out = u_secbuf_dup(v->data, v->len);
        return *out != NULL ? CKR_OK : CKR_HOST_MEMORY;
    }
    if (cls != CKO_PRIVATE_KEY || st_object_pkey(key) == NULL)
        return CKR_KEY_NOT_WRAPPABLE;
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(st_object_pkey(key));
    if (p8 == NULL)
        return st_ossl_err("EVP_PKEY2PKCS8", CKR_KEY_NOT_WRAPPABLE);
    unsigned char *der = NULL;
    int len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    PKCS8_PRIV_KEY_INFO_free(p8);
    if (len <= 0)
        return st_ossl_err("i2d_PKCS8_PRIV_KEY_INFO", CKR_FUNCTION_FAILED);
    *out = u_secbuf_dup(der, (size_t)len);
    OPENSSL_clear_free(der, (size_t)len);
    return *out != NULL ? CKR_OK : CKR_HOST_MEMORY;
}

CK_RV st_key_wrap(const CK_MECHANISM *mech, struct st_object *wrapping, struct st_object *key,
                  CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    U_RETURN_IF_FAIL(mech != NULL && wrapping != NULL && key != NULL && outlen != NULL,
                     CKR_ARGUMENTS_BAD);
    if (!st_object_attr_bool(key, CKA_EXTRACTABLE, false))
        return CKR_KEY_UNEXTRACTABLE;
    if (st_object_attr_bool(key, CKA_WRAP_WITH_TRUSTED, false) &&
        !st_object_attr_bool(wrapping, CKA_TRUSTED, false))
        return CKR_KEY_NOT_WRAPPABLE;
    struct st_op *op = NULL;
    struct u_secbuf *bytes = NULL;
    CK_RV rv = st_op_new_usage(ST_OP_ENCRYPT, mech, wrapping, CKA_WRAP, &op);
    if (rv != CKR_OK) {
        rv = wrapping_rv(rv, false);
        goto out;
    }
    rv = key_bytes(key, &bytes);
    if (rv != CKR_OK || bytes == NULL)
        goto out;
    rv = op->desc->ops->wrap(op, bytes->data, (CK_ULONG)bytes->len, out, outlen);
    if (rv == CKR_DATA_LEN_RANGE)
        rv = CKR_KEY_SIZE_RANGE;
out:
    u_secbuf_free(bytes);
    st_op_free(op);
    return rv;
}

/* Decrypt the wrapped bytes into a secret buffer of the exact length. */
static CK_RV unwrap_bytes(struct st_op *op, const CK_BYTE *wrapped, CK_ULONG wlen,
                          struct u_secbuf **out)
{
    CK_ULONG len = 0;
    CK_RV rv = op->desc->ops->unwrap(op, wrapped, wlen, NULL, &len);
    if (rv != CKR_OK)
        goto out;
    *out = u_secbuf_new(len);
    if (*out == NULL)
        return CKR_HOST_MEMORY;
    rv = op->desc->ops->unwrap(op, wrapped, wlen, (*out)->data, &len);
    if (rv != CKR_OK) {
        u_secbuf_free(*out);
        *out = NULL;
        goto out;
    }
    (*out)->len = len;
out:
    if (rv == CKR_ENCRYPTED_DATA_INVALID)
        return CKR_WRAPPED_KEY_INVALID;
    if (rv == CKR_ENCRYPTED_DATA_LEN_RANGE)
        return CKR_WRAPPED_KEY_LEN_RANGE;
    return rv;
}

static CK_KEY_TYPE pkey_type(EVP_PKEY *pkey)
{
    if (EVP_PKEY_is_a(pkey, "RSA"))
        return CKK_RSA;
    if (EVP_PKEY_is_a(pkey, "EC"))
        return CKK_EC;
    if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448"))
        return CKK_EC_EDWARDS;
    return CK_UNAVAILABLE_INFORMATION;
}

static CK_RV unwrap_private(struct u_secbuf *der, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                            struct st_object **out)
{
    EVP_PKEY *pkey = st_pkey_from_pkcs8(der->data, der->len);
    if (pkey == NULL)
        return CKR_WRAPPED_KEY_INVALID;
    CK_RV rv = tmpl_expect(tmpl, n, CKA_KEY_TYPE, pkey_type(pkey));
    if (rv != CKR_OK) {
        EVP_PKEY_free(pkey);
        return rv;
    }
    return st_object_new_asym(pkey, CKO_PRIVATE_KEY, tmpl, n, ST_ORIGIN_UNWRAP,
                              CK_UNAVAILABLE_INFORMATION, out);
}

static CK_RV unwrap_secret(struct u_secbuf *v, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_ULONG kt;
    CK_RV rv = st_tmpl_ulong(tmpl, n, CKA_KEY_TYPE, &kt);
    if (rv != CKR_OK)
        return rv;
    if (kt != CKK_AES && kt != CKK_GENERIC_SECRET)
        return CKR_TEMPLATE_INCONSISTENT;
    CK_ULONG want;
    rv = st_tmpl_ulong(tmpl, n, CKA_VALUE_LEN, &want);
    if (rv == CKR_OK && (want == 0 || want > v->len))
        return CKR_TEMPLATE_INCONSISTENT;
    if (rv == CKR_OK)
        v->len = want; /* PKCS#11 3.0 §5.18: CKA_VALUE_LEN trims block padding */
    else if (rv != CKR_TEMPLATE_INCOMPLETE)
        return rv;
    if (kt == CKK_AES && v->len != 16 && v->len != 24 && v->len != 32)
        return CKR_WRAPPED_KEY_INVALID;
    return CKR_OK;
}

CK_RV st_key_unwrap(const CK_MECHANISM *mech, struct st_object *unwrapping, const CK_BYTE *wrapped,
                    CK_ULONG wlen, const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_object **out)
{
    U_RETURN_IF_FAIL(mech != NULL && unwrapping != NULL && out != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL((wrapped != NULL || wlen == 0) && (tmpl != NULL || n == 0), CKR_ARGUMENTS_BAD);
    CK_ULONG cls;
    CK_RV rv = st_tmpl_ulong(tmpl, n, CKA_CLASS, &cls);
    if (rv != CKR_OK)
        return rv;
    if (cls != CKO_SECRET_KEY && cls != CKO_PRIVATE_KEY)
        return CKR_TEMPLATE_INCONSISTENT;
    struct st_op *op = NULL;
    struct u_secbuf *v = NULL;
    rv = st_op_new_usage(ST_OP_DECRYPT, mech, unwrapping, CKA_UNWRAP, &op);
    if (rv != CKR_OK) {
        rv = wrapping_rv(rv, true);
        goto out;
    }
    rv = unwrap_bytes(op, wrapped, wlen, &v);
    if (rv != CKR_OK)
        goto out;
    if (cls == CKO_PRIVATE_KEY) {
        rv = unwrap_private(v, tmpl, n, out);
        goto out;
    }
    rv = unwrap_secret(v, tmpl, n);
    if (rv != CKR_OK)
        goto out;
    CK_KEY_TYPE kt = *(const CK_KEY_TYPE *)st_tmpl_find(tmpl, n, CKA_KEY_TYPE)->pValue;
    rv = st_object_new_secret(v, kt, tmpl, n, ST_ORIGIN_UNWRAP, CK_UNAVAILABLE_INFORMATION, NULL,
                              out);
    v = NULL;
out:
    u_secbuf_free(v);
    st_op_free(op);
    return rv;
}

CK_RV st_key_derive(const CK_MECHANISM *mech, struct st_object *base, const CK_ATTRIBUTE *tmpl,
                    CK_ULONG n, struct st_object **out)
{
    U_RETURN_IF_FAIL(mech != NULL && base != NULL && out != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL(tmpl != NULL || n == 0, CKR_ARGUMENTS_BAD);
    const struct st_mech_desc *d = st_mech_find(mech->mechanism);
    if (d == NULL || d->ops->derive == NULL)
        return CKR_MECHANISM_INVALID;
    if (st_libctx() == NULL)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    EVP_PKEY *pkey = st_object_pkey(base);
    if (st_object_class(base) != CKO_PRIVATE_KEY || st_object_key_type(base) != d->key_type ||
        pkey == NULL)
        return CKR_KEY_TYPE_INCONSISTENT;
    if (!st_object_attr_bool(base, CKA_DERIVE, false))
        return CKR_KEY_FUNCTION_NOT_PERMITTED;
    if (!st_key_mech_allowed(base, d->type))
        return CKR_MECHANISM_INVALID;
    CK_ULONG bits = (CK_ULONG)EVP_PKEY_get_bits(pkey);
    if (bits < d->info.ulMinKeySize || bits > d->info.ulMaxKeySize)
        return CKR_KEY_SIZE_RANGE;
    CK_RV rv = tmpl_expect(tmpl, n, CKA_CLASS, CKO_SECRET_KEY);
    if (rv != CKR_OK)
        return rv;
    return d->ops->derive(d, mech, base, tmpl, n, out);
}
