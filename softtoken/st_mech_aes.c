/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AES family: ECB, CBC, CBC_PAD, CTR, GCM (single- and multi-part), CKM_AES_KEY_WRAP (RFC 3394),
 * CKM_AES_KEY_WRAP_KWP (RFC 5649), CMAC and CMAC_GENERAL (SP 800-38B), CKM_AES_KEY_GEN.
 * Output lengths are computed before any work so a length query or CKR_BUFFER_TOO_SMALL never
 * consumes input (PKCS#11 3.0 §5.2); `pending` mirrors the bytes OpenSSL holds back.
 */
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>
#include <string.h>

#include "st_mech.h"
#include "u_macros.h"
#include "u_rv.h"

#define BS 16

/* ---- ECB / CBC / CBC_PAD / CTR ---- */

static bool padded(const struct st_op *op)
{
    return (op->desc->flags & ST_MF_CIPHER_PAD) != 0;
}

static bool is_stream(const struct st_op *op)
{
    return op->desc->ossl_pad == ST_AES_CTR;
}

static CK_RV block_params(const struct st_op *op, const CK_MECHANISM *m, const CK_BYTE **iv)
{
    *iv = NULL;
    switch (op->desc->ossl_pad) {
    case ST_AES_ECB:
        return m->pParameter == NULL && m->ulParameterLen == 0 ? CKR_OK
                                                               : CKR_MECHANISM_PARAM_INVALID;
    case ST_AES_CBC:
        if (m->pParameter == NULL || m->ulParameterLen != BS)
            return CKR_MECHANISM_PARAM_INVALID;
        *iv = m->pParameter;
        return CKR_OK;
    case ST_AES_CTR: {
        const CK_AES_CTR_PARAMS *p = m->pParameter;
        if (p == NULL || m->ulParameterLen != sizeof(*p) || p->ulCounterBits == 0 ||
            p->ulCounterBits > 128)
            return CKR_MECHANISM_PARAM_INVALID;
        *iv = p->cb;
        return CKR_OK;
    }
    default:
        return CKR_MECHANISM_INVALID;
    }
}

/* PKCS#11 3.0 §2.14.5: only the low ulCounterBits of the block are the counter, and it must not
 * wrap. OpenSSL increments all 128 bits, so stop before the counter field would wrap. Counters
 * of 59 bits or more cannot wrap within any length a CK_ULONG can carry. */
static uint64_t ctr_limit(const CK_AES_CTR_PARAMS *p)
{
    if (p->ulCounterBits >= 59)
        return 0;
    uint64_t low = 0;
    for (size_t i = 8; i < 16; i++)
        low = low << 8 | p->cb[i];
    uint64_t span = (uint64_t)1 << p->ulCounterBits;
    return (span - (low & (span - 1))) * BS;
}

static CK_RV block_init(struct st_op *op, const CK_MECHANISM *m)
{
    const CK_BYTE *iv = NULL;
    CK_RV rv = block_params(op, m, &iv);
    if (rv != CKR_OK)
        return rv;
    if (is_stream(op)) {
        op->ctr_left = ctr_limit(m->pParameter);
        op->ctr_limited = op->ctr_left != 0;
    }
    const struct u_secbuf *k = st_object_secret(op->key);
    const EVP_CIPHER *c = st_ctx_aes((enum st_aes_mode)op->desc->ossl_pad, k->len);
    if (c == NULL)
        return CKR_KEY_SIZE_RANGE;
    op->cipher = EVP_CIPHER_CTX_new();
    if (op->cipher == NULL)
        return CKR_HOST_MEMORY;
    if (EVP_CipherInit_ex2(op->cipher, c, k->data, iv, op->type == ST_OP_ENCRYPT, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(op->cipher, padded(op) ? 1 : 0) != 1)
        return st_ossl_err("EVP_CipherInit_ex2", CKR_FUNCTION_FAILED);
    return CKR_OK;
}

/* Output of an update of `inlen` more bytes, and what stays pending (EVP block rules). */
static void update_len(const struct st_op *op, CK_ULONG inlen, CK_ULONG *need, CK_ULONG *pend)
{
    CK_ULONG total = op->pending + inlen;
    if (is_stream(op)) {
        *need = inlen;
        *pend = 0;
    } else if (op->type == ST_OP_DECRYPT && padded(op) && total > 0 && total % BS == 0) {
        *need = total - BS; /* the last block may hold the padding: kept until final */
        *pend = BS;
    } else {
        *need = total / BS * BS;
        *pend = total % BS;
    }
}

static CK_RV block_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                          CK_ULONG_PTR outlen)
{
    CK_ULONG need;
    CK_ULONG pend;
    update_len(op, inlen, &need, &pend);
    if (op->ctr_limited && inlen > op->ctr_left)
        return CKR_DATA_LEN_RANGE; /* the counter field would wrap */
    bool go;
    CK_RV rv = st_out_room(need, out, outlen, &go);
    if (!go)
        return rv;
    int n = 0;
    if (inlen > 0 && EVP_CipherUpdate(op->cipher, out, &n, in, (int)inlen) != 1)
        return st_ossl_err("EVP_CipherUpdate", CKR_FUNCTION_FAILED);
    if ((CK_ULONG)n != need)
        return CKR_GENERAL_ERROR;
    op->pending = pend;
    if (op->ctr_limited)
        op->ctr_left -= inlen;
    *outlen = need;
    return CKR_OK;
}

/* EVP_CIPHER_CTX_dup is OpenSSL 3.1+; Debian 12 has 3.0. */
static EVP_CIPHER_CTX *cipher_dup(const EVP_CIPHER_CTX *in)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c != NULL && EVP_CIPHER_CTX_copy(c, in) != 1) {
        EVP_CIPHER_CTX_free(c);
        c = NULL;
    }
    return c;
}

static CK_RV block_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    bool dec = op->type == ST_OP_DECRYPT;
    CK_RV lenrv = dec ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_DATA_LEN_RANGE;
    if (!padded(op) && !is_stream(op) && op->pending != 0)
        return lenrv;
    if (dec && padded(op) && op->pending != BS)
        return lenrv;
    if (!padded(op) || !dec) {
        bool go;
        CK_RV rv = st_out_room(padded(op) ? BS : 0, out, outlen, &go);
        if (!go)
            return rv;
        int n = 0;
        if (EVP_CipherFinal_ex(op->cipher, out, &n) != 1)
            return st_ossl_err("EVP_CipherFinal_ex", CKR_FUNCTION_FAILED);
        *outlen = (CK_ULONG)n;
        return CKR_OK;
    }
    /* CBC_PAD decryption: the length is known only after unpadding; work on a copy. */
    unsigned char tmp[BS];
    int n = 0;
    CK_RV rv = CKR_OK;
    EVP_CIPHER_CTX *dup = cipher_dup(op->cipher);
    if (dup == NULL)
        return CKR_HOST_MEMORY;
    if (EVP_CipherFinal_ex(dup, tmp, &n) != 1)
        rv = st_ossl_err("CBC_PAD unpad", CKR_ENCRYPTED_DATA_INVALID);
    else
        rv = u_copy_out(tmp, (size_t)n, out, outlen);
    EVP_CIPHER_CTX_free(dup);
    OPENSSL_cleanse(tmp, sizeof(tmp));
    return rv;
}

static CK_RV block_oneshot(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                           CK_ULONG_PTR outlen);

/* CBC_PAD decryption into a buffer shorter than the ciphertext: decrypt into a wiped temporary
 * and copy; on CKR_BUFFER_TOO_SMALL put back a copy of the untouched context. */
static CK_RV cbcpad_short(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                          CK_ULONG_PTR outlen)
{
    unsigned char *tmp = OPENSSL_malloc(inlen);
    CK_ULONG tlen = inlen;
    if (tmp == NULL)
        return CKR_HOST_MEMORY;
    EVP_CIPHER_CTX *save = cipher_dup(op->cipher);
    CK_RV rv = save == NULL ? CKR_HOST_MEMORY : block_oneshot(op, in, inlen, tmp, &tlen);
    if (rv == CKR_OK)
        rv = u_copy_out(tmp, tlen, out, outlen);
    if (rv == CKR_BUFFER_TOO_SMALL) { /* nothing consumed */
        EVP_CIPHER_CTX_free(op->cipher);
        op->cipher = save;
        op->pending = 0;
        save = NULL;
    }
    EVP_CIPHER_CTX_free(save);
    OPENSSL_clear_free(tmp, inlen);
    return rv;
}

/* Output length of a one-shot, or the length error. */
static CK_RV oneshot_len(const struct st_op *op, CK_ULONG inlen, CK_ULONG *need)
{
    bool dec = op->type == ST_OP_DECRYPT;
    CK_RV lenrv = dec ? CKR_ENCRYPTED_DATA_LEN_RANGE : CKR_DATA_LEN_RANGE;
    *need = inlen;
    if (is_stream(op))
        return CKR_OK;
    if (padded(op) && !dec) {
        *need = (inlen / BS + 1) * BS;
        return CKR_OK;
    }
    if (inlen % BS != 0 || (dec && padded(op) && inlen == 0))
        return lenrv;
    return CKR_OK;
}

/* One-shot = update + final on the same context. */
static CK_RV block_oneshot(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                           CK_ULONG_PTR outlen)
{
    CK_ULONG need;
    CK_RV rv = oneshot_len(op, inlen, &need);
    if (rv != CKR_OK)
        return rv;
    if (op->type == ST_OP_DECRYPT && padded(op) && out != NULL && *outlen < need)
        return cbcpad_short(op, in, inlen, out, outlen);
    bool go;
    rv = st_out_room(need, out, outlen, &go);
    if (!go)
        return rv;
    CK_ULONG n1 = *outlen;
    rv = block_update(op, in, inlen, out, &n1);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG n2 = *outlen - n1;
    rv = block_final(op, out + n1, &n2);
    if (rv == CKR_OK)
        *outlen = n1 + n2;
    return rv;
}

/* ---- GCM ---- */

/* PKCS#11 2.40 errata headers lack ulIvBits; accept that layout too. */
struct gcm_params_240 {
    CK_BYTE_PTR pIv;
    CK_ULONG ulIvLen;
    CK_BYTE_PTR pAAD;
    CK_ULONG ulAADLen;
    CK_ULONG ulTagBits;
};

static CK_RV gcm_params(const CK_MECHANISM *m, CK_GCM_PARAMS *p)
{
    if (m->pParameter != NULL && m->ulParameterLen == sizeof(CK_GCM_PARAMS)) {
        *p = *(const CK_GCM_PARAMS *)m->pParameter;
    } else if (m->pParameter != NULL && m->ulParameterLen == sizeof(struct gcm_params_240)) {
        const struct gcm_params_240 *o = m->pParameter;
        *p = (CK_GCM_PARAMS){.pIv = o->pIv,
                             .ulIvLen = o->ulIvLen,
                             .ulIvBits = o->ulIvLen * 8,
                             .pAAD = o->pAAD,
                             .ulAADLen = o->ulAADLen,
                             .ulTagBits = o->ulTagBits};
    } else {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    if (p->pIv == NULL || p->ulIvLen == 0 || p->ulIvLen > 256)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulAADLen != 0 && p->pAAD == NULL)
        return CKR_MECHANISM_PARAM_INVALID;
    if (p->ulTagBits < 8 || p->ulTagBits > 128 || p->ulTagBits % 8 != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    return CKR_OK;
}

static CK_RV gcm_init(struct st_op *op, const CK_MECHANISM *m)
{
    CK_GCM_PARAMS p;
    CK_RV rv = gcm_params(m, &p);
    if (rv != CKR_OK)
        return rv;
    const struct u_secbuf *k = st_object_secret(op->key);
    const EVP_CIPHER *c = st_ctx_aes(ST_AES_GCM, k->len);
    if (c == NULL)
        return CKR_KEY_SIZE_RANGE;
    op->out_len = p.ulTagBits / 8;
    op->cipher = EVP_CIPHER_CTX_new();
    if (op->cipher == NULL)
        return CKR_HOST_MEMORY;
    size_t ivlen = p.ulIvLen;
    OSSL_PARAM params[] = {
            OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen),
            OSSL_PARAM_construct_end(),
    };
    int enc = op->type == ST_OP_ENCRYPT;
    int n = 0;
    /* The 96-bit IV is GCM's default: one init then, as a raw OpenSSL caller would do. */
    bool ok = ivlen == 12 ? EVP_CipherInit_ex2(op->cipher, c, k->data, p.pIv, enc, NULL) == 1
                          : EVP_CipherInit_ex2(op->cipher, c, NULL, NULL, enc, params) == 1 &&
                                    EVP_CipherInit_ex2(op->cipher, NULL, k->data, p.pIv, enc,
                                                       NULL) == 1;
    if (!ok ||
        (p.ulAADLen > 0 && EVP_CipherUpdate(op->cipher, NULL, &n, p.pAAD, (int)p.ulAADLen) != 1))
        return st_ossl_err("GCM init", CKR_MECHANISM_PARAM_INVALID);
    return CKR_OK;
}

static CK_RV gcm_encrypt_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen,
                                CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(inlen, out, outlen, &go);
    if (!go)
        return rv;
    int n = 0;
    if (inlen > 0 && EVP_EncryptUpdate(op->cipher, out, &n, in, (int)inlen) != 1)
        return st_ossl_err("GCM update", CKR_FUNCTION_FAILED);
    *outlen = (CK_ULONG)n;
    return CKR_OK;
}

static CK_RV gcm_encrypt_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    int n = 0;
    OSSL_PARAM params[] = {
            OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, out, op->out_len),
            OSSL_PARAM_construct_end(),
    };
    if (EVP_EncryptFinal_ex(op->cipher, out, &n) != 1 ||
        EVP_CIPHER_CTX_get_params(op->cipher, params) != 1)
        return st_ossl_err("GCM final", CKR_FUNCTION_FAILED);
    *outlen = op->out_len;
    return CKR_OK;
}

static CK_RV gcm_encrypt(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                         CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(inlen + op->out_len, out, outlen, &go);
    if (!go)
        return rv;
    CK_ULONG n1 = inlen;
    rv = gcm_encrypt_update(op, in, inlen, out, &n1);
    if (rv != CKR_OK)
        return rv;
    CK_ULONG n2 = op->out_len;
    rv = gcm_encrypt_final(op, out + n1, &n2);
    if (rv == CKR_OK)
        *outlen = n1 + n2;
    return rv;
}

static CK_RV gcm_decrypt(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                         CK_ULONG_PTR outlen)
{
    if (inlen < op->out_len)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    CK_ULONG clen = inlen - op->out_len;
    bool go;
    CK_RV rv = st_out_room(clen, out, outlen, &go);
    if (!go)
        return rv;
    int n = 0;
    int fin = 0;
    OSSL_PARAM params[] = {
            OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG,
                                              (void *)(uintptr_t)(in + clen), op->out_len),
            OSSL_PARAM_construct_end(),
    };
    if (EVP_CIPHER_CTX_set_params(op->cipher, params) != 1 ||
        (clen > 0 && EVP_DecryptUpdate(op->cipher, out, &n, in, (int)clen) != 1))
        return st_ossl_err("GCM decrypt", CKR_FUNCTION_FAILED);
    if (EVP_DecryptFinal_ex(op->cipher, out + n, &fin) != 1) {
        OPENSSL_cleanse(out, clen); /* never release unauthenticated plaintext */
        return st_ossl_err("GCM tag", CKR_ENCRYPTED_DATA_INVALID);
    }
    *outlen = (CK_ULONG)(n + fin);
    return CKR_OK;
}

/* GCM decryption releases nothing before the tag is checked: updates buffer, final decrypts. */
static CK_RV gcm_decrypt_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen,
                                CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    bool go;
    CK_RV rv = st_out_room(0, out, outlen, &go);
    if (!go)
        return rv;
    *outlen = 0;
    return st_op_buffer(op, in, inlen);
}

static CK_RV gcm_decrypt_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    return gcm_decrypt(op, op->buf, (CK_ULONG)op->buf_len, out, outlen);
}

/* ---- key wrap (RFC 3394 / RFC 5649), single-part ---- */

static bool is_kwp(const struct st_op *op)
{
    return op->desc->ossl_pad == ST_AES_WRAP_PAD;
}

static CK_RV kw_init(struct st_op *op, const CK_MECHANISM *m)
{
    size_t want = is_kwp(op) ? 4 : 8;
    if (m->pParameter != NULL || m->ulParameterLen != 0) {
        if (m->pParameter == NULL || m->ulParameterLen != want)
            return CKR_MECHANISM_PARAM_INVALID;
        memcpy(op->iv, m->pParameter, want);
        op->ivlen = want;
    }
    const struct u_secbuf *k = st_object_secret(op->key);
    return st_ctx_aes((enum st_aes_mode)op->desc->ossl_pad, k->len) != NULL ? CKR_OK
                                                                            : CKR_KEY_SIZE_RANGE;
}

/* A fresh context per call: the wrap ciphers are one-shot in OpenSSL. */
static CK_RV kw_run(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE *out, int *n)
{
    const struct u_secbuf *k = st_object_secret(op->key);
    int enc = op->type == ST_OP_ENCRYPT;
    CK_RV rv = CKR_OK;
    int fin = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return CKR_HOST_MEMORY;
    EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_CipherInit_ex2(c, st_ctx_aes((enum st_aes_mode)op->desc->ossl_pad, k->len), k->data,
                           op->ivlen ? op->iv : NULL, enc, NULL) != 1 ||
        EVP_CipherUpdate(c, out, n, in, (int)inlen) != 1 ||
        EVP_CipherFinal_ex(c, out + *n, &fin) != 1)
        rv = st_ossl_err("AES key wrap", enc ? CKR_FUNCTION_FAILED : CKR_ENCRYPTED_DATA_INVALID);
    *n += fin;
    EVP_CIPHER_CTX_free(c);
    return rv;
}

static CK_RV kw_encrypt(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                        CK_ULONG_PTR outlen)
{
    if (is_kwp(op) ? inlen == 0 : (inlen < 16 || inlen % 8 != 0))
        return CKR_DATA_LEN_RANGE;
    if (inlen > INT32_MAX - 16)
        return CKR_DATA_LEN_RANGE;
    CK_ULONG need = (inlen + 7) / 8 * 8 + 8;
    bool go;
    CK_RV rv = st_out_room(need, out, outlen, &go);
    if (!go)
        return rv;
    int n = 0;
    rv = kw_run(op, in, inlen, out, &n);
    if (rv == CKR_OK)
        *outlen = (CK_ULONG)n;
    return rv;
}

static CK_RV kw_decrypt(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                        CK_ULONG_PTR outlen)
{
    if (inlen % 8 != 0 || inlen < (is_kwp(op) ? 16u : 24u) || inlen > INT32_MAX)
        return CKR_ENCRYPTED_DATA_LEN_RANGE;
    if (out == NULL) {
        *outlen = inlen - 8; /* exact for KW, an upper bound for KWP */
        return CKR_OK;
    }
    unsigned char *tmp = OPENSSL_malloc(inlen);
    if (tmp == NULL)
        return CKR_HOST_MEMORY;
    int n = 0;
    CK_RV rv = kw_run(op, in, inlen, tmp, &n);
    if (rv == CKR_OK)
        rv = u_copy_out(tmp, (size_t)n, out, outlen);
    OPENSSL_clear_free(tmp, inlen);
    return rv;
}

/* ---- CMAC ---- */

static CK_RV cmac_init(struct st_op *op, const CK_MECHANISM *m)
{
    CK_ULONG len = 0;
    if ((op->desc->flags & ST_MF_MAC_GENERAL) != 0) {
        if (m->pParameter == NULL || m->ulParameterLen != sizeof(CK_ULONG))
            return CKR_MECHANISM_PARAM_INVALID;
        len = *(const CK_ULONG *)m->pParameter;
        if (len == 0 || len > BS)
            return CKR_MECHANISM_PARAM_INVALID;
    } else if (m->pParameter != NULL || m->ulParameterLen != 0) {
        return CKR_MECHANISM_PARAM_INVALID;
    }
    const EVP_CIPHER *c = st_ctx_aes(ST_AES_CBC, st_object_secret(op->key)->len);
    if (c == NULL)
        return CKR_KEY_SIZE_RANGE;
    OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
                                             (char *)(uintptr_t)EVP_CIPHER_get0_name(c), 0),
            OSSL_PARAM_construct_end(),
    };
    return st_mac_start(op, st_ctx_cmac(), params, len);
}

/* ---- key generation ---- */

static CK_RV aes_keygen(const struct st_mech_desc *d, const CK_MECHANISM *m,
                        const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_object **out)
{
    if (m->pParameter != NULL || m->ulParameterLen != 0)
        return CKR_MECHANISM_PARAM_INVALID;
    CK_ULONG len;
    CK_RV rv = st_tmpl_ulong(tmpl, n, CKA_VALUE_LEN, &len);
    if (rv != CKR_OK)
        return rv;
    if (len != 16 && len != 24 && len != 32)
        return CKR_ATTRIBUTE_VALUE_INVALID;
    return st_keygen_random_secret(d, CKK_AES, len, tmpl, n, out);
}

/* ---- rows ---- */

static const struct st_mech_ops block_ops = {
        .init = block_init,
        .encrypt = block_oneshot,
        .encrypt_update = block_update,
        .encrypt_final = block_final,
        .decrypt = block_oneshot,
        .decrypt_update = block_update,
        .decrypt_final = block_final,
};

static const struct st_mech_ops cbcpad_ops = {
        .init = block_init,
        .encrypt = block_oneshot,
        .encrypt_update = block_update,
        .encrypt_final = block_final,
        .decrypt = block_oneshot,
        .decrypt_update = block_update,
        .decrypt_final = block_final,
        .wrap = block_oneshot,
        .unwrap = block_oneshot,
};

static const struct st_mech_ops gcm_ops = {
        .init = gcm_init,
        .encrypt = gcm_encrypt,
        .encrypt_update = gcm_encrypt_update,
        .encrypt_final = gcm_encrypt_final,
        .decrypt = gcm_decrypt,
        .decrypt_update = gcm_decrypt_update,
        .decrypt_final = gcm_decrypt_final,
};

static const struct st_mech_ops kw_ops = {
        .init = kw_init,
        .encrypt = kw_encrypt,
        .decrypt = kw_decrypt,
        .wrap = kw_encrypt,
        .unwrap = kw_decrypt,
};

static const struct st_mech_ops cmac_ops = {
        .init = cmac_init,
        .sign = st_mac_sign,
        .sign_update = st_mac_update,
        .sign_final = st_mac_sign_final,
        .verify = st_mac_verify,
        .verify_update = st_mac_update,
        .verify_final = st_mac_verify_final,
};

static const struct st_mech_ops keygen_ops = {.keygen = aes_keygen};

#define CRYPT (CKF_ENCRYPT | CKF_DECRYPT)
#define WRAP  (CKF_WRAP | CKF_UNWRAP)
#define AES_ROW(mech, fl, mode, flags_, o)                                                         \
    {                                                                                              \
        .type = (mech), .info = {16, 32, (fl)}, .flags = (flags_), .key_type = CKK_AES,            \
        .ossl_pad = (mode), .ops = (o)                                                             \
    }

/* Key sizes in bytes (PKCS#11 3.0 §2.14). Sorted by type. */
const struct st_mech_desc st_mech_aes_rows[] = {
        AES_ROW(CKM_AES_KEY_GEN, CKF_GENERATE, 0, ST_MF_PARAM_NONE, &keygen_ops),
        AES_ROW(CKM_AES_ECB, CRYPT, ST_AES_ECB, ST_MF_PARAM_NONE, &block_ops),
        AES_ROW(CKM_AES_CBC, CRYPT, ST_AES_CBC, 0, &block_ops),
        AES_ROW(CKM_AES_CBC_PAD, CRYPT | WRAP, ST_AES_CBC, ST_MF_CIPHER_PAD, &cbcpad_ops),
        AES_ROW(CKM_AES_CTR, CRYPT, ST_AES_CTR, 0, &block_ops),
        AES_ROW(CKM_AES_GCM, CRYPT, ST_AES_GCM, 0, &gcm_ops),
        AES_ROW(CKM_AES_CMAC, CKF_SIGN | CKF_VERIFY, 0, 0, &cmac_ops),
        AES_ROW(CKM_AES_CMAC_GENERAL, CKF_SIGN | CKF_VERIFY, 0, ST_MF_MAC_GENERAL, &cmac_ops),
        AES_ROW(CKM_AES_KEY_WRAP, CRYPT | WRAP, ST_AES_WRAP, 0, &kw_ops),
        AES_ROW(CKM_AES_KEY_WRAP_KWP, CRYPT | WRAP, ST_AES_WRAP_PAD, 0, &kw_ops),
};
const size_t st_mech_aes_count = U_ARRAY_SIZE(st_mech_aes_rows);
