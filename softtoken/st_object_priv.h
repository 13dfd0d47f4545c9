/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The object structure, shared by st_object.c, st_object_key.c and st_import.c (and the unit
 * tests, which look inside to prove that secrets are wiped). Nobody else includes this.
 */
#ifndef SKR_SOFTTOKEN_ST_OBJECT_PRIV_H
#define SKR_SOFTTOKEN_ST_OBJECT_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "st_attr_policy.h"
#include "st_object_int.h"

struct st_object {
    atomic_uint refs;
    pthread_rwlock_t lock; /* guards attrs; everything else is immutable after creation */
    CK_OBJECT_CLASS cls;
    CK_KEY_TYPE kt; /* CK_UNAVAILABLE_INFORMATION for data and certificates */
    bool token;     /* CKA_TOKEN, CKA_PRIVATE: fixed at creation (copy makes a new object) */
    bool private_;
    atomic_bool destroyable; /* mirrors CKA_DESTROYABLE, which may turn FALSE */
    struct st_attrs attrs;   /* non-secret attributes, owned copies */
    EVP_PKEY *pkey;          /* public/private keys: parsed once */
    struct u_secbuf *secret; /* secret keys: CKA_VALUE on the secure heap */
};

/** Empty object of class/key type with one reference, attributes empty. NULL on OOM. */
struct st_object *st_object_alloc(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt);

/** Set the origin-dependent attributes (CKA_LOCAL, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE,
 *  CKA_KEY_GEN_MECHANISM, the import-forced values), CKA_UNIQUE_ID, and cache token/private/
 *  destroyable. `base` is the derive base key or NULL. No locking: the object is not shared. */
CK_RV st_object_finish(struct st_object *o, enum st_origin origin, CK_MECHANISM_TYPE mech,
                       struct st_object *base);

/** Fill CKA_MODULUS/..., CKA_EC_PARAMS/POINT, CKA_PUBLIC_KEY_INFO from o->pkey (st_object_key.c).
 *  CKR_OK, CKR_HOST_MEMORY, CKR_FUNCTION_FAILED. */
CK_RV st_key_public_attrs(struct st_object *o);

/** Build an EVP_PKEY from create-template material (st_object_key.c). CKR_ATTRIBUTE_VALUE_INVALID,
 *  CKR_TEMPLATE_INCOMPLETE, CKR_CURVE_NOT_SUPPORTED, CKR_TEMPLATE_INCONSISTENT, CKR_HOST_MEMORY. */
CK_RV st_key_from_template(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt, const CK_ATTRIBUTE *tmpl,
                           CK_ULONG n, EVP_PKEY **out);

/** CK_KEY_TYPE of an EVP_PKEY (CKK_RSA, CKK_EC, CKK_EC_EDWARDS) or CK_UNAVAILABLE_INFORMATION. */
CK_KEY_TYPE st_key_type_of(const EVP_PKEY *pkey);

/** Export a sensitive attribute (RSA private components, EC/EdDSA CKA_VALUE) into a new secure
 *  buffer. CKR_OK, CKR_ATTRIBUTE_TYPE_INVALID, CKR_HOST_MEMORY, CKR_FUNCTION_FAILED. */
CK_RV st_key_export_private(const EVP_PKEY *pkey, CK_ATTRIBUTE_TYPE t, struct u_secbuf **out);

/** SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 §4.2.1.2 method 1). */
CK_RV st_key_id_sha1(EVP_PKEY *pkey, unsigned char out[20]);

/** Check value of a secret key (AES: AES-ECB(0^16)[0..3]; generic: SHA-1[0..3]). */
CK_RV st_secret_check_value(CK_KEY_TYPE kt, const struct u_secbuf *v, unsigned char out[3]);

/** X.509 certificate attributes computed from CKA_VALUE (issuer, serial, check value, SPKI,
 *  subject when absent) (st_import.c). CKR_ATTRIBUTE_VALUE_INVALID when the DER is not one. */
CK_RV st_cert_fill(struct st_object *o);

/** st_object_create with an origin: ST_ORIGIN_IMPORT makes key-source certificates and data
 *  objects (keys come through st_object_new_asym/new_secret). Same CK_RVs as st_object_create. */
CK_RV st_object_create_ex(const CK_ATTRIBUTE *tmpl, CK_ULONG n, enum st_origin origin,
                          struct st_object **out);

/** Compare the template's CKA_CHECK_VALUE / CKA_PUBLIC_KEY_INFO (if any) with what the token
 *  computed: CKR_ATTRIBUTE_VALUE_INVALID on a mismatch. */
CK_RV st_object_check_computed(struct st_object *o, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

#endif /* SKR_SOFTTOKEN_ST_OBJECT_PRIV_H */
