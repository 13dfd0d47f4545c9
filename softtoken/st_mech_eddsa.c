/* SPDX-License-Identifier: Apache-2.0 */
/*
 * EdDSA family: CKM_EDDSA (pure Ed25519 and Ed448, single-part) and CKM_EC_EDWARDS_KEY_PAIR_GEN.
 * CK_EDDSA_PARAMS is optional; OpenSSL 3.0 implements neither the pre-hash variants nor
 * contexts, so phFlag or a context are CKR_MECHANISM_PARAM_INVALID (never silently ignored).
 */
#include <string.h>

#include "st_mech.h"
#include "u_macros.h"

static CK_RV eddsa_init(struct st_op *op, const CK_MECHANISM *m)
{
    if (m->pParameter != NULL || m->ulParameterLen != 0) {
        const CK_EDDSA_PARAMS *p = m->pParameter;
        if (p == NULL || m->ulParameterLen != sizeof(*p))
            return CKR_MECHANISM_PARAM_INVALID;
        if (p->phFlag || p->ulContextDataLen != 0)
            return CKR_MECHANISM_PARAM_INVALID;
    }
    EVP_PKEY *pkey = st_object_pkey(op->key);
    op->out_len = (CK_ULONG)EVP_PKEY_get_size(pkey);
    op->md = EVP_MD_CTX_new();
    if (op->md == NULL)
        return CKR_HOST_MEMORY;
    int r = op->type == ST_OP_SIGN
                    ? EVP_DigestSignInit_ex(op->md, NULL, NULL, st_libctx(), NULL, pkey, NULL)
                    : EVP_DigestVerifyInit_ex(op->md, NULL, NULL, st_libctx(), NULL, pkey, NULL);
    return r == 1 ? CKR_OK : st_ossl_err("EdDSA init", CKR_KEY_TYPE_INCONSISTENT);
}

static CK_RV ed_keypair_gen(const struct st_mech_desc *d, const CK_MECHANISM *m,
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
    if (curve == NULL || strncmp(curve, "ED", 2) != 0)
        return CKR_CURVE_NOT_SUPPORTED;
    EVP_PKEY *pkey = NULL;
    /* By OID, so no ENGINE registered for the NID is used (st_object_int.h). */
    const char *alg = strcmp(curve, "ED25519") == 0 ? ST_OID_ED25519 : ST_OID_ED448;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(st_libctx(), alg, ST_PROPQ);
    CK_RV rv = CKR_OK;
    if (ctx == NULL || EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_generate(ctx, &pkey) != 1)
        rv = st_ossl_err("EdDSA keygen", CKR_FUNCTION_FAILED);
    EVP_PKEY_CTX_free(ctx);
    if (rv != CKR_OK)
        return rv;
    return st_keypair_objects(pkey, d->type, pub_tmpl, npub, priv_tmpl, npriv, pub, priv);
}

static const struct st_mech_ops eddsa_ops = {
        .init = eddsa_init,
        .sign = st_op_digest_sign,
        .verify = st_op_digest_verify,
};

static const struct st_mech_ops keygen_ops = {.keypair_gen = ed_keypair_gen};

/* Key sizes in bits: Ed25519 (255) to Ed448 (448). Sorted by type. */
const struct st_mech_desc st_mech_eddsa_rows[] = {
        {.type = CKM_EC_EDWARDS_KEY_PAIR_GEN,
         .info = {255, 448, CKF_GENERATE_KEY_PAIR},
         .flags = ST_MF_PARAM_NONE | ST_MF_NO_SIZE_CHECK,
         .key_type = CKK_EC_EDWARDS,
         .ops = &keygen_ops},
        {.type = CKM_EDDSA,
         .info = {255, 448, CKF_SIGN | CKF_VERIFY},
         .flags = ST_MF_NO_SIZE_CHECK,
         .key_type = CKK_EC_EDWARDS,
         .ops = &eddsa_ops},
};
const size_t st_mech_eddsa_count = U_ARRAY_SIZE(st_mech_eddsa_rows);
