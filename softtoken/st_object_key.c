/* SPDX-License-Identifier: Apache-2.0 */
#define _POSIX_C_SOURCE 200809L /* pthread_rwlock_t */
/*
 * Key material of objects: EVP_PKEYs built once from C_CreateObject components (RSA, EC,
 * EdDSA) in the private library context, the public attributes derived from an EVP_PKEY
 * (CKA_MODULUS, CKA_EC_PARAMS, CKA_EC_POINT as a DER OCTET STRING, CKA_PUBLIC_KEY_INFO),
 * export of private components for extractable non-sensitive keys, CKA_ID and check values.
 */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <string.h>

#include "st_object_priv.h"
#include "u_log.h"
#include "u_macros.h"

/* Largest encoded public point we handle: P-521 uncompressed is 133 bytes. */
#define ST_MAX_POINT 160

struct st_curve {
    int nid;
    CK_KEY_TYPE kt;
    const char *alg; /* OpenSSL group (EC) or algorithm OID (EdDSA, see ST_OID_RSA) */
    size_t len;      /* EC: private scalar bytes; EdDSA: raw key bytes */
};

static const struct st_curve curves[] = {
        {NID_X9_62_prime256v1, CKK_EC, "prime256v1", 32},
        {NID_secp384r1, CKK_EC, "secp384r1", 48},
        {NID_secp521r1, CKK_EC, "secp521r1", 66},
        {NID_ED25519, CKK_EC_EDWARDS, ST_OID_ED25519, 32},
        {NID_ED448, CKK_EC_EDWARDS, ST_OID_ED448, 57},
};

static const struct st_curve *curve_by_nid(int nid)
{
    for (size_t i = 0; i < U_ARRAY_SIZE(curves); i++) {
        if (curves[i].nid == nid)
            return &curves[i];
    }
    return NULL;
}

static CK_RV ossl_fail(const char *what, CK_RV rv)
{
    unsigned long e;
    while ((e = ERR_get_error()) != 0)
        U_LOG_DBG("st", "%s: %s", what, ERR_reason_error_string(e));
    return rv;
}

CK_KEY_TYPE st_key_type_of(const EVP_PKEY *pkey)
{
    if (pkey == NULL)
        return CK_UNAVAILABLE_INFORMATION;
    if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS"))
        return CKK_RSA;
    if (EVP_PKEY_is_a(pkey, "EC"))
        return CKK_EC;
    if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448"))
        return CKK_EC_EDWARDS;
    return CK_UNAVAILABLE_INFORMATION;
}

/* ---- DER helpers --------------------------------------------------------------------------- */

/* Contents of a DER OCTET STRING that spans exactly p[0..len), or false. */
static bool der_octet_unwrap(const unsigned char *p, size_t len, const unsigned char **c,
                             size_t *clen)
{
    size_t h, l;
    if (len < 2 || p[0] != 0x04)
        return false;
    if (p[1] < 0x80) {
        h = 2;
        l = p[1];
    } else if (p[1] == 0x81 && len >= 3) {
        h = 3;
        l = p[2];
    } else if (p[1] == 0x82 && len >= 4) {
        h = 4;
        l = ((size_t)p[2] << 8) | p[3];
    } else {
        return false;
    }
    if (h + l != len)
        return false;
    *c = p + h;
    *clen = l;
    return true;
}

/* DER OCTET STRING of c[0..clen) (clen < 256) into out, which holds clen + 3 bytes. */
static size_t der_octet_wrap(const unsigned char *c, size_t clen, unsigned char *out)
{
    size_t h = 2;
    out[0] = 0x04;
    if (clen < 0x80) {
        out[1] = (unsigned char)clen;
    } else {
        out[1] = 0x81;
        out[2] = (unsigned char)clen;
        h = 3;
    }
    memcpy(out + h, c, clen);
    return h + clen;
}

/* CKA_EC_PARAMS: DER OID of a named curve, or (EdDSA, PKCS#11 3.0 §2.3.5) the PrintableString
 * "edwards25519"/"edwards448". */
static CK_RV parse_ec_params(const CK_ATTRIBUTE *a, CK_KEY_TYPE kt, const struct st_curve **out)
{
    const unsigned char *p = a->pValue;
    size_t len = a->ulValueLen;
    int nid = NID_undef;
    if (p == NULL || len < 2)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (p[0] == 0x13 && (size_t)p[1] + 2 == len) {
        if (len - 2 == 12 && memcmp(p + 2, "edwards25519", 12) == 0)
            nid = NID_ED25519;
        else if (len - 2 == 10 && memcmp(p + 2, "edwards448", 10) == 0)
            nid = NID_ED448;
        else
            return CKR_CURVE_NOT_SUPPORTED;
    } else if (p[0] == 0x06) {
        const unsigned char *q = p;
        ASN1_OBJECT *obj = d2i_ASN1_OBJECT(NULL, &q, (long)len);
        if (obj == NULL || q != p + len) {
            ASN1_OBJECT_free(obj);
            return ossl_fail("EC params", CKR_ATTRIBUTE_VALUE_INVALID);
        }
        nid = OBJ_obj2nid(obj);
        ASN1_OBJECT_free(obj);
    } else {
        return CKR_ATTRIBUTE_VALUE_INVALID;
    }
    const struct st_curve *c = curve_by_nid(nid);
    if (c == NULL)
        return CKR_CURVE_NOT_SUPPORTED;
    if (c->kt != kt)
        return CKR_TEMPLATE_INCONSISTENT;
    *out = c;
    return CKR_OK;
}

/* ---- building keys from templates ----------------------------------------------------------- */

/* `alg` is an OID for RSA and EC: see ST_OID_RSA in st_object_int.h. */
static CK_RV pkey_fromdata(const char *alg, int selection, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(st_libctx(), alg, ST_PROPQ);
    if (params == NULL || ctx == NULL) {
        rv = ossl_fail("fromdata setup", CKR_HOST_MEMORY);
        goto out;
    }
    if (EVP_PKEY_fromdata_init(ctx) <= 0 || EVP_PKEY_fromdata(ctx, out, selection, params) <= 0) {
        rv = ossl_fail("fromdata", CKR_ATTRIBUTE_VALUE_INVALID);
        goto out;
    }
    rv = CKR_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return rv;
}

static const struct {
    CK_ATTRIBUTE_TYPE type;
    const char *param;
} rsa_params[] = {
        {CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N},
        {CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E},
        {CKA_PRIVATE_EXPONENT, OSSL_PKEY_PARAM_RSA_D},
        {CKA_PRIME_1, OSSL_PKEY_PARAM_RSA_FACTOR1},
        {CKA_PRIME_2, OSSL_PKEY_PARAM_RSA_FACTOR2},
        {CKA_EXPONENT_1, OSSL_PKEY_PARAM_RSA_EXPONENT1},
        {CKA_EXPONENT_2, OSSL_PKEY_PARAM_RSA_EXPONENT2},
        {CKA_COEFFICIENT, OSSL_PKEY_PARAM_RSA_COEFFICIENT1},
};
#define RSA_NPARAMS 8

/* Components into BIGNUMs (private ones on the secure heap); all-or-none CRT values. */
static CK_RV rsa_bns(CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                     BIGNUM *bn[RSA_NPARAMS])
{
    size_t count = cls == CKO_PUBLIC_KEY ? 2 : RSA_NPARAMS, crt = 0;
    for (size_t i = 0; i < count; i++) {
        const CK_ATTRIBUTE *a = st_tmpl_find(tmpl, n, rsa_params[i].type);
        if (a == NULL) {
            if (i < 3)
                return CKR_TEMPLATE_INCOMPLETE;
            continue;
        }
        if (a->pValue == NULL || a->ulValueLen == 0 || a->ulValueLen > 2048)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        bn[i] = i >= 2 ? BN_secure_new() : BN_new();
        if (bn[i] == NULL || BN_bin2bn(a->pValue, (int)a->ulValueLen, bn[i]) == NULL)
            return CKR_HOST_MEMORY;
        crt += i >= 3;
    }
    if (crt != 0 && crt != 5)
        return CKR_TEMPLATE_INCOMPLETE;
    int bits = BN_num_bits(bn[0]);
    if (bits < 512 || bits > 16384 || !BN_is_odd(bn[0]) || !BN_is_odd(bn[1]) || BN_is_one(bn[1]))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return CKR_OK;
}

static CK_RV rsa_from_template(CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                               EVP_PKEY **out)
{
    BIGNUM *bn[RSA_NPARAMS] = {0};
    OSSL_PARAM_BLD *bld = NULL;
    CK_RV rv = rsa_bns(cls, tmpl, n, bn);
    if (rv != CKR_OK)
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    for (size_t i = 0; i < RSA_NPARAMS; i++) {
        if (bn[i] != NULL && !OSSL_PARAM_BLD_push_BN(bld, rsa_params[i].param, bn[i])) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
    }
    rv = pkey_fromdata(ST_OID_RSA, cls == CKO_PUBLIC_KEY ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR,
                       bld, out);
out:
    OSSL_PARAM_BLD_free(bld);
    for (size_t i = 0; i < RSA_NPARAMS; i++)
        BN_clear_free(bn[i]);
    return rv;
}

static CK_RV ec_public_from_point(const struct st_curve *c, const unsigned char *pt, size_t len,
                                  EVP_PKEY **out)
{
    if (c->kt == CKK_EC_EDWARDS) {
        if (len != c->len)
            return CKR_ATTRIBUTE_VALUE_INVALID;
        *out = EVP_PKEY_new_raw_public_key_ex(st_libctx(), c->alg, ST_PROPQ, pt, len);
        return *out != NULL ? CKR_OK : ossl_fail("EdDSA public", CKR_ATTRIBUTE_VALUE_INVALID);
    }
    CK_RV rv = CKR_HOST_MEMORY;
    EVP_PKEY_CTX *chk = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->alg, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, len))
        goto out;
    rv = pkey_fromdata(ST_OID_EC, EVP_PKEY_PUBLIC_KEY, bld, out);
    if (rv != CKR_OK)
        goto out;
    chk = EVP_PKEY_CTX_new_from_pkey(st_libctx(), *out, NULL);
    if (chk == NULL || EVP_PKEY_public_check(chk) != 1) { /* on the curve, not infinity */
        EVP_PKEY_free(*out);
        *out = NULL;
        rv = ossl_fail("EC point", CKR_ATTRIBUTE_VALUE_INVALID);
    }
out:
    EVP_PKEY_CTX_free(chk);
    OSSL_PARAM_BLD_free(bld);
    return rv;
}

/* CKA_EC_POINT on create: the DER OCTET STRING of PKCS#11, or the raw point some apps send. */
static CK_RV ec_public_from_template(const struct st_curve *c, const CK_ATTRIBUTE *a,
                                     EVP_PKEY **out)
{
    const unsigned char *content;
    size_t clen;
    if (a->pValue == NULL || a->ulValueLen == 0 || a->ulValueLen > ST_MAX_POINT)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (der_octet_unwrap(a->pValue, a->ulValueLen, &content, &clen) &&
        ec_public_from_point(c, content, clen, out) == CKR_OK)
        return CKR_OK;
    ERR_clear_error();
    return ec_public_from_point(c, a->pValue, a->ulValueLen, out);
}

/* Public point d*G, uncompressed, for an EC private key given only its scalar. */
static CK_RV ec_point_of(const struct st_curve *c, const BIGNUM *d, unsigned char *pt, size_t *len)
{
    CK_RV rv = CKR_ATTRIBUTE_VALUE_INVALID;
    EC_POINT *p = NULL;
    EC_GROUP *g = EC_GROUP_new_by_curve_name_ex(st_libctx(), NULL, c->nid);
    if (g == NULL)
        return ossl_fail("EC group", CKR_FUNCTION_FAILED);
    if (BN_is_zero(d) || BN_is_negative(d) || BN_cmp(d, EC_GROUP_get0_order(g)) >= 0)
        goto out;
    p = EC_POINT_new(g);
    if (p == NULL || !EC_POINT_mul(g, p, d, NULL, NULL, NULL)) {
        rv = ossl_fail("EC mul", CKR_FUNCTION_FAILED);
        goto out;
    }
    *len = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pt, ST_MAX_POINT, NULL);
    rv = *len > 0 ? CKR_OK : CKR_FUNCTION_FAILED;
out:
    EC_POINT_free(p);
    EC_GROUP_free(g);
    return rv;
}

static CK_RV ec_private_from_scalar(const struct st_curve *c, const unsigned char *v, size_t len,
                                    EVP_PKEY **out)
{
    unsigned char pt[ST_MAX_POINT];
    size_t ptlen = 0;
    OSSL_PARAM_BLD *bld = NULL;
    CK_RV rv = CKR_HOST_MEMORY;
    BIGNUM *d = BN_secure_new();
    if (d == NULL || BN_bin2bn(v, (int)len, d) == NULL)
        goto out;
    rv = ec_point_of(c, d, pt, &ptlen);
    if (rv != CKR_OK)
        goto out;
    rv = CKR_HOST_MEMORY;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, c->alg, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen))
        goto out;
    rv = pkey_fromdata(ST_OID_EC, EVP_PKEY_KEYPAIR, bld, out);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_clear_free(d);
    return rv;
}

static CK_RV ec_private_from_template(const struct st_curve *c, const CK_ATTRIBUTE *a,
                                      EVP_PKEY **out)
{
    const unsigned char *v = a->pValue;
    size_t len = a->ulValueLen;
    if (v == NULL || len == 0 || len > c->len + 3)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (c->kt == CKK_EC)
        return ec_private_from_scalar(c, v, len, out);
    if (len != c->len && !(der_octet_unwrap(a->pValue, a->ulValueLen, &v, &len) && len == c->len))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *out = EVP_PKEY_new_raw_private_key_ex(st_libctx(), c->alg, ST_PROPQ, v, len);
    return *out != NULL ? CKR_OK : ossl_fail("EdDSA private", CKR_ATTRIBUTE_VALUE_INVALID);
}

CK_RV st_key_from_template(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, const CK_ATTRIBUTE *tmpl,
                           CK_ULONG n, EVP_PKEY **out)
{
    U_RETURN_IF_FAIL(out != NULL && *out == NULL, CKR_GENERAL_ERROR);
    if (kt == CKK_RSA)
        return rsa_from_template(cls, tmpl, n, out);
    if (kt != CKK_EC && kt != CKK_EC_EDWARDS)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    const CK_ATTRIBUTE *params = st_tmpl_find(tmpl, n, CKA_EC_PARAMS);
    const CK_ATTRIBUTE *mat =
            st_tmpl_find(tmpl, n, cls == CKO_PUBLIC_KEY ? CKA_EC_POINT : CKA_VALUE);
    const struct st_curve *c = NULL;
    if (params == NULL || mat == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    CK_RV rv = parse_ec_params(params, kt, &c);
    if (rv != CKR_OK)
        return rv;
    if (cls == CKO_PUBLIC_KEY)
        return ec_public_from_template(c, mat, out);
    return ec_private_from_template(c, mat, out);
}

/* ---- public attributes from an EVP_PKEY ---------------------------------------------------- */

static CK_RV put_bn_param(struct st_object *o, CK_ATTRIBUTE_TYPE t, const char *param)
{
    BIGNUM *bn = NULL;
    unsigned char buf[2048];
    if (!EVP_PKEY_get_bn_param(o->pkey, param, &bn))
        return ossl_fail("RSA public", CKR_FUNCTION_FAILED);
    int len = BN_num_bytes(bn) <= (int)sizeof(buf) ? BN_bn2bin(bn, buf) : -1;
    BN_free(bn);
    if (len <= 0)
        return CKR_FUNCTION_FAILED;
    return st_attrs_put(&o->attrs, t, buf, (CK_ULONG)len);
}

static CK_RV rsa_attrs(struct st_object *o)
{
    CK_RV rv = put_bn_param(o, CKA_MODULUS, OSSL_PKEY_PARAM_RSA_N);
    if (rv == CKR_OK)
        rv = put_bn_param(o, CKA_PUBLIC_EXPONENT, OSSL_PKEY_PARAM_RSA_E);
    if (rv == CKR_OK && o->cls == CKO_PUBLIC_KEY)
        rv = st_attrs_put_ulong(&o->attrs, CKA_MODULUS_BITS, (CK_ULONG)EVP_PKEY_get_bits(o->pkey));
    return rv;
}

static const struct st_curve *curve_of(const EVP_PKEY *pkey)
{
    char name[64];
    if (EVP_PKEY_is_a(pkey, "ED25519"))
        return curve_by_nid(NID_ED25519);
    if (EVP_PKEY_is_a(pkey, "ED448"))
        return curve_by_nid(NID_ED448);
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL))
        return NULL;
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef)
        nid = EC_curve_nist2nid(name);
    return curve_by_nid(nid);
}

static CK_RV put_ec_params(struct st_object *o, const struct st_curve *c)
{
    unsigned char der[32];
    unsigned char *p = der;
    const ASN1_OBJECT *obj = OBJ_nid2obj(c->nid);
    if (obj == NULL || i2d_ASN1_OBJECT(obj, NULL) > (int)sizeof(der))
        return CKR_FUNCTION_FAILED;
    int len = i2d_ASN1_OBJECT(obj, &p);
    if (len <= 0)
        return CKR_FUNCTION_FAILED;
    return st_attrs_put(&o->attrs, CKA_EC_PARAMS, der, (CK_ULONG)len);
}

/* CKA_EC_POINT: DER OCTET STRING of the uncompressed point / raw EdDSA key (PKCS#11 3.0 §2.3). */
static CK_RV put_ec_point(struct st_object *o, const struct st_curve *c)
{
    unsigned char pt[ST_MAX_POINT], der[ST_MAX_POINT + 3];
    size_t len = sizeof(pt);
    int ok;
    if (c->kt == CKK_EC_EDWARDS) {
        ok = EVP_PKEY_get_raw_public_key(o->pkey, pt, &len);
    } else {
        (void)EVP_PKEY_set_utf8_string_param(o->pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
                                             OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED);
        ok = EVP_PKEY_get_octet_string_param(o->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt,
                                             sizeof(pt), &len);
    }
    if (!ok || len == 0 || len > sizeof(pt))
        return ossl_fail("EC point", CKR_FUNCTION_FAILED);
    size_t dlen = der_octet_wrap(pt, len, der);
    return st_attrs_put(&o->attrs, CKA_EC_POINT, der, (CK_ULONG)dlen);
}

CK_RV st_key_public_attrs(struct st_object *o)
{
    CK_RV rv = CKR_OK;
    if (o->kt == CKK_RSA) {
        rv = rsa_attrs(o);
    } else {
        const struct st_curve *c = curve_of(o->pkey);
        if (c == NULL || c->kt != o->kt)
            return CKR_CURVE_NOT_SUPPORTED;
        rv = put_ec_params(o, c);
        if (rv == CKR_OK && o->cls == CKO_PUBLIC_KEY)
            rv = put_ec_point(o, c);
    }
    if (rv != CKR_OK)
        return rv;
    unsigned char *spki = NULL;
    size_t len = 0;
    rv = st_spki_der(o->pkey, &spki, &len);
    if (rv == CKR_FUNCTION_FAILED)
        return ossl_fail("SPKI", rv);
    if (rv == CKR_OK)
        rv = st_attrs_put(&o->attrs, CKA_PUBLIC_KEY_INFO, spki, (CK_ULONG)len);
    OPENSSL_free(spki);
    return rv;
}

/* ---- private export, CKA_ID, check values --------------------------------------------------- */

static CK_RV export_bn(const EVP_PKEY *pkey, const char *param, int pad, struct u_secbuf **out)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
        return ossl_fail("export", CKR_ATTRIBUTE_TYPE_INVALID);
    int len = pad > 0 ? pad : BN_num_bytes(bn);
    CK_RV rv = CKR_HOST_MEMORY;
    struct u_secbuf *b = u_secbuf_new((size_t)len);
    if (b != NULL && BN_bn2binpad(bn, b->data, len) == len) {
        *out = b;
        b = NULL;
        rv = CKR_OK;
    }
    u_secbuf_free(b);
    BN_clear_free(bn);
    return rv;
}

CK_RV st_key_export_private(const EVP_PKEY *pkey, CK_ATTRIBUTE_TYPE t, struct u_secbuf **out)
{
    CK_KEY_TYPE kt = st_key_type_of(pkey);
    if (kt == CKK_RSA) {
        for (size_t i = 2; i < RSA_NPARAMS; i++) {
            if (rsa_params[i].type == t)
                return export_bn(pkey, rsa_params[i].param, 0, out);
        }
        return CKR_ATTRIBUTE_TYPE_INVALID;
    }
    if (t != CKA_VALUE)
        return CKR_ATTRIBUTE_TYPE_INVALID;
    if (kt == CKK_EC)
        return export_bn(pkey, OSSL_PKEY_PARAM_PRIV_KEY, (EVP_PKEY_get_bits(pkey) + 7) / 8, out);
    size_t len = 0;
    if (kt != CKK_EC_EDWARDS || !EVP_PKEY_get_raw_private_key(pkey, NULL, &len))
        return CKR_ATTRIBUTE_TYPE_INVALID;
    struct u_secbuf *b = u_secbuf_new(len);
    if (b == NULL)
        return CKR_HOST_MEMORY;
    if (!EVP_PKEY_get_raw_private_key(pkey, b->data, &len)) {
        u_secbuf_free(b);
        return ossl_fail("export", CKR_FUNCTION_FAILED);
    }
    *out = b;
    return CKR_OK;
}

static CK_RV sha1(const unsigned char *p, size_t len, unsigned char out[20])
{
    EVP_MD *md = EVP_MD_fetch(st_libctx(), "SHA1", NULL);
    unsigned int olen = 0;
    int ok = md != NULL && EVP_Digest(p, len, out, &olen, md, NULL) && olen == 20;
    EVP_MD_free(md);
    return ok ? CKR_OK : ossl_fail("SHA-1", CKR_FUNCTION_FAILED);
}

/* The subjectPublicKey bytes as OpenSSL's encoder writes them. */
static CK_RV key_id_encoder(EVP_PKEY *pkey, unsigned char out[20])
{
    X509_PUBKEY *xpk = NULL;
    const unsigned char *pk = NULL;
    int pklen = 0;
    CK_RV rv = CKR_FUNCTION_FAILED;
    if (X509_PUBKEY_set(&xpk, pkey) && X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xpk))
        rv = sha1(pk, (size_t)pklen, out);
    else
        rv = ossl_fail("key id", CKR_FUNCTION_FAILED);
    X509_PUBKEY_free(xpk);
    return rv;
}

CK_RV st_key_id_sha1(EVP_PKEY *pkey, unsigned char out[20])
{
    unsigned char *spki = NULL;
    size_t len = 0, off = 0, bits = 0;
    CK_RV rv = st_spki_encode(pkey, &spki, &len, &off, &bits);
    if (rv == CKR_OK)
        rv = sha1(spki + off, bits, out);
    OPENSSL_free(spki);
    if (rv != CKR_FUNCTION_NOT_SUPPORTED)
        return rv;
    return key_id_encoder(pkey, out); /* not a common type: OpenSSL's encoder */
}

CK_RV st_secret_check_value(CK_KEY_TYPE kt, const struct u_secbuf *v, unsigned char out[3])
{
    unsigned char block[20] = {0}, enc[32];
    CK_RV rv = CKR_FUNCTION_FAILED;
    int outl = 0;
    if (kt != CKK_AES) { /* generic secret: SHA-1 of the value */
        rv = sha1(v->data, v->len, block);
        memcpy(out, block, 3);
        OPENSSL_cleanse(block, sizeof(block));
        return rv;
    }
    const char *name = v->len == 16 ? "AES-128-ECB" : v->len == 24 ? "AES-192-ECB" : "AES-256-ECB";
    EVP_CIPHER *c = EVP_CIPHER_fetch(st_libctx(), name, NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (c != NULL && ctx != NULL && EVP_EncryptInit_ex2(ctx, c, v->data, NULL, NULL) &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) && EVP_EncryptUpdate(ctx, enc, &outl, block, 16) &&
        outl == 16) {
        memcpy(out, enc, 3);
        rv = CKR_OK;
    } else {
        rv = ossl_fail("check value", CKR_FUNCTION_FAILED);
    }
    OPENSSL_cleanse(enc, sizeof(enc));
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(c);
    return rv;
}
