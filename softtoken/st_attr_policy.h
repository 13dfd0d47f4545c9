/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attribute policy (inside softtoken only): per-class tables of {CKA_*, ST_AF_* flags, kind,
 * default} after kryoptic's object factories, an owned attribute store, and st_attr_apply(), the
 * one function that checks a template for create, generate, unwrap, derive, copy and set.
 */
#ifndef SKR_SOFTTOKEN_ST_ATTR_POLICY_H
#define SKR_SOFTTOKEN_ST_ATTR_POLICY_H

#include <stdbool.h>

#include "u_pkcs11.h"

/* Which call a template comes with. */
enum st_attr_op {
    ST_AOP_CREATE,   /* C_CreateObject: key material in the template */
    ST_AOP_GENERATE, /* C_GenerateKey(Pair): generation parameters allowed, material not */
    ST_AOP_UNWRAP,   /* C_UnwrapKey */
    ST_AOP_DERIVE,   /* C_DeriveKey */
    ST_AOP_IMPORT,   /* key source: as generate, material comes from DER */
    ST_AOP_COPY,     /* C_CopyObject: changes on an existing attribute set */
    ST_AOP_SET,      /* C_SetAttributeValue */
};

/* Flags of one rule (PKCS#11 3.0 §4.2 table 10 footnotes). */
#define ST_AF_REQUIRED_ON_CREATE 0x0001u /* footnote 1: C_CreateObject needs it */
#define ST_AF_NEVER_SETTABLE     0x0002u /* computed by the token: CKR_ATTRIBUTE_READ_ONLY */
#define ST_AF_ONLY_ON_CREATE     0x0004u /* fixed once the object exists (set/copy: READ_ONLY) */
#define ST_AF_SENSITIVE          0x0008u /* secret: never read when SENSITIVE or !EXTRACTABLE */
#define ST_AF_CHANGE_TO_FALSE    0x0010u /* set/copy may only turn it TRUE -> FALSE */
#define ST_AF_CHANGE_TO_TRUE     0x0020u /* set/copy may only turn it FALSE -> TRUE */
#define ST_AF_CHANGE_ON_COPY     0x0040u /* ONLY_ON_CREATE, but C_CopyObject may change it */
#define ST_AF_MATERIAL           0x0080u /* key material: create only, parsed, not stored as given */
#define ST_AF_GEN_PARAM          0x0100u /* accepted on generate/unwrap/derive (a parameter) */
#define ST_AF_NOT_ON_CREATE      0x0200u /* footnote 2: C_CreateObject must not carry it */
#define ST_AF_DEFAULT            0x0400u /* filled with the rule's default when absent */
#define ST_AF_TRUE_NEEDS_SO      0x0800u /* CKA_TRUSTED: TRUE only by the SO, which we have not */
#define ST_AF_CHECKED            0x1000u /* computed; a create template may carry the same value */

enum st_attr_kind {
    ST_AK_BYTES, /* any length (pValue may be NULL only with length 0) */
    ST_AK_BOOL,  /* CK_BBOOL */
    ST_AK_ULONG, /* CK_ULONG */
    ST_AK_DATE,  /* CK_DATE or empty */
    ST_AK_MECHS, /* array of CK_MECHANISM_TYPE */
};

struct st_attr_rule {
    CK_ATTRIBUTE_TYPE type;
    unsigned int flags;
    enum st_attr_kind kind;
    CK_ULONG dflt; /* bool/ulong default with ST_AF_DEFAULT; bytes default to empty */
};

/* An owned attribute array; every pValue is a private heap copy, wiped when freed. */
struct st_attrs {
    CK_ATTRIBUTE *v;
    CK_ULONG n;
    CK_ULONG cap;
};

/** Rule for `type` on an object of class `cls` and key type `kt` (CK_UNAVAILABLE_INFORMATION for
 *  non-keys); NULL when the attribute is not valid for such an object. */
const struct st_attr_rule *st_attr_rule_find(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt,
                                             CK_ATTRIBUTE_TYPE type);

/** True if the class/key type combination has a table (CKO_DATA, CKO_CERTIFICATE with
 *  CKC_X_509, RSA/EC/EdDSA public and private keys, AES/generic secret keys). */
bool st_attr_class_supported(CK_OBJECT_CLASS cls, CK_KEY_TYPE kt);

/** Check an attribute value against the rule's kind: CKR_OK or CKR_ATTRIBUTE_VALUE_INVALID. */
CK_RV st_attr_check_value(const struct st_attr_rule *r, const CK_ATTRIBUTE *a);

/**
 * Apply a template for `op` to `attrs` under the class table. Create-like ops (create, generate,
 * unwrap, derive, import) start from an empty store: template attributes that are not key
 * material are copied in and absent defaults filled; required ones are checked (create only).
 * Copy and set change an existing store; the caller passes a duplicate and keeps it only on
 * CKR_OK (all or nothing). Returns CKR_ATTRIBUTE_TYPE_INVALID, CKR_ATTRIBUTE_VALUE_INVALID,
 * CKR_ATTRIBUTE_READ_ONLY, CKR_TEMPLATE_INCOMPLETE, CKR_TEMPLATE_INCONSISTENT, CKR_HOST_MEMORY.
 * Object-level checks (CKA_MODIFIABLE, CKA_COPYABLE) belong to the caller. No locking.
 */
CK_RV st_attr_apply(enum st_attr_op op, CK_OBJECT_CLASS cls, CK_KEY_TYPE kt,
                    const CK_ATTRIBUTE *tmpl, CK_ULONG n, struct st_attrs *attrs);

/** Attribute of the store, or NULL. Borrowed until the store changes. */
const CK_ATTRIBUTE *st_attrs_get(const struct st_attrs *s, CK_ATTRIBUTE_TYPE t);

/** Boolean value of `t`, `dflt` if absent or malformed. */
bool st_attrs_bool(const struct st_attrs *s, CK_ATTRIBUTE_TYPE t, bool dflt);

/** Insert or replace `t` with a copy of p[0..len). CKR_OK or CKR_HOST_MEMORY. */
CK_RV st_attrs_put(struct st_attrs *s, CK_ATTRIBUTE_TYPE t, const void *p, CK_ULONG len);
CK_RV st_attrs_put_bool(struct st_attrs *s, CK_ATTRIBUTE_TYPE t, bool v);
CK_RV st_attrs_put_ulong(struct st_attrs *s, CK_ATTRIBUTE_TYPE t, CK_ULONG v);

/** Deep copy into an empty `dst`. CKR_OK or CKR_HOST_MEMORY (dst left empty). */
CK_RV st_attrs_dup(const struct st_attrs *src, struct st_attrs *dst);

/** Wipe (OPENSSL_cleanse) and free every value, leave the store empty. */
void st_attrs_cleanup(struct st_attrs *s);

#endif /* SKR_SOFTTOKEN_ST_ATTR_POLICY_H */
