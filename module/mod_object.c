/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Object management (PKCS#11 3.0 §5.7): C_CreateObject, C_CopyObject, C_DestroyObject,
 * C_GetObjectSize, C_GetAttributeValue, C_SetAttributeValue, C_FindObjectsInit/FindObjects/
 * FindObjectsFinal. Token objects come only from the key source: the token is write-protected,
 * so every path that would make or change a token object answers CKR_TOKEN_WRITE_PROTECTED
 * before softtoken is called. Attribute rules themselves live in softtoken.
 */
#include <stdlib.h>
#include <string.h>

#include "mod_internal.h"
#include "u_macros.h"

static CK_RV bool_attr(const CK_ATTRIBUTE *a, bool *out)
{
    if (a->pValue == NULL || a->ulValueLen != sizeof(CK_BBOOL))
        return CKR_ATTRIBUTE_VALUE_INVALID;
    *out = *(const CK_BBOOL *)a->pValue != CK_FALSE;
    return CKR_OK;
}

CK_RV mod_template_check(const struct mod_slot *sl, const CK_ATTRIBUTE *t, CK_ULONG n)
{
    CK_ULONG i;
    bool v = false;
    CK_RV rv;

    if (n > 0 && t == NULL)
        return CKR_ARGUMENTS_BAD;
    for (i = 0; i < n; i++) {
        if (t[i].type != CKA_TOKEN && t[i].type != CKA_PRIVATE)
            continue;
        rv = bool_attr(&t[i], &v);
        if (rv != CKR_OK)
            return rv;
        if (v && t[i].type == CKA_TOKEN)
            return CKR_TOKEN_WRITE_PROTECTED;
        if (v && !mod_slot_private_visible(sl))
            return CKR_USER_NOT_LOGGED_IN;
    }
    return CKR_OK;
}

CK_RV mod_object_add_new(struct mod_slot *sl, CK_SESSION_HANDLE h, struct st_object *obj,
                         CK_OBJECT_HANDLE *out)
{
    if (st_object_is_token(obj)) {
        st_object_unref(obj);
        return CKR_TOKEN_WRITE_PROTECTED;
    }
    if (st_object_is_private(obj) && !mod_slot_private_visible(sl)) {
        st_object_unref(obj);
        return CKR_USER_NOT_LOGGED_IN;
    }
    return mod_object_insert(sl, obj, h, out);
}

static CK_RV create_object(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n,
                           CK_OBJECT_HANDLE_PTR out)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    struct st_object *obj = NULL;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_ARGUMENTS_BAD;
    if (out == NULL)
        goto out;
    rv = mod_template_check(sl, t, n);
    if (rv != CKR_OK)
        goto out;
    rv = st_object_create(t, n, &obj);
    if (rv != CKR_OK)
        goto out;
    rv = mod_object_add_new(sl, h, obj, out);
out:
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                     CK_OBJECT_HANDLE_PTR phObject)
{
    MOD_TRACE_IN("C_CreateObject(session=0x%lx, tmpl=%p, n=%lu, out=%p)", hSession,
                 (void *)pTemplate, ulCount, (void *)phObject);
    MOD_RETURN(create_object(hSession, pTemplate, ulCount, phObject));
}

static CK_RV copy_object(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE src, CK_ATTRIBUTE_PTR t, CK_ULONG n,
                         CK_OBJECT_HANDLE_PTR out)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    struct st_object *from = NULL, *obj = NULL;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_ARGUMENTS_BAD;
    if (out == NULL)
        goto out;
    rv = mod_object_lookup(sl, src, &from);
    if (rv != CKR_OK)
        goto out;
    rv = mod_template_check(sl, t, n);
    if (rv != CKR_OK)
        goto out;
    rv = st_object_copy(from, t, n, &obj);
    if (rv != CKR_OK)
        goto out;
    rv = mod_object_add_new(sl, h, obj, out);
out:
    st_object_unref(from);
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                   CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phNewObject)
{
    MOD_TRACE_IN("C_CopyObject(session=0x%lx, obj=0x%lx, tmpl=%p, n=%lu, out=%p)", hSession,
                 hObject, (void *)pTemplate, ulCount, (void *)phNewObject);
    MOD_RETURN(copy_object(hSession, hObject, pTemplate, ulCount, phNewObject));
}

/* A token object cannot change: not destroyable → CKR_ACTION_PROHIBITED (§4.4 CKA_DESTROYABLE),
 * else the token is write-protected (CKR_SESSION_READ_ONLY in a read-only session). */
static CK_RV token_object_rv(const struct mod_session *s, struct st_object *o, bool destroy)
{
    if (destroy && !st_object_is_destroyable(o))
        return CKR_ACTION_PROHIBITED;
    if (!mod_session_is_rw(s))
        return CKR_SESSION_READ_ONLY;
    return CKR_TOKEN_WRITE_PROTECTED;
}

/* The entry of session object oh, which the caller may change (destroy: destroy); token objects
 * and unknown handles get their CK_RV (token_object_rv, CKR_OBJECT_HANDLE_INVALID). */
static CK_RV modifiable_entry(struct mod_slot *sl, const struct mod_session *s, CK_OBJECT_HANDLE oh,
                              bool destroy, int32_t *i)
{
    *i = mod_object_find_entry(sl, oh);
    if (*i < 0)
        return CKR_OBJECT_HANDLE_INVALID;
    if (sl->objs[*i].owner == 0)
        return token_object_rv(s, sl->objs[*i].obj, destroy);
    return CKR_OK;
}

static CK_RV destroy_object(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    int32_t i;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = modifiable_entry(sl, s, oh, true, &i);
    if (rv != CKR_OK)
        goto out;
    rv = CKR_ACTION_PROHIBITED;
    if (!st_object_is_destroyable(sl->objs[i].obj))
        goto out;
    mod_object_remove(sl, i);
    rv = CKR_OK;
out:
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
    MOD_TRACE_IN("C_DestroyObject(session=0x%lx, obj=0x%lx)", hSession, hObject);
    MOD_RETURN(destroy_object(hSession, hObject));
}

static CK_RV get_object_size(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ULONG_PTR size)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    int32_t i;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    i = mod_object_find_entry(sl, oh);
    if (i < 0)
        rv = CKR_OBJECT_HANDLE_INVALID;
    else if (size == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else
        *size = st_object_size(sl->objs[i].obj);
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
    MOD_TRACE_IN("C_GetObjectSize(session=0x%lx, obj=0x%lx, out=%p)", hSession, hObject,
                 (void *)pulSize);
    MOD_RETURN(get_object_size(hSession, hObject, pulSize));
}

static CK_RV get_attrs(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    int32_t i;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    i = mod_object_find_entry(sl, oh);
    if (i < 0)
        rv = CKR_OBJECT_HANDLE_INVALID;
    else if (t == NULL && n > 0)
        rv = CKR_ARGUMENTS_BAD;
    else
        rv = st_object_get_attributes(sl->objs[i].obj, t, n);
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    MOD_TRACE_IN("C_GetAttributeValue(session=0x%lx, obj=0x%lx, tmpl=%p, n=%lu)", hSession, hObject,
                 (void *)pTemplate, ulCount);
    MOD_RETURN(get_attrs(hSession, hObject, pTemplate, ulCount));
}

static CK_RV set_attrs(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE oh, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    int32_t i;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = modifiable_entry(sl, s, oh, false, &i);
    if (rv != CKR_OK)
        goto out;
    rv = mod_template_check(sl, t, n);
    if (rv != CKR_OK)
        goto out;
    rv = st_object_set_attributes(sl->objs[i].obj, t, n);
    if (rv == CKR_OK)
        mod_object_reindex(sl, i);
out:
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                          CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    MOD_TRACE_IN("C_SetAttributeValue(session=0x%lx, obj=0x%lx, tmpl=%p, n=%lu)", hSession, hObject,
                 (void *)pTemplate, ulCount);
    MOD_RETURN(set_attrs(hSession, hObject, pTemplate, ulCount));
}

static CK_RV find_init(CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_ARGUMENTS_BAD;
    if (t == NULL && n > 0)
        goto out;
    rv = CKR_OPERATION_ACTIVE;
    if (s->find.active)
        goto out;
    rv = mod_object_search(sl, t, n, &s->find.h, &s->find.n);
    if (rv != CKR_OK)
        goto out;
    s->find.pos = 0;
    s->find.active = true;
out:
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    MOD_TRACE_IN("C_FindObjectsInit(session=0x%lx, tmpl=%p, n=%lu)", hSession, (void *)pTemplate,
                 ulCount);
    MOD_RETURN(find_init(hSession, pTemplate, ulCount));
}

static CK_RV find_objects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
                          CK_ULONG_PTR count)
{
    struct mod_session *s = NULL;
    CK_ULONG k;
    CK_RV rv = mod_session_acquire(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (out == NULL || count == NULL) {
        rv = CKR_ARGUMENTS_BAD;
    } else if (!s->find.active) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        for (k = 0; k < max && s->find.pos < s->find.n; k++)
            out[k] = s->find.h[s->find.pos++];
        *count = k;
    }
    mod_session_release(s);
    return rv;
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                    CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    MOD_TRACE_IN("C_FindObjects(session=0x%lx, out=%p, max=%lu, count=%p)", hSession,
                 (void *)phObject, ulMaxObjectCount, (void *)pulObjectCount);
    MOD_RETURN(find_objects(hSession, phObject, ulMaxObjectCount, pulObjectCount));
}

static CK_RV find_final(CK_SESSION_HANDLE h)
{
    struct mod_session *s = NULL;
    CK_RV rv = mod_session_acquire(h, &s);

    if (rv != CKR_OK)
        return rv;
    if (!s->find.active) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        U_FREE(s->find.h);
        memset(&s->find, 0, sizeof(s->find));
    }
    mod_session_release(s);
    return rv;
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    MOD_TRACE_IN("C_FindObjectsFinal(session=0x%lx)", hSession);
    MOD_RETURN(find_final(hSession));
}
