/* SPDX-License-Identifier: Apache-2.0 */
/*
 * General-purpose functions (PKCS#11 3.0 §5.4): C_Initialize, C_Finalize, C_GetInfo, and the
 * fork handling. The whole mutable state is `mod_g` (STYLE 2.4).
 *
 * Fork: pthread_atfork handlers take every module lock before fork() (init → global → slots →
 * sessions, the lock order) and release them in both processes, so the child never inherits a
 * held lock and never sees a half-made change. The child handler bumps a counter: from then on
 * the child sees the module as not initialized (every function returns
 * CKR_CRYPTOKI_NOT_INITIALIZED) until it calls C_Initialize, which drops the parent's sessions
 * and login state and reuses the already loaded token objects (their keys were inherited), as
 * PKCS#11 3.0 §5.4.1 lets a child re-initialize.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mod_internal.h"
#include "u_macros.h"

struct mod_ctx mod_g;

static pthread_mutex_t g_init_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t g_atfork_once = PTHREAD_ONCE_INIT;
static _Atomic unsigned g_fork_gen;

CK_RV mod_trace_ret(const char *fn, CK_RV rv)
{
    U_LOG_TRACE(MOD_SUBSYS, "%s -> %s", fn, u_rv_name(rv));
    return rv;
}

CK_RV mod_ready(void)
{
    if (atomic_load_explicit(&mod_g.state, memory_order_acquire) != MOD_STATE_READY)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (atomic_load_explicit(&mod_g.fork_gen, memory_order_relaxed) !=
        atomic_load_explicit(&g_fork_gen, memory_order_relaxed))
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    return CKR_OK;
}

/* Session entry i < sess_used (its chunk exists); global lock held or no other thread. */
static struct mod_session *session_at(int32_t i)
{
    return &atomic_load(&mod_g.chunks[i / MOD_SESS_CHUNK])[i % MOD_SESS_CHUNK];
}

static void lock_all(bool take)
{
    size_t i;
    int32_t k;

    if (atomic_load(&mod_g.state) != MOD_STATE_READY)
        return;
    if (take) {
        mod_lock_acquire(mod_g.global);
        for (i = 0; i < mod_g.nslots; i++)
            mod_lock_acquire(mod_g.slots[i].lock);
        for (k = 0; k < mod_g.sess_used; k++)
            mod_lock_acquire(session_at(k)->lock);
        return;
    }
    for (k = mod_g.sess_used - 1; k >= 0; k--)
        mod_lock_release(session_at(k)->lock);
    for (i = mod_g.nslots; i > 0; i--)
        mod_lock_release(mod_g.slots[i - 1].lock);
    mod_lock_release(mod_g.global);
}

static void atfork_prepare(void)
{
    pthread_mutex_lock(&g_init_lock);
    lock_all(true);
}

static void atfork_parent(void)
{
    lock_all(false);
    pthread_mutex_unlock(&g_init_lock);
}

static void atfork_child(void)
{
    lock_all(false);
    atomic_fetch_add(&g_fork_gen, 1);
    pthread_mutex_unlock(&g_init_lock);
}

static void atfork_register(void)
{
    if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child) != 0)
        U_LOG_WARN(MOD_SUBSYS, "pthread_atfork failed; fork() during calls is unsafe");
}

/* PKCS#11 3.0 §5.4.1: the mutex callbacks are all given or all NULL. */
static CK_RV check_args(const CK_C_INITIALIZE_ARGS *a)
{
    int given;

    if (a == NULL)
        return CKR_OK;
    given = (a->CreateMutex != NULL) + (a->DestroyMutex != NULL) + (a->LockMutex != NULL) +
            (a->UnlockMutex != NULL);
    if (given != 0 && given != 4)
        return CKR_ARGUMENTS_BAD;
    if (a->flags & ~(CKF_OS_LOCKING_OK | CKF_LIBRARY_CANT_CREATE_OS_THREADS))
        return CKR_ARGUMENTS_BAD;
    return CKR_OK;
}

/* Config errors → CK_RV (docs/module.md, "Errors"); the parser has logged file:line. */
static CK_RV load_config(const CK_C_INITIALIZE_ARGS *a)
{
    static const CK_RV map[] = {
            [CFG_OK] = CKR_OK,
            [CFG_ERR_NOMEM] = CKR_HOST_MEMORY,
            [CFG_ERR_NOFILE] = CKR_GENERAL_ERROR,
            [CFG_ERR_SYNTAX] = CKR_FUNCTION_FAILED,
    };
    char *path = cfg_path_select(a != NULL ? (const char *)a->pReserved : NULL);
    enum cfg_err e;

    if (path == NULL)
        return CKR_HOST_MEMORY;
    e = cfg_load(path, &mod_g.cfg, NULL, 0);
    free(path);
    if (e == CFG_OK)
        u_log_configure(mod_g.cfg->log_level, mod_g.cfg->log_target);
    return (size_t)e < U_ARRAY_SIZE(map) ? map[e] : CKR_FUNCTION_FAILED;
}

static void teardown(void)
{
    int32_t k;
    struct mod_session *chunk;

    for (k = 0; k < mod_g.sess_used; k++) {
        mod_session_clear(session_at(k));
        mod_lock_free(session_at(k)->lock);
    }
    for (k = 0; k < MOD_SESS_CHUNKS; k++) {
        chunk = atomic_exchange(&mod_g.chunks[k], NULL);
        free(chunk);
    }
    mod_slots_free();
    st_cleanup();
    cfg_free(mod_g.cfg);
    mod_lock_free(mod_g.global);
    memset(&mod_g, 0, sizeof(mod_g));
}

/* The child of a fork re-initializes: the parent's sessions and login go, token objects stay. */
static void child_reinit(void)
{
    int32_t k;
    size_t i;
    struct mod_session *s;

    for (k = 0; k < mod_g.sess_used; k++) {
        s = session_at(k);
        if (s->open) {
            mod_session_clear(s);
            s->open = false;
            s->gen++;
            s->next_free = mod_g.sess_free;
            mod_g.sess_free = k;
        }
    }
    for (i = 0; i < mod_g.nslots; i++) {
        mod_object_drop_session(&mod_g.slots[i], 0);
        mod_g.slots[i].logged_in = false;
        mod_g.slots[i].nsessions = 0;
        mod_g.slots[i].nrw = 0;
    }
    mod_g.pid = getpid();
    atomic_store(&mod_g.fork_gen, atomic_load(&g_fork_gen));
}

static CK_RV initialize(const CK_C_INITIALIZE_ARGS *a)
{
    CK_RV rv = check_args(a);

    if (rv != CKR_OK)
        return rv;
    if (atomic_load(&mod_g.state) == MOD_STATE_READY) {
        if (mod_ready() == CKR_OK)
            return CKR_CRYPTOKI_ALREADY_INITIALIZED;
        child_reinit();
        U_LOG_DBG(MOD_SUBSYS, "re-initialized in forked child %ld", (long)mod_g.pid);
        return CKR_OK;
    }
    mod_lock_use(a != NULL && a->CreateMutex != NULL && !(a->flags & CKF_OS_LOCKING_OK) ? a : NULL);
    mod_g.sess_free = -1;
    rv = load_config(a);
    if (rv != CKR_OK)
        goto out;
    /* GnuTLS, for one, forbids module threads: then the key release runs every stage in this
     * thread (same result, slower with many keys) instead of refusing to start. */
    mod_g.no_threads = a != NULL && (a->flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS) != 0;
    rv = st_init();
    if (rv != CKR_OK)
        goto out;
    rv = mod_lock_new(&mod_g.global);
    if (rv != CKR_OK)
        goto out;
    rv = mod_slots_build();
    if (rv != CKR_OK)
        goto out;
    mod_g.pid = getpid();
    atomic_store(&mod_g.fork_gen, atomic_load(&g_fork_gen));
    atomic_store_explicit(&mod_g.state, MOD_STATE_READY, memory_order_release);
out:
    if (rv != CKR_OK)
        teardown();
    return rv;
}

CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    CK_RV rv;

    MOD_TRACE_IN("C_Initialize(args=%p)", pInitArgs);
    pthread_once(&g_atfork_once, atfork_register);
    pthread_mutex_lock(&g_init_lock);
    rv = initialize(pInitArgs);
    pthread_mutex_unlock(&g_init_lock);
    MOD_RETURN(rv);
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    CK_RV rv;

    MOD_TRACE_IN("C_Finalize(reserved=%p)", pReserved);
    if (pReserved != NULL)
        MOD_RETURN(CKR_ARGUMENTS_BAD);
    pthread_mutex_lock(&g_init_lock);
    rv = mod_ready();
    if (rv == CKR_OK) {
        atomic_store(&mod_g.state, MOD_STATE_NONE);
        teardown();
    }
    pthread_mutex_unlock(&g_init_lock);
    MOD_RETURN(rv);
}

static CK_RV get_info(CK_INFO_PTR info, CK_BYTE major, CK_BYTE minor)
{
    CK_RV rv = mod_ready();

    if (rv != CKR_OK)
        return rv;
    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    memset(info, 0, sizeof(*info));
    info->cryptokiVersion.major = major;
    info->cryptokiVersion.minor = minor;
    u_pad_string(info->manufacturerID, sizeof(info->manufacturerID), MOD_MANUFACTURER);
    u_pad_string(info->libraryDescription, sizeof(info->libraryDescription),
                 "Azure Key Vault SKR PKCS#11");
    info->libraryVersion.major = 0;
    info->libraryVersion.minor = 1;
    return CKR_OK;
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    MOD_TRACE_IN("C_GetInfo(info=%p)", (void *)pInfo);
    MOD_RETURN(get_info(pInfo, 3, 0));
}

CK_RV mod_get_info_240(CK_INFO_PTR pInfo)
{
    MOD_TRACE_IN("C_GetInfo(info=%p) [2.40]", (void *)pInfo);
    MOD_RETURN(get_info(pInfo, 2, 40));
}
