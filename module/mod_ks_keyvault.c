/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Key Vault key source (mod_keysource.h): kr_release_all_cb() does identity, metadata, one
 * attestation and the parallel release for every keyvault token; this file turns each key's
 * result into token objects as soon as it is final (while other keys are still unwrapped). Public
 * key and certificate objects are added whatever happened to the release; the private (or secret)
 * object only for a released, checked key. The released bytes are wiped right after the import.
 */
#include <string.h>

#include "kr.h"
#include "mod_internal.h"
#include "mod_keysource.h"
#include "mod_kr_rv.h"
#include "u_log.h"

static struct mod_keysink *sink_for(struct mod_keysink *const *sinks, size_t n,
                                    const struct cfg_token *tok)
{
    for (size_t i = 0; i < n; i++)
        if (mod_keysink_token(sinks[i]) == tok)
            return sinks[i];
    return NULL;
}

static void add_public(struct mod_keysink *sink, const struct kr_key_result *r,
                       const struct st_key_meta *m)
{
    struct st_object *o = NULL;
    CK_RV rv;
    if (r->spki != NULL) {
        rv = st_import_public_spki(r->spki, r->spki_len, m, &o);
        if (rv == CKR_OK)
            rv = mod_keysink_add(sink, o);
        if (rv != CKR_OK)
            mod_keysink_fail(sink, r->key, rv, "public key object could not be created");
    }
    if (r->cert != NULL) {
        o = NULL;
        rv = st_import_certificate(r->cert, r->cert_len, m, &o);
        if (rv == CKR_OK)
            rv = mod_keysink_add(sink, o);
        if (rv != CKR_OK)
            mod_keysink_fail(sink, r->key, rv, "certificate object could not be created");
    }
}

static CK_RV add_private(struct mod_keysink *sink, struct kr_key_result *r,
                         const struct st_key_meta *m)
{
    struct st_object *o = NULL;
    CK_RV rv;
    if (r->kind == KR_KIND_OCT)
        rv = st_import_secret(r->priv->data, r->priv->len, m, &o);
    else
        rv = st_import_private_pkcs8(r->priv->data, r->priv->len, m, &o, NULL);
    u_secbuf_free(r->priv); /* wiped: the softtoken holds its own copy */
    r->priv = NULL;
    if (rv != CKR_OK)
        return rv;
    return mod_keysink_add(sink, o);
}

static void import_key(struct mod_keysink *sink, struct kr_key_result *r)
{
    struct st_key_meta m;
    mod_keysink_key_meta(sink, r->key, &m);
    add_public(sink, r, &m);
    if (r->err != KR_OK || r->priv == NULL) {
        mod_keysink_fail(sink, r->key, kr_err_to_rv(r->err != KR_OK ? r->err : KR_ERR_INTERNAL),
                         r->msg[0] ? r->msg : "not released");
        return;
    }
    CK_RV rv = add_private(sink, r, &m);
    if (rv != CKR_OK)
        mod_keysink_fail(sink, r->key, rv, "released key could not be imported");
}

struct sinks {
    struct mod_keysink *const *v;
    size_t n;
};

/* kr_release_all_cb hands over each key as soon as it is final: its objects are built while the
 * TPM unwraps the next keys (the sinks are thread-safe). */
static void key_done(struct kr_key_result *r, void *arg)
{
    const struct sinks *s = arg;
    struct mod_keysink *sink = sink_for(s->v, s->n, r->token);
    if (sink != NULL)
        import_key(sink, r);
}

static CK_RV kv_load(const struct cfg *cfg, struct mod_keysink *const *sinks, size_t nsinks)
{
    struct kr_ctx *ctx = NULL;
    struct kr_result *res = NULL;
    struct sinks s = {.v = sinks, .n = nsinks};
    kr_set_threads_allowed(!mod_g.no_threads);
    if (mod_g.no_threads)
        U_LOG_INFO("kr", "the application forbids module threads "
                         "(CKF_LIBRARY_CANT_CREATE_OS_THREADS): releasing keys in this thread");
    enum kr_err err = kr_ctx_new(cfg, &ctx);
    if (err == KR_OK)
        err = kr_release_all_cb(ctx, key_done, &s, &res);
    if (err != KR_OK) {
        U_LOG_ERR("kr", "key release could not run: %s", kr_err_str(err));
        kr_ctx_free(ctx);
        return kr_err_to_rv(err);
    }
    kr_result_free(res);
    kr_ctx_free(ctx);
    return CKR_OK;
}

const struct mod_keysource_ops mod_ks_keyvault = {
        .name = "keyvault",
        .source = CFG_SOURCE_KEYVAULT,
        .load = kv_load,
};
