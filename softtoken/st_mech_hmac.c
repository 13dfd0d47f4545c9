/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HMAC family: CKM_SHA{1,224,256,384,512}_HMAC and _HMAC_GENERAL on generic-secret and AES keys,
 * CKM_GENERIC_SECRET_KEY_GEN; and the MAC sign/verify ops shared with AES CMAC (EVP_MAC).
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <stdint.h>
#include <string.h>

#include "st_mech.h"
#include "u_macros.h"

CK_RV st_mac_start(struct st_op *op, EVP_MAC *mac, const OSSL_PARAM *params, CK_ULONG maclen)
{
    const struct u_secbuf *k = st_object_secret(op->key);
    op->mac = EVP_MAC_CTX_new(mac);
    if (op->mac == NULL)
        return CKR_HOST_MEMORY;
    if (EVP_MAC_init(op->mac, k->data, k->len, params) != 1)
        return st_ossl_err("EVP_MAC_init", CKR_FUNCTION_FAILED);
    size_t full = EVP_MAC_CTX_get_mac_size(op->mac);
    if (maclen == 0)
        maclen = (CK_ULONG)full;
    if (maclen > full)
        return CKR_MECHANISM_PARAM_INVALID;
    op->out_len = maclen;
    return CKR_OK;
}

CK_RV st_mac_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (EVP_MAC_update(op->mac, in, inlen) != 1)
        return st_ossl_err("EVP_MAC_update", CKR_FUNCTION_FAILED);
    return CKR_OK;
}

/* Full MAC into `mac` (EVP_MAX_MD_SIZE bytes). */
static CK_RV mac_compute(struct st_op *op, unsigned char *mac)
{
    size_t n = 0;
    if (EVP_MAC_final(op->mac, mac, &n, EVP_MAX_MD_SIZE) != 1)
        return st_ossl_err("EVP_MAC_final", CKR_FUNCTION_FAILED);
    return n >= op->out_len ? CKR_OK : CKR_GENERAL_ERROR;
}

CK_RV st_mac_sign_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    unsigned char mac[EVP_MAX_MD_SIZE];
    rv = mac_compute(op, mac);
    if (rv == CKR_OK) {
        memcpy(out, mac, op->out_len);
        *outlen = op->out_len;
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    return rv;
}

CK_RV st_mac_sign(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                  CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    rv = st_mac_update(op, in, inlen);
    if (rv != CKR_OK)
        return rv;
    return st_mac_sign_final(op, out, outlen);
}

CK_RV st_mac_verify_final(struct st_op *op, const CK_BYTE *sig, CK_ULONG siglen)
{
    if (siglen != op->out_len)
        return CKR_SIGNATURE_LEN_RANGE;
    unsigned char mac[EVP_MAX_MD_SIZE];
    CK_RV rv = mac_compute(op, mac);
    if (rv == CKR_OK && CRYPTO_memcmp(mac, sig, siglen) != 0)
        rv = CKR_SIGNATURE_INVALID;
    OPENSSL_cleanse(mac, sizeof(mac));
    return rv;
}

CK_RV st_mac_verify(struct st_op *op, const CK_BYTE *data, CK_ULONG len, const CK_BYTE *sig,
                    CK_ULONG siglen)
{
    CK_RV rv = st_mac_update(op, data, len);
    if (rv != CKR_OK)
        return rv;
    return st_mac_verify_final(op, sig, siglen);
}

/* CK_MAC_GENERAL_PARAMS (a CK_ULONG) for _GENERAL, no parameter otherwise. */
static CK_RV mac_general_len(const struct st_mech_desc *d, const CK_MECHANISM *m, CK_ULONG *len)
{
    *len = 0;
    if ((d->flags & ST_MF_MAC_GENERAL) == 0)
        return m->pParameter == NULL && m->ulParameterLen == 0 ? CKR_OK
                                                               : CKR_MECHANISM_PARAM_INVALID;
    if (m->pParameter == NULL || m->ulParameterLen != sizeof(CK_ULONG))
        return CKR_MECHANISM_PARAM_INVALID;
    *len = *(const CK_ULONG *)m->pParameter;
    return *len == 0 ? CKR_MECHANISM_PARAM_INVALID : CKR_OK;
}

static CK_RV hmac_init(struct st_op *op, const CK_MECHANISM *m)
{
    CK_ULONG len;
    CK_RV rv = mac_general_len(op->desc, m, &len);
    if (rv != CKR_OK)
        return rv;
    OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                             (char *)(uintptr_t)st_md_name(op->desc->md), 0),
            OSSL_PARAM_construct_end(),
    };
    return st_mac_start(op, st_ctx_hmac(), params, len);
}

/* PKCS#11 3.0 §2.8.2: CKA_VALUE_LEN gives the generic secret's length in bytes. */
static CK_RV generic_keygen(const struct st_mech_desc *d, const CK_MECHANISM *m,
                            const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_object **out)
{
    if (m->pParameter != NULL || m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    CK_ULONG len;
    CK_RV rv = st_tmpl_ulong(tmpl, n, CKA_VALUE_LEN, &len);
    if (rv != CKR_OK)
        return rv;
    if (len < d->info.ulMinKeySize || len > d->info.ulMaxKeySize)
        return CKR_KEY_SIZE_RANGE;
    return st_keygen_random_secret(d, CKK_GENERIC_SECRET, len, tmpl, n, out);
}

static const struct st_mech_ops hmac_ops = {
        .init = hmac_init,
        .sign = st_mac_sign,
        .sign_update = st_mac_update,
        .sign_final = st_mac_sign_final,
        .verify = st_mac_verify,
        .verify_update = st_mac_update,
        .verify_final = st_mac_verify_final,
};

static const struct st_mech_ops keygen_ops = {
        .keygen = generic_keygen,
};

/* Key sizes in bytes (PKCS#11 3.0 §2.8). */
#define HMAC_ROW(mech, id, fl)                                                                     \
    {                                                                                              \
        .type = (mech), .info = {1, 4096, CKF_SIGN | CKF_VERIFY},                                  \
        .flags = ST_MF_AES_KEY_OK | (fl), .key_type = CKK_GENERIC_SECRET, .md = (id),              \
        .ops = &hmac_ops                                                                           \
    }

/* Sorted by type. */
const struct st_mech_desc st_mech_hmac_rows[] = {
        HMAC_ROW(CKM_SHA_1_HMAC, ST_MD_SHA1, 0),
        HMAC_ROW(CKM_SHA_1_HMAC_GENERAL, ST_MD_SHA1, ST_MF_MAC_GENERAL),
        HMAC_ROW(CKM_SHA256_HMAC, ST_MD_SHA256, 0),
        HMAC_ROW(CKM_SHA256_HMAC_GENERAL, ST_MD_SHA256, ST_MF_MAC_GENERAL),
        HMAC_ROW(CKM_SHA224_HMAC, ST_MD_SHA224, 0),
        HMAC_ROW(CKM_SHA224_HMAC_GENERAL, ST_MD_SHA224, ST_MF_MAC_GENERAL),
        HMAC_ROW(CKM_SHA384_HMAC, ST_MD_SHA384, 0),
        HMAC_ROW(CKM_SHA384_HMAC_GENERAL, ST_MD_SHA384, ST_MF_MAC_GENERAL),
        HMAC_ROW(CKM_SHA512_HMAC, ST_MD_SHA512, 0),
        HMAC_ROW(CKM_SHA512_HMAC_GENERAL, ST_MD_SHA512, ST_MF_MAC_GENERAL),
        {.type = CKM_GENERIC_SECRET_KEY_GEN,
         .info = {1, 4096, CKF_GENERATE},
         .flags = ST_MF_PARAM_NONE,
         .key_type = CKK_GENERIC_SECRET,
         .ops = &keygen_ops},
};
const size_t st_mech_hmac_count = U_ARRAY_SIZE(st_mech_hmac_rows);
