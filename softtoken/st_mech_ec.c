/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EC family (P-256, P-384, P-521): CKM_ECDSA, CKM_ECDSA_SHA{1,224,256,384,512} (multi-part),
 * CKM_ECDH1_DERIVE (CKD_NULL and CKD_SHA*_KDF = ANSI X9.63 KDF), CKM_EC_KEY_PAIR_GEN.
 * PKCS#11 signatures are r||s, each the byte length of the group order (PKCS#11 3.0 §2.3.1);
 * OpenSSL speaks DER, so the two are converted at this boundary.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <string.h>

#include "st_mech.h"
#include "u_macros.h"
#include "u_rv.h"

#define ECDSA_DER_MAX 160 /* DER of two 66-byte integers with headers */

/*
 * ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 3279 §2.2.3) <-> r||s. Hand-coded
 * DER on stack buffers: the BIGNUM round trip of d2i_ECDSA_SIG cost more than the rest of the
 * PKCS#11 path. Lengths stay below 128 for the integers (at most 67 bytes for P-521) and below
 * 256 for the sequence, so only the short and 0x81 length forms occur.
 */
static bool der_len(const unsigned char **p, const unsigned char *end, size_t *len)
{
    if (end - *p < 1)
        return false;
    unsigned char b = *(*p)++;
    if (b < 0x80) {
        *len = b;
        return true;
    }
    if (b != 0x81 || end - *p < 1)
        return false;
    *len = *(*p)++;
    return true;
}

/* One non-negative INTEGER into out[n], right-aligned. */
static bool der_uint(const unsigned char **p, const unsigned char *end, CK_BYTE *out, size_t n)
{
    size_t len;
    if (end - *p < 2 || *(*p)++ != 0x02 || !der_len(p, end, &len) || (size_t)(end - *p) < len)
        return false;
    const unsigned char *v = *p;
    *p += len;
    while (len > 0 && *v == 0) {
        v++;
        len--;
    }
    if (len > n)
        return false;
    memset(out, 0, n - len);
    memcpy(out + n - len, v, len);
    return true;
}

/* DER ECDSA-Sig-Value → r||s of 2*n bytes. */
static CK_RV der_to_rs(const unsigned char *der, size_t derlen, CK_BYTE *out, CK_ULONG n)
{
    const unsigned char *p = der;
    const unsigned char *end = der + derlen;
    size_t len;
    if (derlen < 2 || *p++ != 0x30 || !der_len(&p, end, &len) || (size_t)(end - p) != len ||
        !der_uint(&p, end, out, n) || !der_uint(&p, end, out + n, n) || p != end)
        return CKR_FUNCTION_FAILED;
    return CKR_OK;
}

/* One INTEGER of the minimal encoding of the big-endian v[n]; returns bytes written. */
static size_t put_uint(unsigned char *o, const CK_BYTE *v, size_t n)
{
    while (n > 1 && *v == 0) {
        v++;
        n--;
    }
    bool pad = (*v & 0x80) != 0;
    o[0] = 0x02;
    o[1] = (unsigned char)(n + pad);
    o[2] = 0;
    memcpy(o + 2 + pad, v, n);
    return 2 + pad + n;
}

/* r||s (siglen ≤ 132) → DER in der[ECDSA_DER_MAX]. */
static size_t rs_to_der(const CK_BYTE *rs, CK_ULONG siglen, unsigned char *der)
{
    unsigned char body[ECDSA_DER_MAX];
    size_t bl = put_uint(body, rs, siglen / 2);
    bl += put_uint(body + bl, rs + siglen / 2, siglen / 2);
    size_t h = 0;
    der[h++] = 0x30;
    if (bl >= 0x80)
        der[h++] = 0x81;
    der[h++] = (unsigned char)bl;
    memcpy(der + h, body, bl);
    return h + bl;
}

static CK_RV ecdsa_init(struct st_op *op, const CK_MECHANISM *m)
{
    (void)m;
    EVP_PKEY *pkey = st_object_pkey(op->key);
    op->out_len = 2 * (CK_ULONG)((EVP_PKEY_get_bits(pkey) + 7) / 8);
    if (op->desc->md == ST_MD_NONE) {
        op->pctx = EVP_PKEY_CTX_new_from_pkey(st_libctx(), pkey, NULL);
        if (op->pctx == NULL)
            return st_ossl_err("EVP_PKEY_CTX_new_from_pkey", CKR_HOST_MEMORY);
        int r = op->type == ST_OP_SIGN ? EVP_PKEY_sign_init(op->pctx)
                                       : EVP_PKEY_verify_init(op->pctx);
        return r == 1 ? CKR_OK : st_ossl_err("EVP_PKEY_sign_init", CKR_FUNCTION_FAILED);
    }
    op->md = EVP_MD_CTX_new();
    if (op->md == NULL)
        return CKR_HOST_MEMORY;
    const char *md = st_md_name(op->desc->md);
    int r = op->type == ST_OP_SIGN
                    ? EVP_DigestSignInit_ex(op->md, NULL, md, st_libctx(), NULL, pkey, NULL)
                    : EVP_DigestVerifyInit_ex(op->md, NULL, md, st_libctx(), NULL, pkey, NULL);
    return r == 1 ? CKR_OK : st_ossl_err("EVP_DigestSignInit_ex", CKR_FUNCTION_FAILED);
}

/* One signing step: raw (EVP_PKEY_sign over the given hash) or hashed (final/one-shot). */
static CK_RV ecdsa_emit(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, bool final,
                        CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    unsigned char der[ECDSA_DER_MAX];
    size_t derlen = sizeof(der);
    int r;
    if (op->pctx != NULL)
        r = EVP_PKEY_sign(op->pctx, der, &derlen, in, inlen);
    else if (final)
        r = EVP_DigestSignFinal(op->md, der, &derlen);
    else
        r = EVP_DigestSign(op->md, der, &derlen, in, inlen);
    if (r != 1)
        return st_ossl_err("ECDSA sign", CKR_FUNCTION_FAILED);
    rv = der_to_rs(der, derlen, out, op->out_len / 2);
    if (rv == CKR_OK)
        *outlen = op->out_len;
    return rv;
}

static CK_RV ecdsa_sign(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                        CK_ULONG_PTR outlen)
{
    return ecdsa_emit(op, in, inlen, false, out, outlen);
}

static CK_RV ecdsa_sign_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    return ecdsa_emit(op, NULL, 0, true, out, outlen);
}

static CK_RV ecdsa_sign_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (EVP_DigestSignUpdate(op->md, in, inlen) != 1)
        return st_ossl_err("EVP_DigestSignUpdate", CKR_FUNCTION_FAILED);
    return CKR_OK;
}

static CK_RV ecdsa_verify_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (EVP_DigestVerifyUpdate(op->md, in, inlen) != 1)
        return st_ossl_err("EVP_DigestVerifyUpdate", CKR_FUNCTION_FAILED);
    return CKR_OK;
}

static CK_RV ecdsa_check(struct st_op *op, const CK_BYTE *data, CK_ULONG len, bool final,
                         const CK_BYTE *sig, CK_ULONG siglen)
{
    if (siglen != op->out_len || siglen > 2 * 66)
        return CKR_SIGNATURE_LEN_RANGE;
    unsigned char der[ECDSA_DER_MAX];
    size_t derlen = rs_to_der(sig, siglen, der);
    int r;
    if (op->pctx != NULL)
        r = EVP_PKEY_verify(op->pctx, der, derlen, data, len);
    else if (final)
        r = EVP_DigestVerifyFinal(op->md, der, derlen);
    else
        r = EVP_DigestVerify(op->md, der, derlen, data, len);
    return r == 1 ? CKR_OK : st_ossl_err("ECDSA verify", CKR_SIGNATURE_INVALID);
}

static CK_RV ecdsa_verify(struct st_op *op, const CK_BYTE *data, CK_ULONG len, const CK_BYTE *sig,
                          CK_ULONG siglen)
{
    return ecdsa_check(op, data, len, false, sig, siglen);
}

static CK_RV ecdsa_verify_final(struct st_op *op, const CK_BYTE *sig, CK_ULONG siglen)
{
    return ecdsa_check(op, NULL, 0, true, sig, siglen);
}

/* ---- ECDH ---- */

/* Public data: raw EC point, or a DER OCTET STRING around it (PKCS#11 3.0 §2.3.7 allows both). */
static EVP_PKEY *peer_key(EVP_PKEY *base, const CK_BYTE *data, CK_ULONG len)
{
    char group[64];
    if (EVP_PKEY_get_utf8_string_param(base, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       NULL) != 1)
        return NULL;
    size_t fl = (size_t)(EVP_PKEY_get_bits(base) + 7) / 8;
    const unsigned char *pt = data;
    size_t ptlen = len;
    ASN1_OCTET_STRING *os = NULL;
    if (!(len == 2 * fl + 1 && data[0] == 0x04) && !(len == fl + 1 && (data[0] & 0xfe) == 0x02)) {
        const unsigned char *p = data;
        os = d2i_ASN1_OCTET_STRING(NULL, &p, (long)len);
        if (os == NULL || p != data + len) {
            ASN1_OCTET_STRING_free(os);
            return NULL;
        }
        pt = ASN1_STRING_get0_data(os);
        ptlen = (size_t)ASN1_STRING_length(os);
    }
    OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)(uintptr_t)pt,
                                              ptlen),
            OSSL_PARAM_construct_end(),
    };
    EVP_PKEY *peer = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(st_libctx(), ST_OID_EC, ST_PROPQ);
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &peer, EVP_PKEY_PUBLIC_KEY, params) != 1)
        peer = NULL;
    EVP_PKEY_CTX_free(ctx);
    ASN1_OCTET_STRING_free(os);
    return peer;
}

/* Z = x coordinate of d·Q (SP 800-56A ECC CDH), into a new secret buffer. */
static CK_RV ecdh_z(EVP_PKEY *base, EVP_PKEY *peer, struct u_secbuf **z)
{
    CK_RV rv = CKR_FUNCTION_FAILED;
    size_t len = 0;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(st_libctx(), base, NULL);
    if (ctx == NULL || EVP_PKEY_derive_init(ctx) != 1 ||
        EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) != 1 || EVP_PKEY_derive(ctx, NULL, &len) != 1) {
        rv = st_ossl_err("ECDH init", CKR_MECHANISM_PARAM_INVALID);
        goto out;
    }
    *z = u_secbuf_new(len);
    if (*z == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if (EVP_PKEY_derive(ctx, (*z)->data, &len) != 1) {
        u_secbuf_free(*z);
        *z = NULL;
        rv = st_ossl_err("EVP_PKEY_derive", CKR_FUNCTION_FAILED);
        goto out;
    }
    (*z)->len = len;
    rv = CKR_OK;
out:
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

static enum st_md_id kdf_md(CK_ULONG kdf)
{
    switch (kdf) {
    case CKD_SHA1_KDF:
        return ST_MD_SHA1;
    case CKD_SHA224_KDF:
        return ST_MD_SHA224;
    case CKD_SHA256_KDF:
        return ST_MD_SHA256;
    case CKD_SHA384_KDF:
        return ST_MD_SHA384;
    case CKD_SHA512_KDF:
        return ST_MD_SHA512;
    default:
        return ST_MD_NONE;
    }
}

/* ANSI X9.63 KDF (PKCS#11 3.0 §2.3.7, CKD_SHA*_KDF) of Z with the shared data. */
static CK_RV x963(enum st_md_id md, const struct u_secbuf *z, const CK_ECDH1_DERIVE_PARAMS *p,
                  struct u_secbuf *out)
{
    EVP_KDF *kdf = EVP_KDF_fetch(st_libctx(), "X963KDF", NULL);
    EVP_KDF_CTX *kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                             (char *)(uintptr_t)st_md_name(md), 0),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, z->data, z->len),
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, p->pSharedData,
                                              p->ulSharedDataLen),
            OSSL_PARAM_construct_end(),
    };
    CK_RV rv = CKR_OK;
    if (kctx == NULL || EVP_KDF_derive(kctx, out->data, out->len, params) != 1)
        rv = st_ossl_err("X963KDF", CKR_FUNCTION_FAILED);
    EVP_KDF_CTX_free(kctx);
    EVP_KDF_free(kdf);
    return rv;
}

/* Length of the derived key: CKA_VALUE_LEN, else the AES-size or full Z. */
static CK_RV derived_len(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_KEY_TYPE kt, size_t zlen,
                         bool kdf, size_t *len)
{
    CK_ULONG v = 0;
    CK_RV rv = st_tmpl_ulong(tmpl, n, CKA_VALUE_LEN, &v);
    if (rv == CKR_TEMPLATE_INCOMPLETE)
        v = (CK_ULONG)zlen;
    else if (rv != CKR_OK)
        return rv;
    if (v == 0 || (!kdf && v > zlen) || v > 4096)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (kt == CKK_AES && v != 16 && v != 24 && v != 32)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *len = v;
    return CKR_OK;
}

static CK_RV ecdh_params(const CK_MECHANISM *m, const CK_ECDH1_DERIVE_PARAMS **out,
                         enum st_md_id *md)
{
    const CK_ECDH1_DERIVE_PARAMS *p = m->pParameter;
    if (p == NULL || m->ulParameterLen != sizeof(*p) || p->pPublicData == NULL ||
        p->ulPublicDataLen == 0)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulSharedDataLen != 0 && p->pSharedData == NULL)
        return CKR_MECHANISM_PARAM_INVALID;
    *md = kdf_md(p->kdf);
    if (p->kdf != CKD_NULL && *md == ST_MD_NONE)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->kdf == CKD_NULL && p->ulSharedDataLen != 0)
        return CKR_MECHANISM_PARAM_INVALID; /* §2.3.7: no shared data with CKD_NULL */
    *out = p;
    return CKR_OK;
}

static CK_RV ecdh_derive(const struct st_mech_desc *d, const CK_MECHANISM *m,
                         struct st_object *base, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                         struct st_object **out)
{
    const CK_ECDH1_DERIVE_PARAMS *p = NULL;
    enum st_md_id md;
    CK_RV rv = ecdh_params(m, &p, &md);
    if (rv != CKR_OK)
        return rv;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    const CK_ATTRIBUTE *a = st_tmpl_find(tmpl, n, CKA_KEY_TYPE);
    if (a != NULL && (a->pValue == NULL || a->ulValueLen != sizeof(CK_KEY_TYPE)))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    if (a != NULL)
        kt = *(const CK_KEY_TYPE *)a->pValue;
    if (kt != CKK_GENERIC_SECRET && kt != CKK_AES)
        return CKR_TEMPLATE_INCONSISTENT;

    struct u_secbuf *z = NULL;
    struct u_secbuf *val = NULL;
    size_t len = 0;
    EVP_PKEY *peer = peer_key(st_object_pkey(base), p->pPublicData, p->ulPublicDataLen);
    if (peer == NULL) {
        rv = st_ossl_err("ECDH public data", CKR_MECHANISM_PARAM_INVALID);
        goto out;
    }
    rv = ecdh_z(st_object_pkey(base), peer, &z);
    if (rv != CKR_OK || z == NULL)
        goto out;
    rv = derived_len(tmpl, n, kt, z->len, md != ST_MD_NONE, &len);
    if (rv != CKR_OK)
        goto out;
    val = u_secbuf_new(len);
    if (val == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    if (md == ST_MD_NONE) /* §2.3.9: "truncation removes bytes from the leading end" */
        memcpy(val->data, z->data + z->len - len, len);
    else
        rv = x963(md, z, p, val);
    if (rv != CKR_OK)
        goto out;
    rv = st_object_new_secret(val, kt, tmpl, n, ST_ORIGIN_DERIVE, d->type, base, out);
    val = NULL;
out:
    u_secbuf_free(val);
    u_secbuf_free(z);
    EVP_PKEY_free(peer);
    return rv;
}

/* ---- key-pair generation ---- */

static CK_RV ec_keypair_gen(const struct st_mech_desc *d, const CK_MECHANISM *m,
                            const CK_ATTRIBUTE *pub_tmpl, CK_ULONG npub,
                            const CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv, struct st_object **pub,
                            struct st_object **priv)
{
    if (m->pParameter != NULL || m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    const CK_ATTRIBUTE *a = st_tmpl_find(pub_tmpl, npub, CKA_EC_PARAMS);
    if (a == NULL)
        return CKR_TEMPLATE_INCOMPLETE;
    const char *curve = a->pValue != NULL ? st_ec_params_curve(a->pValue, a->ulValueLen) : NULL;
    if (curve == NULL || strncmp(curve, "ED", 2) == 0)
        return CKR_CURVE_NOT_SUPPORTED;
    EVP_PKEY *pkey = NULL;
    CK_RV rv = CKR_OK;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(st_libctx(), ST_OID_EC, ST_PROPQ);
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_group_name(ctx, curve) != 1 || EVP_PKEY_generate(ctx, &pkey) != 1)
        rv = st_ossl_err("EC keygen", CKR_FUNCTION_FAILED);
    EVP_PKEY_CTX_free(ctx);
    if (rv != CKR_OK)
        return rv;
    return st_keypair_objects(pkey, d->type, pub_tmpl, npub, priv_tmpl, npriv, pub, priv);
}

static const struct st_mech_ops ecdsa_raw_ops = {
        .init = ecdsa_init,
        .sign = ecdsa_sign,
        .verify = ecdsa_verify,
};

static const struct st_mech_ops ecdsa_hash_ops = {
        .init = ecdsa_init,
        .sign = ecdsa_sign,
        .sign_update = ecdsa_sign_update,
        .sign_final = ecdsa_sign_final,
        .verify = ecdsa_verify,
        .verify_update = ecdsa_verify_update,
        .verify_final = ecdsa_verify_final,
};

static const struct st_mech_ops ecdh_ops = {.derive = ecdh_derive};
static const struct st_mech_ops keygen_ops = {.keypair_gen = ec_keypair_gen};

#define EC_F (CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS)
#define ECDSA_ROW(mech, id, o)                                                                     \
    {                                                                                              \
        .type = (mech), .info = {256, 521, CKF_SIGN | CKF_VERIFY | EC_F},                          \
        .flags = ST_MF_PARAM_NONE, .key_type = CKK_EC, .md = (id), .ops = (o)                      \
    }

/* Sorted by type. */
const struct st_mech_desc st_mech_ec_rows[] = {
        {.type = CKM_EC_KEY_PAIR_GEN,
         .info = {256, 521, CKF_GENERATE_KEY_PAIR | EC_F},
         .flags = ST_MF_PARAM_NONE,
         .key_type = CKK_EC,
         .ops = &keygen_ops},
        ECDSA_ROW(CKM_ECDSA, ST_MD_NONE, &ecdsa_raw_ops),
        ECDSA_ROW(CKM_ECDSA_SHA1, ST_MD_SHA1, &ecdsa_hash_ops),
        ECDSA_ROW(CKM_ECDSA_SHA224, ST_MD_SHA224, &ecdsa_hash_ops),
        ECDSA_ROW(CKM_ECDSA_SHA256, ST_MD_SHA256, &ecdsa_hash_ops),
        ECDSA_ROW(CKM_ECDSA_SHA384, ST_MD_SHA384, &ecdsa_hash_ops),
        ECDSA_ROW(CKM_ECDSA_SHA512, ST_MD_SHA512, &ecdsa_hash_ops),
        {.type = CKM_ECDH1_DERIVE,
         .info = {256, 521, CKF_DERIVE | EC_F},
         .key_type = CKK_EC,
         .ops = &ecdh_ops},
};
const size_t st_mech_ec_count = U_ARRAY_SIZE(st_mech_ec_rows);
