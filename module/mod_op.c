/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The operation state machine of PKCS#11 3.0 §5.2, in one place, for encrypt, decrypt, sign,
 * verify and digest. A session holds at most one running operation of each type.
 *   - *Init with an operation of that type running: CKR_OPERATION_ACTIVE.
 *   - a call without *Init: CKR_OPERATION_NOT_INITIALIZED.
 *   - a single-part call after an update: CKR_OPERATION_ACTIVE (the operation stays).
 *   - CKR_OK from a length query (out == NULL) and CKR_BUFFER_TOO_SMALL keep the operation;
 *     every other outcome of a single-part or final call, and every error of an update, ends it.
 * Only the session lock is held while softtoken works, so two sessions run in parallel.
 */
#include "mod_internal.h"
#include "u_macros.h"

/* Resolve a key handle of the session's slot: slot lock only, then dropped (lock order). */
static CK_RV key_ref(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE kh, struct st_object **key)
{
    struct mod_slot *sl = NULL;
    struct mod_session *s = NULL;
    CK_RV rv = mod_session_acquire_slot(h, &sl, &s);

    if (rv != CKR_OK)
        return rv;
    rv = mod_object_lookup(sl, kh, key);
    if (rv == CKR_OBJECT_HANDLE_INVALID)
        rv = CKR_KEY_HANDLE_INVALID;
    mod_session_release_slot(sl, s);
    return rv;
}

/* The session, locked, and a reference to key `kh` of its slot: one pass through the locks
 * (slot, then session; the slot lock is dropped after the lookup, the session lock kept) where
 * key_ref and a second mod_session_acquire took the session lock three times. */
static CK_RV acquire_with_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE kh, struct mod_session **s,
                              struct st_object **key)
{
    struct mod_slot *sl = NULL;
    CK_RV rv = mod_session_acquire_slot(h, &sl, s);

    if (rv != CKR_OK)
        return rv;
    rv = mod_object_lookup(sl, kh, key);
    mod_lock_release(sl->lock);
    if (rv == CKR_OK)
        return CKR_OK;
    mod_session_release(*s);
    return rv == CKR_OBJECT_HANDLE_INVALID ? CKR_KEY_HANDLE_INVALID : rv;
}

CK_RV mod_op_init(CK_SESSION_HANDLE h, enum st_op_type t, CK_MECHANISM_PTR mech,
                  CK_OBJECT_HANDLE kh)
{
    struct mod_session *s = NULL;
    struct st_object *key = NULL;
    struct st_op *op = NULL;
    CK_RV rv = mod_ready();

    if (rv != CKR_OK)
        return rv;
    if (t != ST_OP_DIGEST)
        rv = acquire_with_key(h, kh, &s, &key);
    else
        rv = mod_session_acquire(h, &s);
    if (rv != CKR_OK)
        return rv;
    if (mech == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (s->op[t] != NULL)
        rv = CKR_OPERATION_ACTIVE;
    else
        rv = st_op_new(t, mech, key, &op);
    if (rv == CKR_OK)
        s->op[t] = op;
    mod_session_release(s);
    st_object_unref(key);
    return rv;
}

/* Whether `rv` from call `c` leaves the operation running (§5.2). */
static bool keeps_op(enum mod_call c, const struct mod_op_args *a, CK_RV rv)
{
    if (rv == CKR_BUFFER_TOO_SMALL)
        return true;
    if (rv != CKR_OK)
        return false;
    if (c == MOD_CALL_UPDATE)
        return true;
    return (c == MOD_CALL_ONESHOT || c == MOD_CALL_FINAL) && a->out == NULL;
}

static CK_RV dispatch(struct st_op *op, enum mod_call c, const struct mod_op_args *a,
                      bool has_output)
{
    if (c == MOD_CALL_ONESHOT)
        return st_op_oneshot(op, a->in, a->inlen, a->out, a->outlen);
    if (c == MOD_CALL_UPDATE && has_output)
        return st_op_update(op, a->in, a->inlen, a->out, a->outlen);
    if (c == MOD_CALL_UPDATE)
        return st_op_update(op, a->in, a->inlen, NULL, NULL);
    if (c == MOD_CALL_FINAL)
        return st_op_final(op, a->out, a->outlen);
    if (c == MOD_CALL_VERIFY)
        return st_op_verify(op, a->in, a->inlen, a->out, a->siglen);
    return st_op_verify_final(op, a->out, a->siglen);
}

/* Argument checks of §5.2's calls; a failure ends the operation like any error. */
static CK_RV check_args(enum mod_call c, const struct mod_op_args *a, bool has_output)
{
    bool wants_len =
            c == MOD_CALL_ONESHOT || c == MOD_CALL_FINAL || (c == MOD_CALL_UPDATE && has_output);

    if (a->in == NULL && a->inlen > 0)
        return CKR_ARGUMENTS_BAD;
    if (wants_len && a->outlen == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((c == MOD_CALL_VERIFY || c == MOD_CALL_VERIFY_FINAL) && a->out == NULL)
        return CKR_ARGUMENTS_BAD;
    if ((c == MOD_CALL_ONESHOT || c == MOD_CALL_VERIFY) && a->in == NULL)
        return CKR_ARGUMENTS_BAD;
    return CKR_OK;
}

CK_RV mod_op_call(CK_SESSION_HANDLE h, enum st_op_type t, enum mod_call c,
                  const struct mod_op_args *a)
{
    struct mod_session *s = NULL;
    struct st_op *op;
    bool has_output = t == ST_OP_ENCRYPT || t == ST_OP_DECRYPT;
    CK_RV rv = mod_session_acquire(h, &s);

    if (rv != CKR_OK)
        return rv;
    op = s->op[t];
    rv = CKR_OPERATION_NOT_INITIALIZED;
    if (op == NULL)
        goto out;
    rv = CKR_OPERATION_ACTIVE;
    if ((c == MOD_CALL_ONESHOT || c == MOD_CALL_VERIFY) && st_op_in_multipart(op))
        goto out;
    rv = check_args(c, a, has_output);
    if (rv == CKR_OK)
        rv = dispatch(op, c, a, has_output);
    if (!keeps_op(c, a, rv)) {
        st_op_free(op);
        s->op[t] = NULL;
    }
out:
    mod_session_release(s);
    return rv;
}

CK_RV mod_op_digest_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE kh)
{
    struct mod_session *s = NULL;
    struct st_object *key = NULL;
    CK_RV rv = key_ref(h, kh, &key);

    if (rv != CKR_OK)
        return rv;
    rv = mod_session_acquire(h, &s);
    if (rv != CKR_OK)
        goto out;
    if (s->op[ST_OP_DIGEST] == NULL) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        rv = st_op_digest_key(s->op[ST_OP_DIGEST], key);
        if (rv != CKR_OK) {
            st_op_free(s->op[ST_OP_DIGEST]);
            s->op[ST_OP_DIGEST] = NULL;
        }
    }
    mod_session_release(s);
out:
    st_object_unref(key);
    return rv;
}
