/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mutexes of the module: POSIX mutexes, or the application's CreateMutex/DestroyMutex/
 * LockMutex/UnlockMutex when C_Initialize gave callbacks without CKF_OS_LOCKING_OK
 * (PKCS#11 3.0 §5.4.1). Chosen once per C_Initialize, before any lock is made.
 */
#include <pthread.h>
#include <stdlib.h>

#include "mod_internal.h"
#include "u_macros.h"

struct mod_lock {
    pthread_mutex_t m;
    void *app; /* application mutex, when app callbacks are in use */
};

static CK_C_INITIALIZE_ARGS g_app; /* CreateMutex == NULL: OS locking */

void mod_lock_use(const CK_C_INITIALIZE_ARGS *app)
{
    if (app != NULL)
        g_app = *app;
    else
        g_app = (CK_C_INITIALIZE_ARGS){0};
}

CK_RV mod_lock_new(struct mod_lock **out)
{
    struct mod_lock *l = calloc(1, sizeof(*l));
    CK_RV rv = CKR_HOST_MEMORY;

    if (l == NULL)
        return CKR_HOST_MEMORY;
    if (g_app.CreateMutex != NULL) {
        rv = g_app.CreateMutex(&l->app);
        if (rv != CKR_OK)
            goto out;
    } else if (pthread_mutex_init(&l->m, NULL) != 0) {
        rv = CKR_CANT_LOCK;
        goto out;
    }
    *out = l;
    l = NULL;
    rv = CKR_OK;
out:
    free(l);
    return rv;
}

void mod_lock_free(struct mod_lock *l)
{
    if (l == NULL)
        return;
    if (l->app != NULL)
        g_app.DestroyMutex(l->app);
    else
        pthread_mutex_destroy(&l->m);
    free(l);
}

void mod_lock_acquire(struct mod_lock *l)
{
    if (l->app != NULL)
        g_app.LockMutex(l->app);
    else
        pthread_mutex_lock(&l->m);
}

void mod_lock_release(struct mod_lock *l)
{
    if (l->app != NULL)
        g_app.UnlockMutex(l->app);
    else
        pthread_mutex_unlock(&l->m);
}
