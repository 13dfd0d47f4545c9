/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs the key sources (mod_keysource.h) inside C_Initialize: one sink per token, each source
 * called once with all of its tokens and no module lock held, then the collected objects become
 * the slots' token objects. A failed required key (or a token-wide failure) fails C_Initialize.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mod_internal.h"
#include "mod_keysource.h"
#include "u_macros.h"

struct mod_keysink {
    pthread_mutex_t lock;
    const struct cfg_token *tok;
    struct st_object **objs;
    size_t n, cap;
    CK_RV fatal; /* CKR_OK, or why a required key / the token failed (first report) */
};

static const struct mod_keysource_ops *const g_sources[] = {
#ifdef SKR_TEST_KEYSOURCE
        &mod_ks_file,
#endif
#ifdef SKR_HAVE_KS_KEYVAULT
        &mod_ks_keyvault,
#endif
        NULL,
};

static const char *source_name(enum cfg_key_source s)
{
    return s == CFG_SOURCE_FILE ? "file" : "keyvault";
}

const struct cfg_token *mod_keysink_token(const struct mod_keysink *sink)
{
    return sink->tok;
}

CK_RV mod_keysink_add(struct mod_keysink *sink, struct st_object *obj)
{
    struct st_object **v;
    CK_RV rv = CKR_OK;

    if (sink == NULL || obj == NULL) {
        st_object_unref(obj);
        return CKR_ARGUMENTS_BAD;
    }
    pthread_mutex_lock(&sink->lock);
    if (sink->n == sink->cap) {
        size_t cap = sink->cap ? sink->cap * 2 : 8;

        v = realloc(sink->objs, cap * sizeof(*v));
        if (v == NULL) {
            rv = CKR_HOST_MEMORY;
            goto out;
        }
        sink->objs = v;
        sink->cap = cap;
    }
    sink->objs[sink->n++] = obj;
    obj = NULL;
out:
    pthread_mutex_unlock(&sink->lock);
    st_object_unref(obj);
    return rv;
}

void mod_keysink_fail(struct mod_keysink *sink, const struct cfg_key *key, CK_RV rv,
                      const char *reason)
{
    bool fatal = key == NULL || key->required;
    const char *path = mod_g.cfg != NULL ? mod_g.cfg->path : "config";
    unsigned line = key != NULL ? key->line : sink->tok->line;

    /* One line naming the config section (file:line), the reason and the CK_RV. */
    if (fatal)
        U_LOG_ERR(MOD_SUBSYS, "%s:%u: token %s%s%s: %s (%s)", path, line, sink->tok->name,
                  key ? ", required key " : "", key ? key->section : "", reason, u_rv_name(rv));
    else
        U_LOG_WARN(MOD_SUBSYS, "%s:%u: token %s, key %s (required = no) left out: %s (%s)", path,
                   line, sink->tok->name, key->section, reason, u_rv_name(rv));
    if (!fatal)
        return;
    pthread_mutex_lock(&sink->lock);
    if (sink->fatal == CKR_OK)
        sink->fatal = rv == CKR_OK ? CKR_DEVICE_ERROR : rv;
    pthread_mutex_unlock(&sink->lock);
}

void mod_keysink_key_meta(const struct mod_keysink *sink, const struct cfg_key *key,
                          struct st_key_meta *m)
{
    memset(m, 0, sizeof(*m));
    m->label = key->label != NULL ? key->label : key->name;
    m->id = key->id_len > 0 ? key->id : NULL;
    m->id_len = key->id_len;
    m->secret_type = key->oct_type == CFG_OCT_GENERIC ? CKK_GENERIC_SECRET : CKK_AES;
    if (key->key_type != NULL)
        m->secret_type =
                strcmp(key->key_type, "generic-secret") == 0 ? CKK_GENERIC_SECRET : CKK_AES;
    m->token = true;
    m->private_ = sink->tok->pin != NULL;
}

static const struct mod_keysource_ops *find_source(enum cfg_key_source s)
{
    size_t i;

    for (i = 0; g_sources[i] != NULL; i++)
        if (g_sources[i]->source == s)
            return g_sources[i];
    return NULL;
}

/* Run the source for every sink of kind `s` (sinks[i] belongs to slot i). */
static void run_source(enum cfg_key_source s, struct mod_keysink *sinks, size_t n)
{
    const struct mod_keysource_ops *ops = find_source(s);
    struct mod_keysink **mine = calloc(n ? n : 1, sizeof(*mine));
    size_t i, k = 0;
    CK_RV rv;

    for (i = 0; i < n && mine != NULL; i++)
        if (sinks[i].tok->source == s)
            mine[k++] = &sinks[i];
    if (k == 0 && mine != NULL)
        goto out;
    for (i = 0; i < n; i++) {
        if (sinks[i].tok->source != s)
            continue;
        if (mine == NULL)
            mod_keysink_fail(&sinks[i], NULL, CKR_HOST_MEMORY, "out of memory");
        else if (ops == NULL)
            mod_keysink_fail(&sinks[i], NULL, CKR_DEVICE_ERROR,
                             s == CFG_SOURCE_FILE ? "source = file is not built into this module "
                                                    "(SKR_TEST_KEYSOURCE=OFF)"
                                                  : "source = keyvault is not built into this "
                                                    "module yet");
    }
    if (mine == NULL || ops == NULL)
        goto out;
    U_LOG_DBG(MOD_SUBSYS, "key source %s: loading %zu token(s)", source_name(s), k);
    rv = ops->load(mod_g.cfg, mine, k);
    if (rv != CKR_OK)
        for (i = 0; i < k; i++)
            mod_keysink_fail(mine[i], NULL, rv, "key source failed");
out:
    free(mine);
}

static CK_RV publish(struct mod_keysink *sinks, size_t n)
{
    CK_RV rv = CKR_OK;
    size_t i, j;

    for (i = 0; i < n; i++)
        if (rv == CKR_OK && sinks[i].fatal != CKR_OK)
            rv = sinks[i].fatal;
    for (i = 0; i < n; i++) {
        for (j = 0; j < sinks[i].n; j++) {
            if (rv == CKR_OK)
                rv = mod_object_insert(&mod_g.slots[i], sinks[i].objs[j], 0, NULL);
            else
                st_object_unref(sinks[i].objs[j]);
        }
        free(sinks[i].objs);
        pthread_mutex_destroy(&sinks[i].lock);
    }
    return rv;
}

CK_RV mod_keysource_load_all(void)
{
    size_t n = mod_g.nslots, i;
    struct mod_keysink *sinks;
    CK_RV rv;

    if (n == 0)
        return CKR_OK;
    sinks = calloc(n, sizeof(*sinks));
    if (sinks == NULL)
        return CKR_HOST_MEMORY;
    for (i = 0; i < n; i++) {
        pthread_mutex_init(&sinks[i].lock, NULL);
        sinks[i].tok = mod_g.slots[i].tok;
    }
    run_source(CFG_SOURCE_FILE, sinks, n);
    run_source(CFG_SOURCE_KEYVAULT, sinks, n);
    rv = publish(sinks, n);
    free(sinks);
    return rv;
}
