/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside module/ only: the one global state (struct mod_ctx, STYLE 2.4), slots, sessions, the
 * per-slot object table with its search index, locks, and the helpers every C_* file uses.
 *
 * Locks: global → slot → session, never reversed. The global lock guards the session table's
 * allocation; a slot lock guards the slot's object table, index, login state and session counts;
 * a session lock guards that session's operations and search. C_Sign & co take only the session
 * lock: the session table is a set of fixed chunks that never move while initialized, so a
 * handle resolves without the global lock.
 *
 * Handles are table index + generation, never pointers (CK_ULONG is 64-bit on our targets):
 *   session: gen << 24 | (index + 1)
 *   object:  gen << 32 | slot << 24 | (index + 1)
 */
#ifndef SKR_MODULE_MOD_INTERNAL_H
#define SKR_MODULE_MOD_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cfg.h"
#include "st.h"
#include "u_log.h"
#include "u_pkcs11.h"
#include "u_rv.h"

_Static_assert(sizeof(CK_ULONG) == 8, "handle layout needs a 64-bit CK_ULONG");

#define MOD_SUBSYS       "mod"
#define MOD_SESS_CHUNK   256
#define MOD_SESS_CHUNKS  1024 /* at most 262144 sessions */
#define MOD_MAX_SLOTS    255
#define MOD_OBJ_MAX      0xFFFFFE
#define MOD_IX_BUCKETS   256
#define MOD_OP_TYPES     (ST_OP_DIGEST + 1)
#define MOD_MANUFACTURER "skr-pkcs11"

/* ---- locks (mod_lock.c): OS mutexes, or the application's callbacks (C_Initialize) -------- */

struct mod_lock;

/** New mutex with the locking chosen by C_Initialize. CKR_OK, CKR_HOST_MEMORY, or the
 *  application's CreateMutex error. */
CK_RV mod_lock_new(struct mod_lock **out);
void mod_lock_free(struct mod_lock *l); /* NULL-safe */
void mod_lock_acquire(struct mod_lock *l);
void mod_lock_release(struct mod_lock *l);

/** Choose OS locks (NULL) or the application's callbacks; called by C_Initialize only. */
void mod_lock_use(const CK_C_INITIALIZE_ARGS *app);

/* ---- objects and the search index (mod_object.c) ------------------------------------------ */

enum mod_ix { MOD_IX_CLASS, MOD_IX_KTYPE, MOD_IX_ID, MOD_IX_LABEL, MOD_IX_COUNT };

struct mod_obj_entry {
    struct st_object *obj; /* one reference; NULL = free entry */
    uint32_t gen;
    CK_SESSION_HANDLE owner; /* creating session for session objects; 0 = token object */
    bool is_private;
    uint32_t key[MOD_IX_COUNT]; /* hash per index, 0 = not indexed (e.g. no CKA_ID) */
    int32_t next[MOD_IX_COUNT]; /* chains; also the free list (next[0]) */
};

struct mod_slot {
    struct mod_lock *lock;
    CK_SLOT_ID id;
    const struct cfg_token *tok; /* borrowed from mod_ctx.cfg */
    char serial[17];
    bool has_pin;
    bool logged_in;
    CK_ULONG nsessions;
    CK_ULONG nrw;
    struct mod_obj_entry *objs;
    int32_t nobjs; /* used part of objs */
    int32_t cap;
    int32_t free_head;
    int32_t head[MOD_IX_COUNT][MOD_IX_BUCKETS];
};

/** Add `obj` (takes the reference) to the slot; slot lock held. */
CK_RV mod_object_insert(struct mod_slot *sl, struct st_object *obj, CK_SESSION_HANDLE owner,
                        CK_OBJECT_HANDLE *out);

/** Resolve a handle visible to a session of this slot; returns a new reference. Slot lock held.
 *  CKR_OK or CKR_OBJECT_HANDLE_INVALID. */
CK_RV mod_object_lookup(struct mod_slot *sl, CK_OBJECT_HANDLE h, struct st_object **out);

/** Destroy the session objects owned by `owner` (0: every session object); slot lock held. */
void mod_object_drop_session(struct mod_slot *sl, CK_SESSION_HANDLE owner);

/** After C_Logout: private handles become invalid, private session objects go; slot lock. */
void mod_object_logout(struct mod_slot *sl);

/** Entry index of a visible handle of this slot, or -1. Slot lock held. */
int32_t mod_object_find_entry(struct mod_slot *sl, CK_OBJECT_HANDLE h);

/** Handle of entry i; slot lock held. */
CK_OBJECT_HANDLE mod_object_handle(const struct mod_slot *sl, int32_t i);

/** Remove entry i (drops its reference, handle becomes stale); slot lock held. */
void mod_object_remove(struct mod_slot *sl, int32_t i);

/** Recompute entry i's index keys after its attributes changed; slot lock held. */
void mod_object_reindex(struct mod_slot *sl, int32_t i);

/** Handles of the visible objects matching the template, through the index when the template
 *  names an id, label, key type or class. *out is malloc'd (may be NULL when *count is 0). */
CK_RV mod_object_search(struct mod_slot *sl, const CK_ATTRIBUTE *t, CK_ULONG n,
                        CK_OBJECT_HANDLE **out, CK_ULONG *count);

/** Index hash of one attribute value. */
uint32_t mod_ix_hash(enum mod_ix ix, const void *p, size_t n);

/** Insert a new session object made for session `h`: refuses a private object the session
 *  may not see (CKR_USER_NOT_LOGGED_IN) and token objects (CKR_TOKEN_WRITE_PROTECTED).
 *  Takes `obj`. Slot and session locks held. */
CK_RV mod_object_add_new(struct mod_slot *sl, CK_SESSION_HANDLE h, struct st_object *obj,
                         CK_OBJECT_HANDLE *out);

/** Free the table (every reference dropped); slot lock not needed (finalize). */
void mod_object_table_free(struct mod_slot *sl);

/** True if private objects of the slot are visible now (logged in, or no PIN). */
bool mod_slot_private_visible(const struct mod_slot *sl);

/* ---- sessions (mod_session.c) ------------------------------------------------------------- */

struct mod_find {
    CK_OBJECT_HANDLE *h;
    CK_ULONG n;
    CK_ULONG pos;
    bool active;
};

struct mod_session {
    struct mod_lock *lock;
    uint32_t gen;
    bool open;
    int32_t next_free;
    CK_SLOT_ID slot;
    CK_FLAGS flags;
    struct st_op *op[MOD_OP_TYPES];
    struct mod_find find;
};

/** Resolve and lock a session (no other lock held or taken). CKR_CRYPTOKI_NOT_INITIALIZED,
 *  CKR_SESSION_HANDLE_INVALID, CKR_OK with the session lock held. */
CK_RV mod_session_acquire(CK_SESSION_HANDLE h, struct mod_session **out);
void mod_session_release(struct mod_session *s);

/** Lock the session's slot, then the session (lock order slot → session). Release both with
 *  mod_session_release_slot. */
CK_RV mod_session_acquire_slot(CK_SESSION_HANDLE h, struct mod_slot **sl, struct mod_session **s);
void mod_session_release_slot(struct mod_slot *sl, struct mod_session *s);

/** Free a session's operations and search (session lock held). */
void mod_session_clear(struct mod_session *s);

/** True if the session may see/create private objects (slot logged in or no PIN). */
bool mod_session_is_rw(const struct mod_session *s);

/* ---- global state (mod_general.c) --------------------------------------------------------- */

enum mod_state { MOD_STATE_NONE = 0, MOD_STATE_READY = 1 };

struct mod_ctx {
    _Atomic int state;         /* enum mod_state */
    _Atomic unsigned fork_gen; /* g_fork_gen when initialized */
    pid_t pid;                 /* process that ran C_Initialize */
    struct mod_lock *global;
    struct cfg *cfg;
    struct mod_slot *slots;
    size_t nslots;
    _Atomic(struct mod_session *) chunks[MOD_SESS_CHUNKS];
    int32_t sess_used; /* entries handed out so far (high water) */
    int32_t sess_free; /* free list of closed entries, -1 = empty */
    bool no_threads;   /* CKF_LIBRARY_CANT_CREATE_OS_THREADS: the key release starts none */
};

extern struct mod_ctx mod_g;

/** CKR_OK when initialized in this process, else CKR_CRYPTOKI_NOT_INITIALIZED. Lock-free. */
CK_RV mod_ready(void);

/** Slot by id: CKR_CRYPTOKI_NOT_INITIALIZED (mod_ready), then CKR_SLOT_ID_INVALID. */
CK_RV mod_slot_get(CK_SLOT_ID id, struct mod_slot **out);

/** Build slots from the config and fill them through the key sources (mod_slot.c). */
CK_RV mod_slots_build(void);
void mod_slots_free(void);

/** Run every key source over the config's tokens and add their objects (mod_keysource.c). */
CK_RV mod_keysource_load_all(void);

/** Template helpers (mod_object.c). CKA_TOKEN TRUE → CKR_TOKEN_WRITE_PROTECTED; CKA_PRIVATE TRUE
 *  while private objects are not accessible → CKR_USER_NOT_LOGGED_IN; malformed → the spec rv. */
CK_RV mod_template_check(const struct mod_slot *sl, const CK_ATTRIBUTE *t, CK_ULONG n);

/* ---- operations (mod_op.c): the PKCS#11 §5.2 state machine, in one place ------------------- */

enum mod_call {
    MOD_CALL_ONESHOT,
    MOD_CALL_UPDATE,
    MOD_CALL_FINAL,
    MOD_CALL_VERIFY,
    MOD_CALL_VERIFY_FINAL,
};

struct mod_op_args {
    const CK_BYTE *in;
    CK_ULONG inlen;
    CK_BYTE *out; /* also the signature for verify */
    CK_ULONG *outlen;
    CK_ULONG siglen;
};

CK_RV mod_op_init(CK_SESSION_HANDLE h, enum st_op_type t, CK_MECHANISM_PTR mech,
                  CK_OBJECT_HANDLE key);
CK_RV mod_op_call(CK_SESSION_HANDLE h, enum st_op_type t, enum mod_call c,
                  const struct mod_op_args *a);
CK_RV mod_op_digest_key(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key);

/* ---- tracing -------------------------------------------------------------------------------- */

/** Log the exit of a C_* function and return rv. */
CK_RV mod_trace_ret(const char *fn, CK_RV rv);

#define MOD_TRACE_IN(...) U_LOG_TRACE(MOD_SUBSYS, __VA_ARGS__)
#define MOD_RETURN(rv)    return mod_trace_ret(__func__, (rv))

/* 3.0 entry points p11-kit 0.24's header does not declare. */
CK_RV C_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE ut, CK_UTF8CHAR_PTR pin, CK_ULONG pinlen,
                  CK_UTF8CHAR_PTR user, CK_ULONG userlen);
CK_RV C_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags);
/* C_GetInfo for the 2.40 function list (reports Cryptoki 2.40). */
CK_RV mod_get_info_240(CK_INFO_PTR info);

#endif /* SKR_MODULE_MOD_INTERNAL_H */
