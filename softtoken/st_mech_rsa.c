/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RSA family: CKM_RSA_PKCS (sign, verify, encrypt, decrypt, wrap, unwrap), CKM_RSA_X_509,
 * CKM_RSA_PKCS_PSS, CKM_RSA_PKCS_OAEP (SHA-1..SHA-512, MGF1, optional label),
 * CKM_SHA{1,224,256,384,512}_RSA_PKCS and _RSA_PKCS_PSS (multi-part), and key-pair generation
 * 2048-4096 bits. The key's EVP_PKEY is parsed once by the object; each operation has its own
 * EVP_PKEY_CTX (or EVP_MD_CTX for the hashed mechanisms).
 */
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/rsa.h>
#include <string.h>

#include "st_mech.h"
#include "u_macros.h"
#include "u_rv.h"

#define RSA_MAX_BYTES 2048 /* 16384-bit modulus */

/* ---- parameters ---- */

static CK_RV pss_setup(struct st_op *op, const CK_MECHANISM *m, EVP_PKEY_CTX *pctx)
{
    const CK_RSA_PKCS_PSS_PARAMS *p = m->pParameter;
    if (p == NULL || m->ulParameterLen != sizeof(*p))
        return CKR_MECHANISM_PARAM_INVALID;
    enum st_md_id md = st_md_from_mech(p->hashAlg);
    enum st_md_id mgf = st_md_from_mgf(p->mgf);
    if (md == ST_MD_NONE || mgf == ST_MD_NONE)
        return CKR_MECHANISM_PARAM_INVALID;
    if (op->desc->md != ST_MD_NONE && op->desc->md != md)
        return CKR_MECHANISM_PARAM_INVALID; /* PKCS#11 3.0 §2.1.14: must match the mechanism */
    CK_ULONG hlen = (CK_ULONG)EVP_MD_get_size(st_ctx_md(md));
    if (hlen + 2 > op->out_len || p->sLen > op->out_len - hlen - 2)
        return CKR_MECHANISM_PARAM_INVALID;
    if (op->desc->md == ST_MD_NONE && EVP_PKEY_CTX_set_signature_md(pctx, st_ctx_md(md)) <= 0)
        return st_ossl_err("set_signature_md", CKR_FUNCTION_FAILED);
    if (EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, st_ctx_md(mgf)) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, (int)p->sLen) <= 0)
        return st_ossl_err("PSS parameters", CKR_MECHANISM_PARAM_INVALID);
    op->ivlen = hlen; /* pre-hashed PSS input length */
    return CKR_OK;
}

static CK_RV oaep_setup(struct st_op *op, const CK_MECHANISM *m, EVP_PKEY_CTX *pctx)
{
    const CK_RSA_PKCS_OAEP_PARAMS *p = m->pParameter;
    if (p == NULL || m->ulParameterLen != sizeof(*p))
        return CKR_MECHANISM_PARAM_INVALID;
    enum st_md_id md = st_md_from_mech(p->hashAlg);
    enum st_md_id mgf = st_md_from_mgf(p->mgf);
    if (md == ST_MD_NONE || mgf == ST_MD_NONE)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->source != 0 && p->source != CKZ_DATA_SPECIFIED)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulSourceDataLen != 0 && p->pSourceData == NULL)
        return CKR_MECHANISM_PARAM_INVALID;
    CK_ULONG hlen = (CK_ULONG)EVP_MD_get_size(st_ctx_md(md));
    if (2 * hlen + 2 > op->out_len)
        return CKR_KEY_SIZE_RANGE;
    if (EVP_PKEY_CTX_set_rsa_oaep_md(pctx, st_ctx_md(md)) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, st_ctx_md(mgf)) <= 0)
        return st_ossl_err("OAEP parameters", CKR_MECHANISM_PARAM_INVALID);
    if (p->ulSourceDataLen > 0) {
        void *label = OPENSSL_memdup(p->pSourceData, p->ulSourceDataLen);
        if (label == NULL)
            return CKR_HOST_MEMORY;
        if (EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, label, (int)p->ulSourceDataLen) <= 0) {
            OPENSSL_free(label);
            return st_ossl_err("OAEP label", CKR_MECHANISM_PARAM_INVALID);
        }
    }
    op->ivlen = 2 * hlen + 2; /* OAEP overhead */
    return CKR_OK;
}

static CK_RV pad_params(struct st_op *op, const CK_MECHANISM *m, EVP_PKEY_CTX *pctx)
{
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, op->desc->ossl_pad) <= 0)
        return st_ossl_err("set_rsa_padding", CKR_FUNCTION_FAILED);
    switch (op->desc->ossl_pad) {
    case RSA_PKCS1_PSS_PADDING:
        return pss_setup(op, m, pctx);
    case RSA_PKCS1_OAEP_PADDING:
        return oaep_setup(op, m, pctx);
    default:
        op->ivlen = op->desc->ossl_pad == RSA_PKCS1_PADDING ? 11 : 0;
        return CKR_OK;
    }
}

/* ---- raw (single-part) mechanisms ---- */

static CK_RV raw_init(struct st_op *op, const CK_MECHANISM *m)
{
    EVP_PKEY *pkey = st_object_pkey(op->key);
    op->out_len = (CK_ULONG)EVP_PKEY_get_size(pkey);
    if (op->out_len > RSA_MAX_BYTES)
        return CKR_KEY_SIZE_RANGE;
    op->pctx = EVP_PKEY_CTX_new_from_pkey(st_libctx(), pkey, NULL);
    if (op->pctx == NULL)
        return st_ossl_err("EVP_PKEY_CTX_new_from_pkey", CKR_HOST_MEMORY);
    int r;
    switch (op->type) {
    case ST_OP_SIGN:
        r = EVP_PKEY_sign_init(op->pctx);
        break;
    case ST_OP_VERIFY:
        r = EVP_PKEY_verify_init(op->pctx);
        break;
    case ST_OP_ENCRYPT:
        r = EVP_PKEY_encrypt_init(op->pctx);
        break;
    case ST_OP_DECRYPT:
        r = EVP_PKEY_decrypt_init(op->pctx);
        break;
    default:
        return CKR_MECHANISM_INVALID;
    }
    if (r <= 0)
        return st_ossl_err("EVP_PKEY_*_init", CKR_FUNCTION_FAILED);
    return pad_params(op, m, op->pctx);
}

/* Input length rules per padding: PKCS#1 v1.5 k-11, OAEP k-2h-2, raw k, PSS exactly h. */
static CK_RV check_input(const struct st_op *op, CK_ULONG inlen)
{
    if (op->desc->ossl_pad == RSA_PKCS1_PSS_PADDING)
        return inlen == op->ivlen ? CKR_OK : CKR_DATA_LEN_RANGE;
    return inlen + op->ivlen <= op->out_len ? CKR_OK : CKR_DATA_LEN_RANGE;
}

/* CKM_RSA_X_509 input is a big-endian integer; OpenSSL wants exactly k bytes. */
static const CK_BYTE *raw_input(const struct st_op *op, const CK_BYTE *in, CK_ULONG *inlen,
                                CK_BYTE *tmp)
{
    if (op->desc->ossl_pad != RSA_NO_PADDING || *inlen == op->out_len)
        return in;
    memset(tmp, 0, op->out_len - *inlen);
    memcpy(tmp + op->out_len - *inlen, in, *inlen);
    *inlen = op->out_len;
    return tmp;
}

/* EVP_PKEY_sign and EVP_PKEY_encrypt have one shape: k bytes out of a k-byte (or padded) input. */
typedef int (*pkey_fn)(EVP_PKEY_CTX *, unsigned char *, size_t *, const unsigned char *, size_t);

static CK_RV raw_one_shot(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                          CK_ULONG_PTR outlen, pkey_fn fn, const char *fn_name)
{
    CK_RV rv = check_input(op, inlen);
    if (rv != CKR_OK)
        return rv;
    bool go;
    rv = st_out_room(op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    CK_BYTE tmp[RSA_MAX_BYTES];
    const CK_BYTE *data = raw_input(op, in, &inlen, tmp);
    size_t n = *outlen;
    if (fn(op->pctx, out, &n, data, inlen) <= 0)
        rv = st_ossl_err(fn_name, CKR_FUNCTION_FAILED);
    else
        *outlen = (CK_ULONG)n;
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return rv;
}

static CK_RV raw_sign(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                      CK_ULONG_PTR outlen)
{
    return raw_one_shot(op, in, inlen, out, outlen, EVP_PKEY_sign, "EVP_PKEY_sign");
}

static CK_RV raw_verify(struct st_op *op, const CK_BYTE *data, CK_ULONG len, const CK_BYTE *sig,
                        CK_ULONG siglen)
{
    CK_RV rv = check_input(op, len);
    if (rv != CKR_OK)
        return rv;
    if (siglen != op->out_len)
        return CKR_SIGNATURE_LEN_RANGE;
    CK_BYTE tmp[RSA_MAX_BYTES];
    const CK_BYTE *tbs = raw_input(op, data, &len, tmp);
    if (EVP_PKEY_verify(op->pctx, sig, siglen, tbs, len) != 1)
        return st_ossl_err("EVP_PKEY_verify", CKR_SIGNATURE_INVALID);
    return CKR_OK;
}

static CK_RV raw_encrypt(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                         CK_ULONG_PTR outlen)
{
    return raw_one_shot(op, in, inlen, out, outlen, EVP_PKEY_encrypt, "EVP_PKEY_encrypt");
}

/* The plaintext length is only known after the private-key operation: a length query answers
 * k (PKCS#11 allows an upper bound); a real call decrypts into a wiped buffer and copies. */
static CK_RV raw_decrypt(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                         CK_ULONG_PTR outlen)
{
    if (inlen != op->out_len)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (out == NULL) {
        *outlen = op->out_len;
        return CKR_OK;
    }
    CK_BYTE tmp[RSA_MAX_BYTES];
    size_t n = sizeof(tmp);
    CK_RV rv;
    if (EVP_PKEY_decrypt(op->pctx, tmp, &n, in, inlen) <= 0)
        rv = st_ossl_err("EVP_PKEY_decrypt", CKR_ENCRYPTED_DATA_INVALID);
    else
        rv = u_copy_out(tmp, n, out, outlen);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return rv;
}

/* ---- hashed mechanisms (multi-part) ---- */

static CK_RV hash_init(struct st_op *op, const CK_MECHANISM *m)
{
    EVP_PKEY *pkey = st_object_pkey(op->key);
    EVP_PKEY_CTX *pctx = NULL; /* owned by op->md */
    op->out_len = (CK_ULONG)EVP_PKEY_get_size(pkey);
    op->md = EVP_MD_CTX_new();
    if (op->md == NULL)
        return CKR_HOST_MEMORY;
    const char *md = st_md_name(op->desc->md);
    int r = op->type == ST_OP_SIGN
                    ? EVP_DigestSignInit_ex(op->md, &pctx, md, st_libctx(), NULL, pkey, NULL)
                    : EVP_DigestVerifyInit_ex(op->md, &pctx, md, st_libctx(), NULL, pkey, NULL);
    if (r != 1)
        return st_ossl_err("EVP_DigestSignInit_ex", CKR_FUNCTION_FAILED);
    return pad_params(op, m, pctx);
}

static CK_RV hash_sign_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (EVP_DigestSignUpdate(op->md, in, inlen) != 1)
        return st_ossl_err("EVP_DigestSignUpdate", CKR_FUNCTION_FAILED);
    return CKR_OK;
}

static CK_RV hash_sign_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    size_t n = *outlen;
    if (EVP_DigestSignFinal(op->md, out, &n) != 1)
        return st_ossl_err("EVP_DigestSignFinal", CKR_FUNCTION_FAILED);
    *outlen = (CK_ULONG)n;
    return CKR_OK;
}

static CK_RV hash_verify_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (EVP_DigestVerifyUpdate(op->md, in, inlen) != 1)
        return st_ossl_err("EVP_DigestVerifyUpdate", CKR_FUNCTION_FAILED);
    return CKR_OK;
}

static CK_RV hash_verify_final(struct st_op *op, const CK_BYTE *sig, CK_ULONG siglen)
{
    if (siglen != op->out_len)
        return CKR_SIGNATURE_LEN_RANGE;
    if (EVP_DigestVerifyFinal(op->md, sig, siglen) != 1)
        return st_ossl_err("EVP_DigestVerifyFinal", CKR_SIGNATURE_INVALID);
    return CKR_OK;
}

/* ---- key-pair generation ---- */

static CK_RV keygen_setup(EVP_PKEY_CTX *ctx, const CK_ATTRIBUTE *pub, CK_ULONG npub)
{
    CK_ULONG bits;
    CK_RV rv = st_tmpl_ulong(pub, npub, CKA_MODULUS_BITS, &bits);
    if (rv != CKR_OK)
        return rv;
    if (bits < 2048 || bits > 4096)
        return CKR_KEY_SIZE_RANGE;
    if (EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) <= 0)
        return st_ossl_err("RSA keygen init", CKR_FUNCTION_FAILED);
    const CK_ATTRIBUTE *e = st_tmpl_find(pub, npub, CKA_PUBLIC_EXPONENT);
    if (e == NULL)
        return CKR_OK; /* 65537 */
    if (e->pValue == NULL || e->ulValueLen == 0 || e->ulValueLen > 8)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    BIGNUM *bn = BN_bin2bn(e->pValue, (int)e->ulValueLen, NULL);
    if (bn == NULL)
        return CKR_HOST_MEMORY;
    rv = CKR_OK;
    if (!BN_is_odd(bn) || BN_cmp(bn, BN_value_one()) <= 0)
        rv = CKR_ATTRIBUTE_VALUE_INVALID;
    else if (EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, bn) <= 0)
        rv = st_ossl_err("set1_rsa_keygen_pubexp", CKR_ATTRIBUTE_VALUE_INVALID);
    BN_free(bn);
    return rv;
}

static CK_RV rsa_keypair_gen(const struct st_mech_desc *d, const CK_MECHANISM *m,
                             const CK_ATTRIBUTE *pub_tmpl, CK_ULONG npub,
                             const CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv, struct st_object **pub,
                             struct st_object **priv)
{
    if (m->pParameter != NULL || m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    CK_RV rv = CKR_GENERAL_ERROR;
    EVP_PKEY *pkey = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(st_libctx(), ST_OID_RSA, ST_PROPQ);
    if (ctx == NULL)
        return st_ossl_err("EVP_PKEY_CTX_new_from_name", CKR_HOST_MEMORY);
    rv = keygen_setup(ctx, pub_tmpl, npub);
    if (rv != CKR_OK)
        goto out;
    if (EVP_PKEY_generate(ctx, &pkey) <= 0) {
        rv = st_ossl_err("EVP_PKEY_generate", CKR_FUNCTION_FAILED);
        goto out;
    }
    rv = st_keypair_objects(pkey, d->type, pub_tmpl, npub, priv_tmpl, npriv, pub, priv);
out:
    EVP_PKEY_CTX_free(ctx);
    return rv;
}

/* ---- rows ---- */

static const struct st_mech_ops pkcs_ops = {
        .init = raw_init,
        .sign = raw_sign,
        .verify = raw_verify,
        .encrypt = raw_encrypt,
        .decrypt = raw_decrypt,
        .wrap = raw_encrypt,
        .unwrap = raw_decrypt,
};

static const struct st_mech_ops x509_ops = {
        .init = raw_init,
        .sign = raw_sign,
        .verify = raw_verify,
        .encrypt = raw_encrypt,
        .decrypt = raw_decrypt,
};

static const struct st_mech_ops oaep_ops = {
        .init = raw_init,
        .encrypt = raw_encrypt,
        .decrypt = raw_decrypt,
        .wrap = raw_encrypt,
        .unwrap = raw_decrypt,
};

static const struct st_mech_ops pss_ops = {
        .init = raw_init,
        .sign = raw_sign,
        .verify = raw_verify,
};

static const struct st_mech_ops hash_ops = {
        .init = hash_init,
        .sign = st_op_digest_sign,
        .sign_update = hash_sign_update,
        .sign_final = hash_sign_final,
        .verify = st_op_digest_verify,
        .verify_update = hash_verify_update,
        .verify_final = hash_verify_final,
};

static const struct st_mech_ops keygen_ops = {
        .keypair_gen = rsa_keypair_gen,
};

#define RSA_MIN     1024
#define RSA_MAX     16384
#define CRYPT_FLAGS (CKF_ENCRYPT | CKF_DECRYPT)
#define SIGN_FLAGS  (CKF_SIGN | CKF_VERIFY)
#define WRAP_FLAGS  (CKF_WRAP | CKF_UNWRAP)
#define HASHED(mech, id, pad, fl)                                                                  \
    {                                                                                              \
        .type = (mech), .info = {RSA_MIN, RSA_MAX, SIGN_FLAGS}, .flags = (fl),                     \
        .key_type = CKK_RSA, .md = (id), .ossl_pad = (pad), .ops = &hash_ops                       \
    }

/* Sorted by type. */
const struct st_mech_desc st_mech_rsa_rows[] = {
        {.type = CKM_RSA_PKCS_KEY_PAIR_GEN,
         .info = {2048, 4096, CKF_GENERATE_KEY_PAIR},
         .flags = ST_MF_PARAM_NONE,
         .key_type = CKK_RSA,
         .ops = &keygen_ops},
        {.type = CKM_RSA_PKCS,
         .info = {RSA_MIN, RSA_MAX, SIGN_FLAGS | CRYPT_FLAGS | WRAP_FLAGS},
         .flags = ST_MF_PARAM_NONE,
         .key_type = CKK_RSA,
         .ossl_pad = RSA_PKCS1_PADDING,
         .ops = &pkcs_ops},
        {.type = CKM_RSA_X_509,
         .info = {RSA_MIN, RSA_MAX, SIGN_FLAGS | CRYPT_FLAGS},
         .flags = ST_MF_PARAM_NONE,
         .key_type = CKK_RSA,
         .ossl_pad = RSA_NO_PADDING,
         .ops = &x509_ops},
        HASHED(CKM_SHA1_RSA_PKCS, ST_MD_SHA1, RSA_PKCS1_PADDING, ST_MF_PARAM_NONE),
        {.type = CKM_RSA_PKCS_OAEP,
         .info = {RSA_MIN, RSA_MAX, CRYPT_FLAGS | WRAP_FLAGS},
         .key_type = CKK_RSA,
         .ossl_pad = RSA_PKCS1_OAEP_PADDING,
         .ops = &oaep_ops},
        {.type = CKM_RSA_PKCS_PSS,
         .info = {RSA_MIN, RSA_MAX, SIGN_FLAGS},
         .key_type = CKK_RSA,
         .ossl_pad = RSA_PKCS1_PSS_PADDING,
         .ops = &pss_ops},
        HASHED(CKM_SHA1_RSA_PKCS_PSS, ST_MD_SHA1, RSA_PKCS1_PSS_PADDING, 0),
        HASHED(CKM_SHA256_RSA_PKCS, ST_MD_SHA256, RSA_PKCS1_PADDING, ST_MF_PARAM_NONE),
        HASHED(CKM_SHA384_RSA_PKCS, ST_MD_SHA384, RSA_PKCS1_PADDING, ST_MF_PARAM_NONE),
        HASHED(CKM_SHA512_RSA_PKCS, ST_MD_SHA512, RSA_PKCS1_PADDING, ST_MF_PARAM_NONE),
        HASHED(CKM_SHA256_RSA_PKCS_PSS, ST_MD_SHA256, RSA_PKCS1_PSS_PADDING, 0),
        HASHED(CKM_SHA384_RSA_PKCS_PSS, ST_MD_SHA384, RSA_PKCS1_PSS_PADDING, 0),
        HASHED(CKM_SHA512_RSA_PKCS_PSS, ST_MD_SHA512, RSA_PKCS1_PSS_PADDING, 0),
        HASHED(CKM_SHA224_RSA_PKCS, ST_MD_SHA224, RSA_PKCS1_PADDING, ST_MF_PARAM_NONE),
        HASHED(CKM_SHA224_RSA_PKCS_PSS, ST_MD_SHA224, RSA_PKCS1_PSS_PADDING, 0),
};
const size_t st_mech_rsa_count = U_ARRAY_SIZE(st_mech_rsa_rows);
