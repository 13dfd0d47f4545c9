/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operation object and the generic half of every operation: mechanism lookup, key class,
 * type, size and usage checks, dispatch to the family slots, and the PKCS#11 §5.2 state rules
 * (an error other than CKR_BUFFER_TOO_SMALL ends the operation, a length query keeps it).
 * An operation belongs to one session; the module serialises calls on it. Nothing here takes a
 * global lock: the key material is immutable and every OpenSSL context is per operation.
 */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "st_mech.h"
#include "u_macros.h"
#include "u_rv.h"

static bool is_asym_type(CK_KEY_TYPE kt)
{
    return kt == CKK_RSA || kt == CKK_EC || kt == CKK_EC_EDWARDS;
}

/* The slot an op type needs at init; NULL = the mechanism cannot do it. */
static bool supports(const struct st_mech_ops *o, enum st_op_type type, CK_ATTRIBUTE_TYPE usage)
{
    if (usage == CKA_WRAP)
        return o->wrap != NULL;
    if (usage == CKA_UNWRAP)
        return o->unwrap != NULL;
    const void *slots[] = {
            [ST_OP_ENCRYPT] = (const void *)o->encrypt, [ST_OP_DECRYPT] = (const void *)o->decrypt,
            [ST_OP_SIGN] = (const void *)o->sign,       [ST_OP_VERIFY] = (const void *)o->verify,
            [ST_OP_DIGEST] = (const void *)o->digest,
    };
    return (size_t)type < U_ARRAY_SIZE(slots) && slots[type] != NULL;
}

/* PKCS#11 3.0 §5.10-5.13: signing and decryption use the private (or secret) key, verification
 * and encryption the public (or secret) one. */
static CK_RV check_class(const struct st_mech_desc *d, struct st_object *key, enum st_op_type type)
{
    CK_OBJECT_CLASS cls = st_object_class(key);
    if (!is_asym_type(d->key_type))
        return cls == CKO_SECRET_KEY && st_object_secret(key) != NULL ? CKR_OK
                                                                      : CKR_KEY_TYPE_INCONSISTENT;
    bool want_private = (type == ST_OP_SIGN || type == ST_OP_DECRYPT);
    if (cls != (want_private ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY))
        return CKR_KEY_TYPE_INCONSISTENT;
    return st_object_pkey(key) != NULL ? CKR_OK : CKR_KEY_TYPE_INCONSISTENT;
}

static CK_RV check_key(const struct st_mech_desc *d, struct st_object *key, enum st_op_type type,
                       CK_ATTRIBUTE_TYPE usage)
{
    CK_KEY_TYPE kt = st_object_key_type(key);
    bool type_ok = kt == d->key_type || ((d->flags & ST_MF_AES_KEY_OK) != 0 && kt == CKK_AES);
    if (!type_ok)
        return CKR_KEY_TYPE_INCONSISTENT;
    CK_RV rv = check_class(d, key, type);
    if (rv != CKR_OK)
        return rv;
    rv = st_object_check_use(key, usage, d->type);
    if (rv != CKR_OK)
        return rv;
    if ((d->flags & ST_MF_NO_SIZE_CHECK) != 0)
        return CKR_OK;
    CK_ULONG size;
    if (is_asym_type(d->key_type))
        size = (CK_ULONG)EVP_PKEY_get_bits(st_object_pkey(key));
    else
        size = (CK_ULONG)st_object_secret(key)->len;
    if (size < d->info.ulMinKeySize || size > d->info.ulMaxKeySize)
        return CKR_KEY_SIZE_RANGE;
    return CKR_OK;
}

CK_RV st_op_new_usage(enum st_op_type type, const CK_MECHANISM *mech, struct st_object *key,
                      CK_ATTRIBUTE_TYPE usage, struct st_op **out)
{
    U_RETURN_IF_FAIL(mech != NULL && out != NULL, CKR_ARGUMENTS_BAD);
    const struct st_mech_desc *d = st_mech_find(mech->mechanism);
    if (d == NULL || !supports(d->ops, type, usage))
        return CKR_MECHANISM_INVALID;
    if ((type == ST_OP_DIGEST) != (key == NULL))
        return type == ST_OP_DIGEST ? CKR_ARGUMENTS_BAD : CKR_KEY_HANDLE_INVALID;
    if (st_libctx() == NULL)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (key != NULL) {
        CK_RV krv = check_key(d, key, type, usage);
        if (krv != CKR_OK)
            return krv;
    }
    if ((d->flags & ST_MF_PARAM_NONE) != 0 && (mech->pParameter != NULL || mech->ulParameterLen))
        return CKR_MECHANISM_PARAM_INVALID;

    CK_RV rv = CKR_GENERAL_ERROR;
    /* malloc and memset, not calloc: glibc 2.36's calloc never takes a chunk from the per-thread
     * cache, so one calloc per operation cost its trip through the arena bins and back. */
    struct st_op *op = malloc(sizeof(*op));
    if (op == NULL)
        return CKR_HOST_MEMORY;
    memset(op, 0, sizeof(*op));
    op->type = type;
    op->desc = d;
    if (key != NULL) {
        st_object_ref(key);
        op->key = key;
    }
    rv = d->ops->init(op, mech);
    if (rv != CKR_OK)
        goto out;
    *out = op;
    op = NULL;
    rv = CKR_OK;
out:
    st_op_free(op);
    return rv;
}

CK_RV st_op_new(enum st_op_type type, const CK_MECHANISM *mech, struct st_object *key,
                struct st_op **out)
{
    static const CK_ATTRIBUTE_TYPE usage[] = {
            [ST_OP_ENCRYPT] = CKA_ENCRYPT, [ST_OP_DECRYPT] = CKA_DECRYPT, [ST_OP_SIGN] = CKA_SIGN,
            [ST_OP_VERIFY] = CKA_VERIFY,   [ST_OP_DIGEST] = CKA_VALUE, /* unused: digests have no
                                                                          key */
    };
    U_RETURN_IF_FAIL((size_t)type < U_ARRAY_SIZE(usage), CKR_ARGUMENTS_BAD);
    return st_op_new_usage(type, mech, key, usage[type], out);
}

enum st_op_type st_op_type_of(const struct st_op *op)
{
    return op->type;
}

bool st_op_in_multipart(const struct st_op *op)
{
    return op != NULL && op->multipart;
}

/* §5.2: CKR_OK with output delivered, or any error but CKR_BUFFER_TOO_SMALL, ends the op. */
static CK_RV settle(struct st_op *op, CK_RV rv, bool finishing, CK_BYTE_PTR out)
{
    if (rv == CKR_BUFFER_TOO_SMALL)
        return rv;
    if (rv != CKR_OK || (finishing && out != NULL))
        op->done = true;
    return rv;
}

CK_RV st_op_oneshot(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                    CK_ULONG_PTR outlen)
{
    U_RETURN_IF_FAIL(op != NULL && outlen != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL(in != NULL || inlen == 0, CKR_ARGUMENTS_BAD);
    if (op->done || op->type == ST_OP_VERIFY)
        return CKR_OPERATION_NOT_INITIALIZED;
    const struct st_mech_ops *o = op->desc->ops;
    const st_data_fn slots[] = {
            [ST_OP_ENCRYPT] = o->encrypt, [ST_OP_DECRYPT] = o->decrypt, [ST_OP_SIGN] = o->sign,
            [ST_OP_VERIFY] = NULL,        [ST_OP_DIGEST] = o->digest,
    };
    return settle(op, slots[op->type](op, in, inlen, out, outlen), true, out);
}

CK_RV st_op_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                   CK_ULONG_PTR outlen)
{
    U_RETURN_IF_FAIL(op != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL(in != NULL || inlen == 0, CKR_ARGUMENTS_BAD);
    if (op->done)
        return CKR_OPERATION_NOT_INITIALIZED;
    const struct st_mech_ops *o = op->desc->ops;
    CK_RV rv = CKR_FUNCTION_NOT_SUPPORTED;
    if (op->type == ST_OP_ENCRYPT || op->type == ST_OP_DECRYPT) {
        st_data_fn fn = op->type == ST_OP_ENCRYPT ? o->encrypt_update : o->decrypt_update;
        if (outlen == NULL)
            rv = CKR_ARGUMENTS_BAD;
        else if (fn != NULL)
            rv = fn(op, in, inlen, out, outlen);
    } else {
        const st_update_fn slots[] = {
                [ST_OP_ENCRYPT] = NULL,
                [ST_OP_DECRYPT] = NULL,
                [ST_OP_SIGN] = o->sign_update,
                [ST_OP_VERIFY] = o->verify_update,
                [ST_OP_DIGEST] = o->digest_update,
        };
        if (slots[op->type] != NULL)
            rv = slots[op->type](op, in, inlen);
    }
    if (rv == CKR_OK)
        op->multipart = true;
    return settle(op, rv, false, out);
}

CK_RV st_op_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    U_RETURN_IF_FAIL(op != NULL && outlen != NULL, CKR_ARGUMENTS_BAD);
    if (op->done || op->type == ST_OP_VERIFY)
        return CKR_OPERATION_NOT_INITIALIZED;
    const struct st_mech_ops *o = op->desc->ops;
    const st_final_fn slots[] = {
            [ST_OP_ENCRYPT] = o->encrypt_final, [ST_OP_DECRYPT] = o->decrypt_final,
            [ST_OP_SIGN] = o->sign_final,       [ST_OP_VERIFY] = NULL,
            [ST_OP_DIGEST] = o->digest_final,
    };
    CK_RV rv = CKR_FUNCTION_NOT_SUPPORTED;
    if (slots[op->type] != NULL)
        rv = slots[op->type](op, out, outlen);
    return settle(op, rv, true, out);
}

CK_RV st_op_verify(struct st_op *op, const CK_BYTE *data, CK_ULONG len, const CK_BYTE *sig,
                   CK_ULONG siglen)
{
    U_RETURN_IF_FAIL(op != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL((data != NULL || len == 0) && (sig != NULL || siglen == 0), CKR_ARGUMENTS_BAD);
    if (op->done || op->type != ST_OP_VERIFY)
        return CKR_OPERATION_NOT_INITIALIZED;
    op->done = true;
    return op->desc->ops->verify(op, data, len, sig, siglen);
}

CK_RV st_op_verify_final(struct st_op *op, const CK_BYTE *sig, CK_ULONG siglen)
{
    U_RETURN_IF_FAIL(op != NULL, CKR_ARGUMENTS_BAD);
    U_RETURN_IF_FAIL(sig != NULL || siglen == 0, CKR_ARGUMENTS_BAD);
    if (op->done || op->type != ST_OP_VERIFY)
        return CKR_OPERATION_NOT_INITIALIZED;
    op->done = true;
    if (op->desc->ops->verify_final == NULL)
        return CKR_FUNCTION_NOT_SUPPORTED;
    return op->desc->ops->verify_final(op, sig, siglen);
}

CK_RV st_op_digest_key(struct st_op *op, struct st_object *key)
{
    U_RETURN_IF_FAIL(op != NULL && key != NULL, CKR_ARGUMENTS_BAD);
    if (op->done || op->type != ST_OP_DIGEST)
        return CKR_OPERATION_NOT_INITIALIZED;
    const struct u_secbuf *v = st_object_secret(key);
    if (st_object_class(key) != CKO_SECRET_KEY || v == NULL)
        return settle(op, CKR_KEY_INDIGESTIBLE, false, NULL);
    CK_RV rv = op->desc->ops->digest_update(op, v->data, (CK_ULONG)v->len);
    if (rv == CKR_OK)
        op->multipart = true;
    return settle(op, rv, false, NULL);
}

CK_RV st_out_room(CK_ULONG need, CK_BYTE_PTR out, CK_ULONG_PTR outlen, bool *go)
{
    *go = false;
    if (out == NULL) {
        *outlen = need;
        return CKR_OK;
    }
    if (*outlen < need) {
        *outlen = need;
        return CKR_BUFFER_TOO_SMALL;
    }
    *go = true;
    return CKR_OK;
}

CK_RV st_op_digest_sign(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                        CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    size_t n = *outlen;
    if (EVP_DigestSign(op->md, out, &n, in, inlen) != 1)
        return st_ossl_err("EVP_DigestSign", CKR_FUNCTION_FAILED);
    *outlen = (CK_ULONG)n;
    return CKR_OK;
}

CK_RV st_op_digest_verify(struct st_op *op, const CK_BYTE *data, CK_ULONG len, const CK_BYTE *sig,
                          CK_ULONG siglen)
{
    if (siglen != op->out_len)
        return CKR_SIGNATURE_LEN_RANGE;
    if (EVP_DigestVerify(op->md, sig, siglen, data, len) != 1)
        return st_ossl_err("EVP_DigestVerify", CKR_SIGNATURE_INVALID);
    return CKR_OK;
}

CK_RV st_op_buffer(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen)
{
    if (inlen == 0)
        return CKR_OK;
    if (inlen > SIZE_MAX / 2 - op->buf_len)
        return CKR_DATA_LEN_RANGE;
    size_t need = op->buf_len + inlen;
    if (need > op->buf_cap) {
        size_t cap = op->buf_cap ? op->buf_cap * 2 : 4096;
        while (cap < need)
            cap *= 2;
        unsigned char *nb = OPENSSL_clear_realloc(op->buf, op->buf_cap, cap);
        if (nb == NULL)
            return CKR_HOST_MEMORY;
        op->buf = nb;
        op->buf_cap = cap;
    }
    memcpy(op->buf + op->buf_len, in, inlen);
    op->buf_len = need;
    return CKR_OK;
}

void st_op_free(struct st_op *op)
{
    if (op == NULL)
        return;
    EVP_MD_CTX_free(op->md);
    EVP_PKEY_CTX_free(op->pctx);
    EVP_CIPHER_CTX_free(op->cipher);
    EVP_MAC_CTX_free(op->mac);
    OPENSSL_clear_free(op->buf, op->buf_cap);
    st_object_unref(op->key);
    OPENSSL_cleanse(op, sizeof(*op));
    free(op);
}
