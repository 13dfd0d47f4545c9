/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Session management (PKCS#11 3.0 §5.6): C_OpenSession, C_CloseSession, C_CloseAllSessions,
 * C_GetSessionInfo, C_SessionCancel, C_Login, C_LoginUser, C_Logout.
 *
 * The session table is MOD_SESS_CHUNKS chunks of MOD_SESS_CHUNK entries. A chunk is allocated
 * under the global lock, published with a release store and never moves or goes away before
 * C_Finalize, so resolving a handle needs only the entry's own lock (the crypto hot path).
 * Closed entries stay allocated (their lock too) and are reused with a new generation.
 */
#include <stdlib.h>
#include <string.h>

#include "mod_internal.h"
#include "u_macros.h"
#include "u_secmem.h"

#define IDX_BITS 24

#ifndef CKF_FIND_OBJECTS
#define CKF_FIND_OBJECTS 0x00000040UL /* PKCS#11 3.0 C_SessionCancel */
#endif

static CK_SESSION_HANDLE make_handle(int32_t idx, uint32_t gen)
{
    return ((CK_ULONG)gen << IDX_BITS) | (CK_ULONG)(idx + 1);
}

static struct mod_session *entry(CK_SESSION_HANDLE h, uint32_t *gen)
{
    CK_ULONG idx = (h & ((1UL << IDX_BITS) - 1));
    struct mod_session *chunk;

    if (idx == 0 || idx > (CK_ULONG)MOD_SESS_CHUNK * MOD_SESS_CHUNKS)
        return NULL;
    idx--;
    *gen = (uint32_t)(h >> IDX_BITS);
    if ((h >> IDX_BITS) > UINT32_MAX)
        return NULL;
    chunk = atomic_load_explicit(&mod_g.chunks[idx / MOD_SESS_CHUNK], memory_order_acquire);
    return chunk == NULL ? NULL : &chunk[idx % MOD_SESS_CHUNK];
}

CK_RV mod_session_acquire(CK_SESSION_HANDLE h, struct mod_session **out)
{
    uint32_t gen = 0;
    struct mod_session *s;
    CK_RV rv = mod_ready();

    if (rv != CKR_OK)
        return rv;
    s = entry(h, &gen);
    if (s == NULL || s->lock == NULL)
        return CKR_SESSION_HANDLE_INVALID;
    mod_lock_acquire(s->lock);
    if (!s->open || s->gen != gen) {
        mod_lock_release(s->lock);
        return CKR_SESSION_HANDLE_INVALID;
    }
    *out = s;
    return CKR_OK;
}

void mod_session_release(struct mod_session *s)
{
    mod_lock_release(s->lock);
}

CK_RV mod_session_acquire_slot(CK_SESSION_HANDLE h, struct mod_slot **sl, struct mod_session **s)
{
    CK_SLOT_ID slot;
    CK_RV rv = mod_session_acquire(h, s);

    if (rv != CKR_OK)
        return rv;
    slot = (*s)->slot;
    mod_session_release(*s);
    *sl = &mod_g.slots[slot];
    mod_lock_acquire((*sl)->lock);
    rv = mod_session_acquire(h, s);
    if (rv != CKR_OK)
        mod_lock_release((*sl)->lock);
    return rv;
}

void mod_session_release_slot(struct mod_slot *sl, struct mod_session *s)
{
    mod_lock_release(s->lock);
    mod_lock_release(sl->lock);
}

void mod_session_clear(struct mod_session *s)
{
    int i;

    for (i = 0; i < MOD_OP_TYPES; i++) {
        st_op_free(s->op[i]);
        s->op[i] = NULL;
    }
    U_FREE(s->find.h);
    memset(&s->find, 0, sizeof(s->find));
}

bool mod_session_is_rw(const struct mod_session *s)
{
    return (s->flags & CKF_RW_SESSION) != 0;
}

/* A free entry (global lock held): the free list first, else a new one. */
static CK_RV session_alloc(int32_t *idx)
{
    struct mod_session *chunk;
    int32_t i = mod_g.sess_free;
    CK_RV rv;

    if (i >= 0) {
        mod_g.sess_free =
                atomic_load(&mod_g.chunks[i / MOD_SESS_CHUNK])[i % MOD_SESS_CHUNK].next_free;
        *idx = i;
        return CKR_OK;
    }
    i = mod_g.sess_used;
    if (i >= MOD_SESS_CHUNK * MOD_SESS_CHUNKS)
        return CKR_SESSION_COUNT;
    chunk = atomic_load(&mod_g.chunks[i / MOD_SESS_CHUNK]);
    if (chunk == NULL) {
        chunk = calloc(MOD_SESS_CHUNK, sizeof(*chunk));
        if (chunk == NULL)
            return CKR_HOST_MEMORY;
        atomic_store_explicit(&mod_g.chunks[i / MOD_SESS_CHUNK], chunk, memory_order_release);
    }
    rv = mod_lock_new(&chunk[i % MOD_SESS_CHUNK].lock);
    if (rv != CKR_OK)
        return rv;
    chunk[i % MOD_SESS_CHUNK].gen = 1;
    mod_g.sess_used = i + 1;
    *idx = i;
    return CKR_OK;
}

static CK_RV open_session(CK_SLOT_ID id, CK_FLAGS flags, CK_SESSION_HANDLE_PTR out)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s;
    int32_t idx = -1;
    CK_RV rv = mod_slot_get(id, &sl);

    if (rv != CKR_OK)
        return rv;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    if (out == NULL)
        return CKR_ARGUMENTS_BAD;
    mod_lock_acquire(mod_g.global);
    rv = session_alloc(&idx);
    if (rv != CKR_OK)
        goto out;
    s = &atomic_load(&mod_g.chunks[idx / MOD_SESS_CHUNK])[idx % MOD_SESS_CHUNK];
    mod_lock_acquire(sl->lock);
    mod_lock_acquire(s->lock);
    s->open = true;
    s->slot = id;
    s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
    sl->nsessions++;
    if (flags & CKF_RW_SESSION)
        sl->nrw++;
    *out = make_handle(idx, s->gen);
    mod_lock_release(s->lock);
    mod_lock_release(sl->lock);
out:
    mod_lock_release(mod_g.global);
    return rv;
}

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                    CK_SESSION_HANDLE_PTR phSession)
{
    (void)pApplication;
    (void)Notify; /* no callbacks are ever made */
    MOD_TRACE_IN("C_OpenSession(slot=%lu, flags=0x%lx, out=%p)", slotID, flags, (void *)phSession);
    MOD_RETURN(open_session(slotID, flags, phSession));
}

/* Close one open session: global, slot and session locks held. */
static void close_locked(struct mod_slot *sl, struct mod_session *s, CK_SESSION_HANDLE h)
{
    int32_t idx = (int32_t)(h & ((1UL << IDX_BITS) - 1)) - 1;

    mod_session_clear(s);
    mod_object_drop_session(sl, h);
    s->open = false;
    s->gen = s->gen == UINT32_MAX ? 1 : s->gen + 1;
    s->next_free = mod_g.sess_free;
    mod_g.sess_free = idx;
    sl->nsessions--;
    if (s->flags & CKF_RW_SESSION)
        sl->nrw--;
    if (sl->nsessions == 0 && sl->logged_in) { /* §5.6: closing the last session logs out */
        sl->logged_in = false;
        mod_object_logout(sl);
    }
}

static CK_RV close_session(CK_SESSION_HANDLE h)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    CK_RV rv = mod_ready();

    if (rv != CKR_OK)
        return rv;
    mod_lock_acquire(mod_g.global);
    rv = mod_session_acquire_slot(h, &sl, &s);
    if (rv == CKR_OK) {
        close_locked(sl, s, h);
        mod_session_release_slot(sl, s);
    }
    mod_lock_release(mod_g.global);
    return rv;
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    MOD_TRACE_IN("C_CloseSession(session=0x%lx)", hSession);
    MOD_RETURN(close_session(hSession));
}

static CK_RV close_all(CK_SLOT_ID id)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s;
    int32_t i;
    CK_RV rv = mod_slot_get(id, &sl);

    if (rv != CKR_OK)
        return rv;
    mod_lock_acquire(mod_g.global);
    mod_lock_acquire(sl->lock);
    for (i = 0; i < mod_g.sess_used; i++) {
        s = &atomic_load(&mod_g.chunks[i / MOD_SESS_CHUNK])[i % MOD_SESS_CHUNK];
        mod_lock_acquire(s->lock);
        if (s->open && s->slot == id)
            close_locked(sl, s, make_handle(i, s->gen));
        mod_lock_release(s->lock);
    }
    mod_lock_release(sl->lock);
    mod_lock_release(mod_g.global);
    return CKR_OK;
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    MOD_TRACE_IN("C_CloseAllSessions(slot=%lu)", slotID);
    MOD_RETURN(close_all(slotID));
}

static CK_RV get_session_info(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    bool user;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    if (info == NULL) {
        rv = CKR_ARGUMENTS_BAD;
        goto out;
    }
    user = sl->logged_in;
    memset(info, 0, sizeof(*info));
    info->slotID = s->slot;
    info->flags = s->flags;
    if (mod_session_is_rw(s))
        info->state = user ? CKS_RW_USER_FUNCTIONS : CKS_RW_PUBLIC_SESSION;
    else
        info->state = user ? CKS_RO_USER_FUNCTIONS : CKS_RO_PUBLIC_SESSION;
out:
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    MOD_TRACE_IN("C_GetSessionInfo(session=0x%lx, info=%p)", hSession, (void *)pInfo);
    MOD_RETURN(get_session_info(hSession, pInfo));
}

/* PKCS#11 3.0 §5.6.7: cancel the operations named in flags. */
static CK_RV session_cancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
    static const struct {
        CK_FLAGS flag;
        enum st_op_type type;
    } map[] = {{CKF_ENCRYPT, ST_OP_ENCRYPT},
               {CKF_DECRYPT, ST_OP_DECRYPT},
               {CKF_SIGN, ST_OP_SIGN},
               {CKF_VERIFY, ST_OP_VERIFY},
               {CKF_DIGEST, ST_OP_DIGEST}};
    struct mod_session *s = NULL;
    size_t i;
    CK_RV rv = mod_session_acquire(h, &s);

    if (rv != CKR_OK)
        return rv;
    for (i = 0; i < U_ARRAY_SIZE(map); i++) {
        if (flags & map[i].flag) {
            st_op_free(s->op[map[i].type]);
            s->op[map[i].type] = NULL;
        }
    }
    if (flags & CKF_FIND_OBJECTS) {
        U_FREE(s->find.h);
        memset(&s->find, 0, sizeof(s->find));
    }
    mod_session_release(s);
    return CKR_OK;
}

CK_RV C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
    MOD_TRACE_IN("C_SessionCancel(session=0x%lx, flags=0x%lx)", hSession, flags);
    MOD_RETURN(session_cancel(hSession, flags));
}

/*
 * PKCS#11 3.0 §5.6.8. CKU_USER only: there is no SO (the token cannot be initialized or
 * written), so CKU_SO is CKR_USER_TYPE_INVALID; CKU_CONTEXT_SPECIFIC is
 * CKR_OPERATION_NOT_INITIALIZED (no key needs CKA_ALWAYS_AUTHENTICATE). A token without a PIN
 * accepts any C_Login with CKR_OK (docs/module.md): nothing to check, nothing to prompt.
 */
static CK_RV login(CK_SESSION_HANDLE h, CK_USER_TYPE ut, const CK_UTF8CHAR *pin, CK_ULONG len)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    const struct u_secbuf *want;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_ARGUMENTS_BAD;
    if (pin == NULL && len != 0)
        goto out;
    rv = ut == CKU_CONTEXT_SPECIFIC ? CKR_OPERATION_NOT_INITIALIZED : CKR_USER_TYPE_INVALID;
    if (ut != CKU_USER)
        goto out;
    rv = CKR_USER_ALREADY_LOGGED_IN;
    if (sl->logged_in)
        goto out;
    want = sl->tok->pin;
    rv = CKR_PIN_INCORRECT;
    if (want != NULL && !u_consttime_eq(want->data, want->len, pin, len))
        goto out;
    sl->logged_in = true;
    rv = CKR_OK;
out:
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
              CK_ULONG ulPinLen)
{
    MOD_TRACE_IN("C_Login(session=0x%lx, user=%lu, pin=%s)", hSession, userType, U_REDACTED);
    MOD_RETURN(login(hSession, userType, pPin, ulPinLen));
}

CK_RV C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                  CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen)
{
    CK_RV rv;

    MOD_TRACE_IN("C_LoginUser(session=0x%lx, user=%lu, pin=%s, namelen=%lu)", hSession, userType,
                 U_REDACTED, ulUsernameLen);
    /* §5.6.9: tokens without user names ignore pUsername. */
    (void)pUsername;
    rv = login(hSession, userType, pPin, ulPinLen);
    MOD_RETURN(rv);
}

static CK_RV logout(CK_SESSION_HANDLE h)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    if (!sl->logged_in) {
        rv = CKR_USER_NOT_LOGGED_IN;
        goto out;
    }
    sl->logged_in = false;
    mod_object_logout(sl);
out:
    mod_session_release_slot(sl, s);
    return rv;
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    MOD_TRACE_IN("C_Logout(session=0x%lx)", hSession);
    MOD_RETURN(logout(hSession));
}
