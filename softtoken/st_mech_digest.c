/* SPDX-License-Identifier: Apache-2.0 */
/* Digest family: CKM_SHA_1, CKM_SHA224/256/384/512, single- and multi-part, and C_DigestKey. */
#include "st_mech.h"
#include "u_macros.h"

static CK_RV digest_init(struct st_op *op, const CK_MECHANISM *m)
{
    (void)m;
    op->md = EVP_MD_CTX_new();
    if (op->md == NULL)
        return CKR_HOST_MEMORY;
    if (EVP_DigestInit_ex2(op->md, st_ctx_md(op->desc->md), NULL) != 1)
        return st_ossl_err("EVP_DigestInit_ex2", CKR_FUNCTION_FAILED);
    op->out_len = (CK_ULONG)EVP_MD_CTX_get_size(op->md);
    return CKR_OK;
}

static CK_RV digest_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (EVP_DigestUpdate(op->md, in, inlen) != 1)
        return st_ossl_err("EVP_DigestUpdate", CKR_FUNCTION_FAILED);
    return CKR_OK;
}

static CK_RV digest_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(op->md, out, &n) != 1)
        return st_ossl_err("EVP_DigestFinal_ex", CKR_FUNCTION_FAILED);
    *outlen = n;
    return CKR_OK;
}

static CK_RV digest_oneshot(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                            CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    rv = digest_update(op, in, inlen);
    if (rv != CKR_OK)
        return rv;
    return digest_final(op, out, outlen);
}

static const struct st_mech_ops digest_ops = {
        .init = digest_init,
        .digest = digest_oneshot,
        .digest_update = digest_update,
        .digest_final = digest_final,
};

#define DIGEST_ROW(mech, id)                                                                       \
    {                                                                                              \
        .type = (mech), .info = {0, 0, CKF_DIGEST}, .flags = ST_MF_PARAM_NONE,                     \
        .key_type = CK_UNAVAILABLE_INFORMATION, .md = (id), .ops = &digest_ops                     \
    }

/* Sorted by type. */
const struct st_mech_desc st_mech_digest_rows[] = {
        DIGEST_ROW(CKM_SHA_1, ST_MD_SHA1),    DIGEST_ROW(CKM_SHA256, ST_MD_SHA256),
        DIGEST_ROW(CKM_SHA224, ST_MD_SHA224), DIGEST_ROW(CKM_SHA384, ST_MD_SHA384),
        DIGEST_ROW(CKM_SHA512, ST_MD_SHA512),
};
const size_t st_mech_digest_count = U_ARRAY_SIZE(st_mech_digest_rows);
