/* SPDX-License-Identifier: Apache-2.0 */
/*
 * softtoken: the local crypto engine of the token, on OpenSSL 3 in a private OSSL_LIB_CTX.
 * This header is the whole interface module/ uses. softtoken knows nothing of Azure, slots,
 * sessions or handles; it owns objects (attributes + parsed key material) and operations.
 *
 * Ownership: functions returning `struct st_object **out` give the caller one reference.
 * Objects are reference counted so an operation keeps its key alive after C_DestroyObject.
 * Key material (EVP_PKEY, secret bytes) is immutable after creation; attributes are guarded
 * by a per-object lock, so every function here may be called from any thread.
 *
 * Split of the implementation:
 *   st_ctx.c, st_random.c, st_mech_registry.c, st_mech_<family>.c, st_op.c, st_keymgmt.c:
 *       library context, mechanisms, operations, generate/wrap/unwrap/derive
 *   st_object.c, st_attr_policy.c, st_import.c: objects, attribute rules, import from DER/raw
 */
#ifndef SKR_SOFTTOKEN_ST_H
#define SKR_SOFTTOKEN_ST_H

#include <stdbool.h>
#include <stddef.h>

#include "u_pkcs11.h"
#include "u_secmem.h"

struct st_object;
struct st_op;

/* ---- library context (st_ctx.c) ---------------------------------------------------------- */

/** Create the private OSSL_LIB_CTX with the default provider loaded explicitly, and start the
 *  secure heap if nobody did. Idempotent. CKR_OK, CKR_HOST_MEMORY, CKR_GENERAL_ERROR. */
CK_RV st_init(void);

/** Free the library context (never OPENSSL_cleanup). Objects must be gone first. */
void st_cleanup(void);

/* ---- mechanisms (st_mech_registry.c) ------------------------------------------------------ */

/** Two-call list of supported mechanisms (sorted). CKR_OK, CKR_BUFFER_TOO_SMALL. */
CK_RV st_mech_list(CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count);

/** Key sizes and flags of `type`. CKR_OK or CKR_MECHANISM_INVALID. */
CK_RV st_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info);

/* ---- operations (st_op.c + families) ------------------------------------------------------ */

enum st_op_type {
    ST_OP_ENCRYPT,
    ST_OP_DECRYPT,
    ST_OP_SIGN,
    ST_OP_VERIFY,
    ST_OP_DIGEST,
};

/**
 * Start an operation. `key` is NULL for digests; otherwise the op takes a reference.
 * Checks mechanism (CKR_MECHANISM_INVALID), parameters (CKR_MECHANISM_PARAM_INVALID), key
 * class/type (CKR_KEY_TYPE_INCONSISTENT), size (CKR_KEY_SIZE_RANGE) and the key's usage
 * attribute, e.g. CKA_SIGN (CKR_KEY_FUNCTION_NOT_PERMITTED).
 */
CK_RV st_op_new(enum st_op_type type, const CK_MECHANISM *mech, struct st_object *key,
                struct st_op **out);

/** Type of a running operation. */
enum st_op_type st_op_type_of(const struct st_op *op);

/**
 * Single-part C_Encrypt/C_Decrypt/C_Sign/C_Digest. Output follows u_copy_out: out == NULL is a
 * length query and consumes nothing; CKR_BUFFER_TOO_SMALL consumes nothing. Any other return
 * means the operation is finished (the module then frees it). The module refuses a single-part
 * call after an update (st_op_in_multipart) before calling this.
 */
CK_RV st_op_oneshot(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                    CK_ULONG_PTR outlen);

/** Multi-part update. For encrypt/decrypt, out/outlen follow u_copy_out (a length query or
 *  CKR_BUFFER_TOO_SMALL consumes nothing); for sign/verify/digest pass NULL, NULL.
 *  A single-part-only mechanism (CKM_RSA_PKCS sign, CKM_ECDSA, CKM_EDDSA, OAEP, ...) returns
 *  CKR_FUNCTION_NOT_SUPPORTED; like any error that ends the operation (PKCS#11 §5.2: the module
 *  frees it on every rv but CKR_OK and CKR_BUFFER_TOO_SMALL). */
CK_RV st_op_update(struct st_op *op, const CK_BYTE *in, CK_ULONG inlen, CK_BYTE_PTR out,
                   CK_ULONG_PTR outlen);

/** Multi-part final for encrypt/decrypt/sign/digest (u_copy_out rules). */
CK_RV st_op_final(struct st_op *op, CK_BYTE_PTR out, CK_ULONG_PTR outlen);

/** C_Verify: CKR_OK, CKR_SIGNATURE_INVALID, CKR_SIGNATURE_LEN_RANGE, ... Ends the op. */
CK_RV st_op_verify(struct st_op *op, const CK_BYTE *data, CK_ULONG len, const CK_BYTE *sig,
                   CK_ULONG siglen);

/** C_VerifyFinal after updates. Ends the op. */
CK_RV st_op_verify_final(struct st_op *op, const CK_BYTE *sig, CK_ULONG siglen);

/** C_DigestKey: feed a secret key's value (CKR_KEY_INDIGESTIBLE for others). */
CK_RV st_op_digest_key(struct st_op *op, struct st_object *key);

/** True once an update has been made; the module then refuses single-part calls
 *  (CKR_OPERATION_ACTIVE) on this operation. */
bool st_op_in_multipart(const struct st_op *op);

/** Free an operation and drop its key reference; NULL-safe. Wipes internal state. */
void st_op_free(struct st_op *op);

/* ---- key management (st_keymgmt.c + families) --------------------------------------------- */

/** C_GenerateKey (AES, generic secret). The new object is a session or token object per the
 *  template's CKA_TOKEN; the module refuses token objects before calling. */
CK_RV st_key_generate(const CK_MECHANISM *mech, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                      struct st_object **out);

/** C_GenerateKeyPair (RSA 2048-4096, EC P-256/384/521, Ed25519/Ed448). */
CK_RV st_keypair_generate(const CK_MECHANISM *mech, const CK_ATTRIBUTE *pub_tmpl, CK_ULONG npub,
                          const CK_ATTRIBUTE *priv_tmpl, CK_ULONG npriv, struct st_object **pub,
                          struct st_object **priv);

/** C_WrapKey: refuses CKA_EXTRACTABLE=FALSE keys (CKR_KEY_UNEXTRACTABLE), checks CKA_WRAP and
 *  CKA_WRAP_WITH_TRUSTED. Output per u_copy_out. */
CK_RV st_key_wrap(const CK_MECHANISM *mech, struct st_object *wrapping, struct st_object *key,
                  CK_BYTE_PTR out, CK_ULONG_PTR outlen);

/** C_UnwrapKey: new secret key (raw) or private key (PKCS#8) per template. */
CK_RV st_key_unwrap(const CK_MECHANISM *mech, struct st_object *unwrapping, const CK_BYTE *wrapped,
                    CK_ULONG wlen, const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_object **out);

/** C_DeriveKey (CKM_ECDH1_DERIVE with CKD_NULL/CKD_SHA*_KDF) → generic secret or AES key. */
CK_RV st_key_derive(const CK_MECHANISM *mech, struct st_object *base, const CK_ATTRIBUTE *tmpl,
                    CK_ULONG n, struct st_object **out);

/** C_GenerateRandom from the private library context's DRBG. */
CK_RV st_random(CK_BYTE_PTR buf, CK_ULONG len);

/* ---- objects (st_object.c, st_attr_policy.c) ----------------------------------------------- */

/** C_CreateObject: any supported class (data, certificate, public/private/secret key) built
 *  from a template under the attribute policy. CKR_TEMPLATE_INCOMPLETE/INCONSISTENT,
 *  CKR_ATTRIBUTE_VALUE_INVALID, CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_READ_ONLY, ... */
CK_RV st_object_create(const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_object **out);

/** C_CopyObject: copy with template changes allowed by the policy (CKA_COPYABLE honoured). */
CK_RV st_object_copy(struct st_object *src, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                     struct st_object **out);

/** C_GetAttributeValue with every rule of PKCS#11 §5.7 (sensitive → CKR_ATTRIBUTE_SENSITIVE
 *  and CK_UNAVAILABLE_INFORMATION, unknown → CKR_ATTRIBUTE_TYPE_INVALID, short buffer →
 *  CKR_BUFFER_TOO_SMALL; all entries processed). */
CK_RV st_object_get_attributes(struct st_object *o, CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);

/** C_SetAttributeValue under the policy (CKA_MODIFIABLE, read-only, change-to-false rules).
 *  All or nothing. */
CK_RV st_object_set_attributes(struct st_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/** True if every attribute of `tmpl` is present with an equal value (C_FindObjects). */
bool st_object_match(struct st_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/** C_GetObjectSize: an approximation of the memory the object uses. */
CK_ULONG st_object_size(struct st_object *o);

CK_OBJECT_CLASS st_object_class(const struct st_object *o);
CK_KEY_TYPE st_object_key_type(const struct st_object *o); /* CK_UNAVAILABLE_INFORMATION if none */
bool st_object_is_token(const struct st_object *o);
bool st_object_is_private(const struct st_object *o);
bool st_object_is_destroyable(const struct st_object *o);

/** Copy of CKA_ID / CKA_LABEL for the module's search index (len 0 if absent).
 *  Returns CKR_OK or CKR_BUFFER_TOO_SMALL (u_copy_out rules). */
CK_RV st_object_id(struct st_object *o, CK_BYTE_PTR out, CK_ULONG_PTR len);
CK_RV st_object_label(struct st_object *o, CK_BYTE_PTR out, CK_ULONG_PTR len);

void st_object_ref(struct st_object *o);
/** Drop a reference; the last one wipes attributes and key material. NULL-safe. */
void st_object_unref(struct st_object *o);

/* ---- import from a key source (st_import.c) ----------------------------------------------- */

/** What a key source knows about a key besides its material. Borrowed for the call. */
struct st_key_meta {
    const char *label;       /* CKA_LABEL, NULL = none */
    const unsigned char *id; /* CKA_ID; NULL/0 = SHA-1 of the subjectPublicKey BIT STRING
                                contents (RFC 5280 §4.2.1.2 (1), = an OpenSSL-made cert's SKI) */
    size_t id_len;
    CK_KEY_TYPE secret_type; /* secret keys: CKK_AES or CKK_GENERIC_SECRET */
    bool token;              /* CKA_TOKEN (key-source objects: true) */
    bool private_; /* CKA_PRIVATE for private/secret keys (true when the token has a PIN) */
};

/**
 * Private key from PKCS#8 DER (RSA, EC, Ed25519/Ed448), parsed once into an EVP_PKEY. Also makes
 * the matching public-key object. The token's private and secret keys are CKA_SENSITIVE,
 * CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE TRUE and CKA_EXTRACTABLE, CKA_MODIFIABLE,
 * CKA_DESTROYABLE FALSE. The caller wipes `der` afterwards. `pub` may be NULL.
 */
CK_RV st_import_private_pkcs8(const unsigned char *der, size_t len, const struct st_key_meta *m,
                              struct st_object **priv, struct st_object **pub);

/** Public key object from SubjectPublicKeyInfo DER (before release: public part only). */
CK_RV st_import_public_spki(const unsigned char *der, size_t len, const struct st_key_meta *m,
                            struct st_object **pub);

/** Secret key object (AES 16/24/32 bytes, or generic secret) from raw bytes (copied to the
 *  secure heap; the caller wipes its copy). */
CK_RV st_import_secret(const unsigned char *key, size_t len, const struct st_key_meta *m,
                       struct st_object **out);

/** X.509 certificate object from DER (CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER, CKA_VALUE,
 *  CKA_CERTIFICATE_CATEGORY, CKA_CHECK_VALUE filled). */
CK_RV st_import_certificate(const unsigned char *der, size_t len, const struct st_key_meta *m,
                            struct st_object **out);

/** True if the two key objects hold the same public key (release check: the released private
 *  key must match the published public metadata). */
bool st_object_same_public_key(struct st_object *a, struct st_object *b);

#endif /* SKR_SOFTTOKEN_ST_H */
