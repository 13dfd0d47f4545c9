/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside softtoken only: the mechanism registry row, the operation object and the algorithm
 * cache of the private library context. Each st_mech_<family>.c contributes rows of
 * struct st_mech_desc; st_mech_registry.c merges them into one array sorted by type.
 * A NULL slot in struct st_mech_ops means the function is not supported (CKR_MECHANISM_INVALID
 * at init, or CKR_FUNCTION_NOT_SUPPORTED for a missing multi-part slot).
 */
#ifndef SKR_SOFTTOKEN_ST_MECH_H
#define SKR_SOFTTOKEN_ST_MECH_H

#include <openssl/evp.h>
#include <stdint.h>

#include "st.h"
#include "st_object_int.h"

/* Digests known to the cache (st_ctx.c). */
enum st_md_id {
    ST_MD_NONE = 0,
    ST_MD_SHA1,
    ST_MD_SHA224,
    ST_MD_SHA256,
    ST_MD_SHA384,
    ST_MD_SHA512,
    ST_MD_COUNT,
};

/* AES modes known to the cache; key lengths 16/24/32 each. */
enum st_aes_mode {
    ST_AES_ECB = 0,
    ST_AES_CBC,
    ST_AES_CTR,
    ST_AES_GCM,
    ST_AES_WRAP,
    ST_AES_WRAP_PAD,
    ST_AES_MODE_COUNT,
};

/* Row flags (besides CK_MECHANISM_INFO.flags). */
#define ST_MF_AES_KEY_OK    0x01u /* HMAC: CKK_AES keys accepted besides CKK_GENERIC_SECRET */
#define ST_MF_NO_SIZE_CHECK 0x02u /* key size fixed by the key type (EdDSA) */
#define ST_MF_PARAM_NONE    0x04u /* mechanism takes no parameter */
#define ST_MF_MAC_GENERAL   0x08u /* parameter is a CK_MAC_GENERAL_PARAMS output length */
#define ST_MF_CIPHER_PAD    0x10u /* PKCS#7 padding (CKM_AES_CBC_PAD) */

struct st_op;
struct st_mech_desc;

typedef CK_RV (*st_data_fn)(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                            CK_ULONG_PTR outlen);
typedef CK_RV (*st_update_fn)(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen);
typedef CK_RV (*st_final_fn)(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen);
typedef CK_RV (*st_verify_fn)(struct st_op *op, const CK_BYTE *data, CK_ULONG len,
                              const CK_BYTE *sig, CK_ULONG siglen);
typedef CK_RV (*st_verify_final_fn)(struct st_op *op, const CK_BYTE *sig, CK_ULONG siglen);

struct st_mech_ops {
    /* Parameter check and per-operation set-up (called by st_op_new after the key checks). */
    CK_RV (*init)(struct st_op *op, const CK_MECHANISM *m);
    st_data_fn sign;
    st_update_fn sign_update;
    st_final_fn sign_final;
    st_verify_fn verify;
    st_update_fn verify_update;
    st_verify_final_fn verify_final;
    st_data_fn encrypt;
    st_data_fn encrypt_update;
    st_final_fn encrypt_final;
    st_data_fn decrypt;
    st_data_fn decrypt_update;
    st_final_fn decrypt_final;
    st_data_fn digest;
    st_update_fn digest_update;
    st_final_fn digest_final;
    /* Wrap/unwrap run on an op made by st_op_new_usage(CKA_WRAP/CKA_UNWRAP). */
    st_data_fn wrap;
    st_data_fn unwrap;
    CK_RV(*derive)
    (const struct st_mech_desc *d, const CK_MECHANISM *m, struct st_object *base,
     const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_object **out);
    CK_RV(*keygen)
    (const struct st_mech_desc *d, const CK_MECHANISM *m, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
     struct st_object **out);
    CK_RV(*keypair_gen)
    (const struct st_mech_desc *d, const CK_MECHANISM *m, const CK_ATTRIBUTE *pub_tmpl,
     CK_ULONG npub, const CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv, struct st_object **pub,
     struct st_object **priv);
};

struct st_mech_desc {
    CK_MECHANISM_TYPE type;
    CK_MECHANISM_INFO info; /* key sizes: bits for RSA/EC/EdDSA, bytes for secret keys */
    unsigned flags;         /* ST_MF_* */
    CK_KEY_TYPE key_type;   /* CK_UNAVAILABLE_INFORMATION for digests */
    enum st_md_id md;       /* hash of the mechanism, ST_MD_NONE if none */
    int ossl_pad;           /* RSA padding, or the AES mode (enum st_aes_mode) */
    const struct st_mech_ops *ops;
};

/* A running operation. The family owns the meaning of the state fields; st_op.c frees them. */
struct st_op {
    enum st_op_type type;
    const struct st_mech_desc *desc;
    struct st_object *key; /* one reference, NULL for digests */
    bool multipart;        /* an update was made */
    bool done;             /* finished: every further call is CKR_OPERATION_NOT_INITIALIZED */
    EVP_MD_CTX *md;        /* digests, digest-sign/verify */
    EVP_PKEY_CTX *pctx;    /* raw sign/verify/encrypt/decrypt (owned) */
    EVP_CIPHER_CTX *cipher;
    EVP_MAC_CTX *mac;
    CK_ULONG out_len;   /* signature/MAC/tag length fixed at init */
    CK_ULONG pending;   /* bytes held inside the cipher (block modes) */
    unsigned char *buf; /* buffered input (GCM decrypt), wiped on free */
    size_t buf_len;
    size_t buf_cap;
    bool ctr_limited;     /* AES-CTR: the counter field can wrap within a CK_ULONG ... */
    uint64_t ctr_left;    /* ... after this many more bytes */
    unsigned char iv[16]; /* AES key wrap IV */
    size_t ivlen;
};

/* ---- registry (st_mech_registry.c) ---- */

/** Row for `type`, or NULL. Borrowed, static. */
const struct st_mech_desc *st_mech_find(CK_MECHANISM_TYPE type);

/** All rows, sorted by type (for tests). Borrowed, static. */
size_t st_mech_rows(const struct st_mech_desc *const **rows);

/* Family row arrays, merged by the registry. */
extern const struct st_mech_desc st_mech_rsa_rows[];
extern const size_t st_mech_rsa_count;
extern const struct st_mech_desc st_mech_ec_rows[];
extern const size_t st_mech_ec_count;
extern const struct st_mech_desc st_mech_eddsa_rows[];
extern const size_t st_mech_eddsa_count;
extern const struct st_mech_desc st_mech_aes_rows[];
extern const size_t st_mech_aes_count;
extern const struct st_mech_desc st_mech_hmac_rows[];
extern const size_t st_mech_hmac_count;
extern const struct st_mech_desc st_mech_digest_rows[];
extern const size_t st_mech_digest_count;

/* ---- algorithm cache (st_ctx.c): fetched once per library context, borrowed ---- */

const EVP_MD *st_ctx_md(enum st_md_id id);
/** Cipher for `mode` and an AES key of `keylen` bytes (16/24/32), else NULL. */
const EVP_CIPHER *st_ctx_aes(enum st_aes_mode mode, size_t keylen);
/** "HMAC" or "CMAC" EVP_MAC of the private context. */
EVP_MAC *st_ctx_hmac(void);
EVP_MAC *st_ctx_cmac(void);
/** Map CKM_SHA_1 ... CKM_SHA512 (also CKG_MGF1_* with `mgf`) to an st_md_id; ST_MD_NONE if none. */
enum st_md_id st_md_from_mech(CK_MECHANISM_TYPE m);
enum st_md_id st_md_from_mgf(CK_ULONG mgf);
/** OpenSSL name of a digest ("SHA256"). */
const char *st_md_name(enum st_md_id id);

/** Drain the OpenSSL error queue into the debug log with `what`; returns `rv`. */
CK_RV st_ossl_err(const char *what, CK_RV rv);

/* ---- operation helpers (st_op.c) ---- */

/** Like st_op_new, with the usage attribute chosen by the caller (CKA_WRAP, CKA_UNWRAP...). */
CK_RV st_op_new_usage(enum st_op_type type, const CK_MECHANISM *mech, struct st_object *key,
                      CK_ATTRIBUTE_TYPE usage, struct st_op **out);

/**
 * Two-call output check for `need` bytes. Returns CKR_OK with *go = true when `out` can take
 * them; otherwise *go = false and the answer to return (CKR_OK for a length query,
 * CKR_BUFFER_TOO_SMALL). Sets *outlen = need in both latter cases.
 */
CK_RV st_out_room(CK_ULONG need, CK_BYTE_PTR out, CK_ULONG_PTR outlen, bool *go);

/** C_GenerateKey's common end for secret keys: `len` random bytes (length already checked by
 *  the family) become a CKO_SECRET_KEY of type `kt` (st_keymgmt.c). */
CK_RV st_keygen_random_secret(const struct st_mech_desc *d, CK_KEY_TYPE kt, CK_ULONG len,
                              const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_object **out);

/** One-shot EVP_DigestSign / EVP_DigestVerify on op->md, for mechanisms whose signature is
 *  always op->out_len bytes (RSA with a hash, EdDSA). */
CK_RV st_op_digest_sign(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                        CK_ULONG_PTR outlen);
CK_RV st_op_digest_verify(struct st_op *op, const CK_BYTE *data, CK_ULONG len, const CK_BYTE *sig,
                          CK_ULONG siglen);

/** Append to op->buf (grows; the old buffer is wiped). CKR_HOST_MEMORY. */
CK_RV st_op_buffer(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen);

/* ---- shared MAC ops (st_mech_hmac.c), also used by AES CMAC ---- */
CK_RV st_mac_start(struct st_op *op, EVP_MAC *mac, const OSSL_PARAM *params, CK_ULONG maclen);
CK_RV st_mac_sign(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                  CK_ULONG_PTR outlen);
CK_RV st_mac_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen);
CK_RV st_mac_sign_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen);
CK_RV st_mac_verify(struct st_op *op, const CK_BYTE *data, CK_ULONG len, const CK_BYTE *sig,
                    CK_ULONG siglen);
CK_RV st_mac_verify_final(struct st_op *op, const CK_BYTE *sig, CK_ULONG siglen);

/* ---- key management helpers (st_keymgmt.c) ---- */

/** CK_ULONG value of template attribute `t`; CKR_TEMPLATE_INCOMPLETE if absent,
 *  CKR_ATTRIBUTE_VALUE_INVALID if malformed. */
CK_RV st_tmpl_ulong(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE t, CK_ULONG *out);

/** Wrap a key pair freshly generated in `pkey` (ownership taken) into two objects. */
CK_RV st_keypair_objects(EVP_PKEY *pkey, CK_MECHANISM_TYPE mech, const CK_ATTRIBUTE *pub_tmpl,
                         CK_ULONG npub, const CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv,
                         struct st_object **pub, struct st_object **priv);

/** Curve name from CKA_EC_PARAMS DER (OID or PrintableString); NULL if unsupported. */
const char *st_ec_params_curve(const CK_BYTE *der, CK_ULONG len);

#endif /* SKR_SOFTTOKEN_ST_MECH_H */
