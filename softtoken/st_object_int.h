/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside softtoken only: what the mechanism families need from the object model, and what the
 * object model needs from the library context. module/ never includes this.
 */
#ifndef SKR_SOFTTOKEN_ST_OBJECT_INT_H
#define SKR_SOFTTOKEN_ST_OBJECT_INT_H

#include <openssl/evp.h>

#include "st.h"

/* How a key came to be: fixes CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
 * CKA_KEY_GEN_MECHANISM (PKCS#11 3.0 §4.7, §4.8). */
enum st_origin {
    ST_ORIGIN_CREATE,   /* C_CreateObject: LOCAL false, ALWAYS_SENSITIVE/NEVER_EXTRACTABLE false */
    ST_ORIGIN_GENERATE, /* C_GenerateKey(Pair): LOCAL true, the two follow SENSITIVE/!EXTRACTABLE */
    ST_ORIGIN_UNWRAP,   /* C_UnwrapKey: LOCAL false, both false */
    ST_ORIGIN_DERIVE,   /* C_DeriveKey: LOCAL false, inherited from the base key */
    ST_ORIGIN_COPY,     /* C_CopyObject: as the source */
    ST_ORIGIN_IMPORT,   /* key source (released from Key Vault): LOCAL false, both true */
};

/*
 * No EVP_PKEY of the token is an ENGINE key: in a process that loaded libp11's engine
 * (`openssl -engine pkcs11`, nginx; libcurl's init or ENGINE_set_default registers it for RSA
 * and EC), OpenSSL 3.0 builds keys it reaches through a NID (EVP_PKEY_CTX_new_from_name("EC"),
 * d2i_PUBKEY_ex, EVP_PKCS82PKEY_ex's fallback) as legacy keys with the engine's methods, which
 * the provider code cannot export or use (issue 5, tests/unit/test_st_engine.c). So keys are
 * provider keys of the private context: key type names are OIDs (not mapped to a NID, so no
 * engine is looked up), encoded keys go through OSSL_DECODER (st_pkey_from_spki/_pkcs8) or
 * EVP_PKEY_fromdata (st_spki.c), and
 * key-making calls carry ST_PROPQ. The one legacy kind is a released RSA private key
 * (u_pkcs8_decode: OpenSSL's own RSA method without the private cache, never the engine's).
 */
#define ST_OID_RSA     "1.2.840.113549.1.1.1"
#define ST_OID_EC      "1.2.840.10045.2.1"
#define ST_OID_ED25519 "1.3.101.112"
#define ST_OID_ED448   "1.3.101.113"
#define ST_PROPQ       "provider=default"

/** The private library context (st_ctx.c); NULL before st_init. */
OSSL_LIB_CTX *st_libctx(void);

/** SubjectPublicKeyInfo DER (exactly `len` bytes) → public provider key of the private context
 *  (st_pkey_from_spki_fast, else OSSL_DECODER; ST_PROPQ). NULL if it is not one. */
EVP_PKEY *st_pkey_from_spki(const unsigned char *der, size_t len);

/** The same without OSSL_DECODER for the common types (st_spki.c): RSA (rsaEncryption), EC on
 *  P-256/384/521 (namedCurve, uncompressed point), Ed25519, Ed448, and only when the input is the
 *  DER st_spki_encode writes for the key made (so exactly what the decoder would give). NULL
 *  otherwise (anything else, malformed or not canonical): the caller asks the decoder. Leaves
 *  the OpenSSL error queue as it found it. */
EVP_PKEY *st_pkey_from_spki_fast(const unsigned char *der, size_t len);

/** SubjectPublicKeyInfo DER of `pkey` without OSSL_ENCODER for the types of
 *  st_pkey_from_spki_fast (EC: named curve, uncompressed point form; byte-identical to i2d_PUBKEY).
 *  *der is new (OPENSSL_free); *bits_off and *bits_len (either may be NULL) locate the
 *  subjectPublicKey BIT STRING's key bytes in it. CKR_OK, CKR_HOST_MEMORY, or
 *  CKR_FUNCTION_NOT_SUPPORTED for any other key (explicit EC parameters, RSA-PSS, ...): use
 *  i2d_PUBKEY then. */
CK_RV st_spki_encode(const EVP_PKEY *pkey, unsigned char **der, size_t *len, size_t *bits_off,
                     size_t *bits_len);

/** SubjectPublicKeyInfo DER of any key: st_spki_encode, else i2d_PUBKEY. *der is new
 *  (OPENSSL_free). CKR_OK, CKR_HOST_MEMORY, CKR_FUNCTION_FAILED (the encoder failed; its errors
 *  stay queued). */
CK_RV st_spki_der(const EVP_PKEY *pkey, unsigned char **der, size_t *len);

/** PKCS#8 PrivateKeyInfo DER (exactly `len` bytes) → provider key pair of the private context
 *  (OSSL_DECODER, ST_PROPQ); NULL if it is not one. For C_UnwrapKey: released keys go through
 *  u_pkcs8_decode (no copies left). */
EVP_PKEY *st_pkey_from_pkcs8(const unsigned char *der, size_t len);

/** Public-only provider copy of `pkey` (SubjectPublicKeyInfo round trip). NULL on failure. */
EVP_PKEY *st_pkey_public_dup(EVP_PKEY *pkey);

/** Borrowed key material: EVP_PKEY of a public/private key object, else NULL. Immutable. */
EVP_PKEY *st_object_pkey(const struct st_object *o);

/** Borrowed CKA_VALUE of a secret key object, else NULL. Immutable. */
const struct u_secbuf *st_object_secret(const struct st_object *o);

/** Boolean attribute (CKA_SIGN, CKA_ENCRYPT, ...) or `dflt` if absent. Takes the object lock. */
bool st_object_attr_bool(struct st_object *o, CK_ATTRIBUTE_TYPE t, bool dflt);

/** CK_ULONG attribute; CKR_OK or CKR_ATTRIBUTE_TYPE_INVALID if absent. */
CK_RV st_object_attr_ulong(struct st_object *o, CK_ATTRIBUTE_TYPE t, CK_ULONG *out);

/** PKCS#11 3.0 §4.7.2 CKA_ALLOWED_MECHANISMS: true when the key's list is absent or empty, or
 *  holds `m`. Takes the object lock. */
bool st_key_mech_allowed(struct st_object *key, CK_MECHANISM_TYPE m);

/** Whether `key` may start an operation of mechanism `m` needing the usage attribute `usage`
 *  (CKA_SIGN, CKA_ENCRYPT, ...): CKR_OK, CKR_KEY_FUNCTION_NOT_PERMITTED when `usage` is not TRUE,
 *  CKR_MECHANISM_INVALID when CKA_ALLOWED_MECHANISMS excludes `m`. One read under the object
 *  lock: every C_*Init passes here. */
CK_RV st_object_check_use(struct st_object *key, CK_ATTRIBUTE_TYPE usage, CK_MECHANISM_TYPE m);

/** First attribute of type `t` in a template, or NULL. */
const CK_ATTRIBUTE *st_tmpl_find(const CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_ATTRIBUTE_TYPE t);

/**
 * Make a public or private key object (`cls`) around `pkey`, applying the attribute policy to
 * `tmpl` for `origin` (template errors as st_object_create) and filling the key's public
 * attributes (CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS, CKA_EC_POINT, ...) from pkey.
 * `mech` is CKA_KEY_GEN_MECHANISM (CK_UNAVAILABLE_INFORMATION if none).
 * Takes ownership of pkey whatever it returns.
 */
CK_RV st_object_new_asym(EVP_PKEY *pkey, CK_OBJECT_CLASS cls, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                         enum st_origin origin, CK_MECHANISM_TYPE mech, struct st_object **out);

/** st_object_new_asym(pub, CKO_PUBLIC_KEY, ...) for a key known to hold no private part (made
 *  from public material only: st_pkey_from_spki, st_pkey_public_dup), so no public-only copy is
 *  made. Never pass a key pair. Takes ownership of pub whatever it returns. */
CK_RV st_object_new_public(EVP_PKEY *pub, const CK_ATTRIBUTE *tmpl, CK_ULONG n,
                           enum st_origin origin, CK_MECHANISM_TYPE mech, struct st_object **out);

/** Same for a secret key (CKK_AES, CKK_GENERIC_SECRET). Takes ownership of `value`. For
 *  ST_ORIGIN_DERIVE, `base` is the base key (its SENSITIVE/EXTRACTABLE history is inherited). */
CK_RV st_object_new_secret(struct u_secbuf *value, CK_KEY_TYPE kt, const CK_ATTRIBUTE *tmpl,
                           CK_ULONG n, enum st_origin origin, CK_MECHANISM_TYPE mech,
                           struct st_object *base, struct st_object **out);

#endif /* SKR_SOFTTOKEN_ST_OBJECT_INT_H */
