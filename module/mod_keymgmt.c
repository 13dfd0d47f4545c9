/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key management (PKCS#11 3.0 §5.14): C_GenerateKey, C_GenerateKeyPair, C_WrapKey, C_UnwrapKey,
 * C_DeriveKey. New keys are session objects (the token is write-protected: CKA_TOKEN TRUE in a
 * template is CKR_TOKEN_WRITE_PROTECTED before softtoken runs).
 */
#include "mod_internal.h"

static CK_RV generate_key(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n,
                          CK_OBJECT_HANDLE_PTR out)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    struct st_object *obj = NULL;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_ARGUMENTS_BAD;
    if (m == NULL || out == NULL)
        goto out;
    rv = mod_template_check(sl, t, n);
    if (rv == CKR_OK)
        rv = st_key_generate(m, t, n, &obj);
    if (rv == CKR_OK)
        rv = mod_object_add_new(sl, h, obj, out);
out:
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey)
{
    MOD_TRACE_IN("C_GenerateKey(session=0x%lx, mech=%s, n=%lu)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL", ulCount);
    MOD_RETURN(generate_key(hSession, pMechanism, pTemplate, ulCount, phKey));
}

struct pair_args {
    CK_MECHANISM_PTR m;
    CK_ATTRIBUTE_PTR pub_t;
    CK_ULONG npub;
    CK_ATTRIBUTE_PTR priv_t;
    CK_ULONG npriv;
    CK_OBJECT_HANDLE_PTR pub_out;
    CK_OBJECT_HANDLE_PTR priv_out;
};

static CK_RV generate_pair(CK_SESSION_HANDLE h, const struct pair_args *a)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    struct st_object *pub = NULL, *priv = NULL;
    CK_OBJECT_HANDLE ph = CK_INVALID_HANDLE;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_ARGUMENTS_BAD;
    if (a->m == NULL || a->pub_out == NULL || a->priv_out == NULL)
        goto out;
    rv = mod_template_check(sl, a->pub_t, a->npub);
    if (rv == CKR_OK)
        rv = mod_template_check(sl, a->priv_t, a->npriv);
    if (rv == CKR_OK)
        rv = st_keypair_generate(a->m, a->pub_t, a->npub, a->priv_t, a->npriv, &pub, &priv);
    if (rv != CKR_OK)
        goto out;
    rv = mod_object_add_new(sl, h, pub, &ph);
    pub = NULL;
    if (rv != CKR_OK)
        goto out;
    rv = mod_object_add_new(sl, h, priv, a->priv_out);
    priv = NULL;
    if (rv != CKR_OK) {
        mod_object_remove(sl, mod_object_find_entry(sl, ph));
        goto out;
    }
    *a->pub_out = ph;
out:
    st_object_unref(pub);
    st_object_unref(priv);
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                        CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                        CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
                        CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
    struct pair_args a = {
            pMechanism,          pPublicKeyTemplate,         ulPublicKeyAttributeCount,
            pPrivateKeyTemplate, ulPrivateKeyAttributeCount, phPublicKey,
            phPrivateKey};

    MOD_TRACE_IN("C_GenerateKeyPair(session=0x%lx, mech=%s, npub=%lu, npriv=%lu)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL",
                 ulPublicKeyAttributeCount, ulPrivateKeyAttributeCount);
    MOD_RETURN(generate_pair(hSession, &a));
}

static CK_RV wrap_key(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE wh,
                      CK_OBJECT_HANDLE kh, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    struct st_object *wk = NULL, *key = NULL;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_ARGUMENTS_BAD;
    if (m == NULL || outlen == NULL)
        goto out;
    rv = mod_object_lookup(sl, wh, &wk);
    if (rv != CKR_OK) {
        rv = CKR_WRAPPING_KEY_HANDLE_INVALID;
        goto out;
    }
    rv = mod_object_lookup(sl, kh, &key);
    if (rv != CKR_OK) {
        rv = CKR_KEY_HANDLE_INVALID;
        goto out;
    }
    rv = st_key_wrap(m, wk, key, out, outlen);
out:
    st_object_unref(wk);
    st_object_unref(key);
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey,
                CK_ULONG_PTR pulWrappedKeyLen)
{
    MOD_TRACE_IN("C_WrapKey(session=0x%lx, mech=%s, wrapping=0x%lx, key=0x%lx, out=%p)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL", hWrappingKey, hKey,
                 (void *)pWrappedKey);
    MOD_RETURN(wrap_key(hSession, pMechanism, hWrappingKey, hKey, pWrappedKey, pulWrappedKeyLen));
}

struct unwrap_args {
    CK_MECHANISM_PTR m;
    CK_OBJECT_HANDLE base; /* unwrapping key or base key */
    CK_BYTE_PTR wrapped;   /* NULL for derive */
    CK_ULONG wlen;
    CK_ATTRIBUTE_PTR t;
    CK_ULONG n;
    CK_OBJECT_HANDLE_PTR out;
};

static CK_RV new_from_base(CK_SESSION_HANDLE h, const struct unwrap_args *a, bool derive)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    struct st_object *base = NULL, *obj = NULL;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_ARGUMENTS_BAD;
    if (a->m == NULL || a->out == NULL || (!derive && a->wrapped == NULL))
        goto out;
    rv = mod_object_lookup(sl, a->base, &base);
    if (rv != CKR_OK) {
        rv = derive ? CKR_KEY_HANDLE_INVALID : CKR_UNWRAPPING_KEY_HANDLE_INVALID;
        goto out;
    }
    rv = mod_template_check(sl, a->t, a->n);
    if (rv != CKR_OK)
        goto out;
    if (derive)
        rv = st_key_derive(a->m, base, a->t, a->n, &obj);
    else
        rv = st_key_unwrap(a->m, base, a->wrapped, a->wlen, a->t, a->n, &obj);
    if (rv == CKR_OK)
        rv = mod_object_add_new(sl, h, obj, a->out);
out:
    st_object_unref(base);
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                  CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                  CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
                  CK_OBJECT_HANDLE_PTR phKey)
{
    struct unwrap_args a = {pMechanism, hUnwrappingKey,   pWrappedKey, ulWrappedKeyLen,
                            pTemplate,  ulAttributeCount, phKey};

    MOD_TRACE_IN("C_UnwrapKey(session=0x%lx, mech=%s, unwrapping=0x%lx, wlen=%lu, n=%lu)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL", hUnwrappingKey,
                 ulWrappedKeyLen, ulAttributeCount);
    MOD_RETURN(new_from_base(hSession, &a, false));
}

CK_RV C_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                  CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount,
                  CK_OBJECT_HANDLE_PTR phKey)
{
    struct unwrap_args a = {pMechanism, hBaseKey, NULL, 0, pTemplate, ulAttributeCount, phKey};

    MOD_TRACE_IN("C_DeriveKey(session=0x%lx, mech=%s, base=0x%lx, n=%lu)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL", hBaseKey,
                 ulAttributeCount);
    MOD_RETURN(new_from_base(hSession, &a, true));
}
