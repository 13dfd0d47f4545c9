/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Orchestration of Secure Key Release for every keyvault token (kr.h): identity, parallel
 * metadata, one attestation, parallel release, verification and unwrap per key. Per-key
 * failures become results with a one-line reason (the module logs it once, through the key
 * sink); nothing here fails as a whole except out-of-memory.
 */
#define _GNU_SOURCE
#include "kr.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "kr_akv.h"
#include "kr_attest.h"
#include "kr_ctx_int.h"
#include "kr_http.h"
#include "kr_identity.h"
#include "kr_jose.h"
#include "u_log.h"
#include "u_macros.h"

/* Per-key working state next to the public result. */
struct work {
    struct kr_key_result *r;
    char *key_url;
    char *vault_host;
    const struct u_secbuf *bearer; /* borrowed from the bearer table */
    bool meta_ok;
    char *release_url;
    char *release_body;
    bool reported; /* the caller's on_key ran for it */
};

struct bearer {
    char *resource;
    struct u_secbuf *token;
    enum kr_err err;
};

struct run {
    struct kr_ctx *ctx;
    kr_key_done_fn on_key; /* may be NULL */
    void *on_key_arg;
    struct kr_result *res;
    struct work *w;
    struct bearer bearers[4];
    size_t nbearers;
};

/* ---- context ------------------------------------------------------------------------------ */

enum kr_err kr_ctx_new(const struct cfg *cfg, struct kr_ctx **out)
{
    if (cfg == NULL || out == NULL)
        return KR_ERR_INVALID;
    struct kr_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return KR_ERR_NOMEM;
    c->cfg = cfg;
    enum kr_err err = kr_http_new(&cfg->http, &c->http);
    if (err == KR_OK)
        err = kr_identity_new(cfg, c->http, &c->identity);
    if (err == KR_OK)
        err = kr_trust_new(cfg->http.ca_file, true, &c->trust);
    if (err == KR_OK)
        err = kr_http_set_trust(c->http, c->trust); /* TLS and JWS: one store, loaded once */
    if (err == KR_OK)
        err = kr_x5c_cache_new(&c->x5c);
    if (err == KR_OK && cfg->att.provider == CFG_ATTEST_AZURE_CVM_VTPM)
        err = kr_attester_new(cfg, c->http, &c->attester);
    if (err == KR_OK &&
        (cfg->att.provider == CFG_ATTEST_SEV_SNP || cfg->att.provider == CFG_ATTEST_SGX)) {
        U_LOG_ERR("kr", "attestation provider sev-snp/sgx is reserved and not built");
        err = KR_ERR_CONFIG;
    }
    if (err != KR_OK) {
        kr_ctx_free(c);
        return err;
    }
    *out = c;
    return KR_OK;
}

void kr_ctx_free(struct kr_ctx *ctx)
{
    if (ctx == NULL)
        return;
    kr_attester_free(ctx->attester);
    kr_identity_free(ctx->identity);
    kr_x5c_cache_free(ctx->x5c);
    X509_STORE_free(ctx->trust);
    kr_http_free(ctx->http);
    free(ctx);
}

struct kr_http *kr_ctx_http(struct kr_ctx *ctx)
{
    return ctx->http;
}

struct kr_identity *kr_ctx_identity(struct kr_ctx *ctx)
{
    return ctx->identity;
}

struct kr_attester *kr_ctx_attester(struct kr_ctx *ctx)
{
    return ctx->attester;
}

void kr_result_free(struct kr_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nkeys; i++) {
        free(r->keys[i].spki);
        free(r->keys[i].cert);
        u_secbuf_free(r->keys[i].priv);
    }
    free(r->keys);
    free(r);
}

/* ---- helpers ------------------------------------------------------------------------------ */

static void fail(struct kr_key_result *r, enum kr_stage stage, enum kr_err err, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void fail(struct kr_key_result *r, enum kr_stage stage, enum kr_err err, const char *fmt,
                 ...)
{
    if (r->err != KR_OK)
        return; /* the first failure is the reason */
    r->err = err;
    r->stage = stage;
    int n = snprintf(r->msg, sizeof(r->msg), "%s: key %s: ", kr_stage_name(stage),
                     r->key->name != NULL ? r->key->name : r->key->section);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof(r->msg))
        vsnprintf(r->msg + n, sizeof(r->msg) - (size_t)n, fmt, ap);
    va_end(ap);
}

/* One line for a failed HTTP exchange: endpoint, status, Azure code/message, request id. */
static void fail_http(struct kr_key_result *r, enum kr_stage stage, enum kr_err err,
                      const struct kr_http_req *req, const struct kr_http_resp *resp)
{
    const char *q = strchr(req->url, '?');
    int ulen = (int)(q != NULL ? (size_t)(q - req->url) : strlen(req->url));
    if (resp->curl_err[0] != 0)
        fail(r, stage, err, "%s %.*s: %s", req->method, ulen, req->url, resp->curl_err);
    else
        fail(r, stage, err, "%s %.*s: %s: HTTP %ld %s: %.360s (x-ms-request-id %s)", req->method,
             ulen, req->url, kr_err_str(err), resp->status,
             resp->err_code[0] ? resp->err_code : "-", resp->err_msg[0] ? resp->err_msg : "-",
             resp->request_id[0] ? resp->request_id : "-");
}

static enum kr_kind kind_from(enum kr_key_kind k)
{
    return k == KR_KEY_EC ? KR_KIND_EC : k == KR_KEY_OCT ? KR_KIND_OCT : KR_KIND_RSA;
}

/* ---- collect ------------------------------------------------------------------------------ */

static size_t count_keys(const struct cfg *cfg)
{
    size_t n = 0;
    for (size_t t = 0; t < cfg->ntokens; t++)
        if (cfg->tokens[t]->source == CFG_SOURCE_KEYVAULT)
            n += cfg->tokens[t]->nkeys;
    return n;
}

static enum kr_err collect(struct run *run)
{
    const struct cfg *cfg = run->ctx->cfg;
    size_t n = count_keys(cfg), i = 0;
    run->res = calloc(1, sizeof(*run->res));
    if (run->res == NULL)
        return KR_ERR_NOMEM;
    run->res->keys = calloc(n ? n : 1, sizeof(*run->res->keys));
    run->w = calloc(n ? n : 1, sizeof(*run->w));
    if (run->res->keys == NULL || run->w == NULL)
        return KR_ERR_NOMEM;
    run->res->nkeys = n;
    for (size_t t = 0; t < cfg->ntokens; t++) {
        const struct cfg_token *tok = cfg->tokens[t];
        if (tok->source != CFG_SOURCE_KEYVAULT)
            continue;
        for (size_t k = 0; k < tok->nkeys; k++, i++) {
            struct kr_key_result *r = &run->res->keys[i];
            const struct cfg_key *ck = tok->keys[k];
            r->token = tok;
            r->key = ck;
            run->w[i].r = r;
            if (tok->vault == NULL) {
                fail(r, KR_STAGE_METADATA, KR_ERR_CONFIG, "token %s has no vault", tok->name);
                continue;
            }
            run->w[i].key_url =
                    kr_akv_key_url(tok->vault, ck->name ? ck->name : ck->section, ck->version);
            run->w[i].vault_host = kr_url_host(tok->vault);
            if (run->w[i].key_url == NULL || run->w[i].vault_host == NULL)
                fail(r, KR_STAGE_METADATA, KR_ERR_CONFIG, "bad vault URL %s", tok->vault);
        }
    }
    return KR_OK;
}

static void run_cleanup(struct run *run)
{
    for (size_t i = 0; run->res != NULL && i < run->res->nkeys; i++) {
        free(run->w[i].key_url);
        free(run->w[i].vault_host);
        free(run->w[i].release_url);
        u_strfree_secret(run->w[i].release_body); /* holds the MAA token */
    }
    free(run->w);
    for (size_t b = 0; b < run->nbearers; b++) {
        free(run->bearers[b].resource);
        u_secbuf_free(run->bearers[b].token);
    }
}

/* ---- identity ----------------------------------------------------------------------------- */

static struct bearer *bearer_for(struct run *run, const char *vault)
{
    char *res = kr_identity_resource_for(run->ctx->cfg, vault);
    if (res == NULL)
        return NULL;
    for (size_t b = 0; b < run->nbearers; b++) {
        if (strcmp(run->bearers[b].resource, res) == 0) {
            free(res);
            return &run->bearers[b];
        }
    }
    if (run->nbearers == U_ARRAY_SIZE(run->bearers)) {
        free(res);
        return NULL;
    }
    struct bearer *b = &run->bearers[run->nbearers++];
    b->resource = res;
    b->err = kr_identity_token(run->ctx->identity, res, &b->token);
    return b;
}

static void identity_phase(struct run *run)
{
    for (size_t i = 0; i < run->res->nkeys; i++) {
        struct work *w = &run->w[i];
        if (w->r->err != KR_OK)
            continue;
        struct bearer *b = bearer_for(run, w->r->token->vault);
        if (b == NULL)
            fail(w->r, KR_STAGE_IDENTITY, KR_ERR_NOMEM, "no bearer token");
        else if (b->err != KR_OK)
            fail(w->r, KR_STAGE_IDENTITY, b->err, "no bearer token for %s: %s", b->resource,
                 kr_err_str(b->err));
        else
            w->bearer = b->token;
    }
}

/* ---- metadata ----------------------------------------------------------------------------- */

static const char *const json_hdrs[] = {"Accept: application/json", NULL};

static void meta_key_done(struct work *w, const struct kr_http_req *req, struct kr_http_resp *resp,
                          enum kr_err err)
{
    struct kr_akv_key *k = NULL;
    if (err != KR_OK) {
        fail_http(w->r, KR_STAGE_METADATA, err, req, resp);
        return;
    }
    err = kr_akv_parse_key(resp->body, resp->body_len, &k);
    if (err != KR_OK) {
        fail(w->r, KR_STAGE_METADATA, err, "GET %s: unusable key bundle (%s)", w->key_url,
             kr_err_str(err));
        return;
    }
    w->r->kind = kind_from(k->kind);
    w->r->spki = k->spki;
    w->r->spki_len = k->spki_len;
    k->spki = NULL;
    w->r->have_public = w->r->spki != NULL;
    w->meta_ok = true;
    kr_akv_key_free(k);
}

/* The certificate must carry the key's public key (pairing by CKA_ID relies on it). */
static void meta_cert_done(struct work *w, const struct kr_http_req *req, struct kr_http_resp *resp,
                           enum kr_err err)
{
    unsigned char *der = NULL;
    size_t len = 0;
    if (err == KR_OK)
        err = kr_akv_parse_cert(resp->body, resp->body_len, &der, &len, NULL);
    if (err != KR_OK) {
        if (resp->status != 0 && resp->status / 100 != 2)
            fail_http(w->r, KR_STAGE_METADATA, err, req, resp);
        else
            fail(w->r, KR_STAGE_METADATA, err, "certificate %s: %s", w->r->key->certificate,
                 kr_err_str(err));
        return;
    }
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    unsigned char *spki = NULL;
    int sl = x != NULL ? i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki) : -1;
    X509_free(x);
    ERR_clear_error();
    if (w->r->spki != NULL && (sl != (int)w->r->spki_len || memcmp(spki, w->r->spki, (size_t)sl))) {
        fail(w->r, KR_STAGE_METADATA, KR_ERR_MISMATCH,
             "certificate %s does not hold the key's public key", w->r->key->certificate);
        free(der);
    } else {
        w->r->cert = der;
        w->r->cert_len = len;
    }
    OPENSSL_free(spki);
}

struct batch {
    struct kr_http_req *reqs;
    struct kr_http_resp *resps;
    enum kr_err *errs;
    size_t *owner; /* index into run->w */
    bool *is_cert;
    char **urls;
    size_t n;
};

static void batch_free(struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        kr_http_resp_cleanup(&b->resps[i]);
        free(b->urls[i]);
    }
    free(b->reqs);
    free(b->resps);
    free(b->errs);
    free(b->owner);
    free(b->is_cert);
    free(b->urls);
}

static enum kr_err batch_alloc(struct batch *b, size_t cap)
{
    memset(b, 0, sizeof(*b));
    cap = cap ? cap : 1;
    b->reqs = calloc(cap, sizeof(*b->reqs));
    b->resps = calloc(cap, sizeof(*b->resps));
    b->errs = calloc(cap, sizeof(*b->errs));
    b->owner = calloc(cap, sizeof(*b->owner));
    b->is_cert = calloc(cap, sizeof(*b->is_cert));
    b->urls = calloc(cap, sizeof(*b->urls));
    if (!b->reqs || !b->resps || !b->errs || !b->owner || !b->is_cert || !b->urls)
        return KR_ERR_NOMEM;
    return KR_OK;
}

static void batch_add(struct batch *b, size_t owner, bool is_cert, char *url, const char *method,
                      const struct u_secbuf *bearer, enum kr_stage stage)
{
    size_t i = b->n++;
    b->owner[i] = owner;
    b->is_cert[i] = is_cert;
    b->urls[i] = url;
    b->reqs[i] = (struct kr_http_req){.stage = stage,
                                      .method = method,
                                      .url = url,
                                      .headers = json_hdrs,
                                      .bearer = bearer,
                                      .quiet = true};
}

static char *meta_url(const struct work *w, bool cert)
{
    char *u = NULL;
    if (!cert) {
        if (asprintf(&u, "%s?api-version=%s", w->key_url, KR_AKV_API_VERSION) < 0)
            return NULL;
        return u;
    }
    return kr_akv_cert_url(w->r->token->vault, w->r->key->certificate);
}

static enum kr_err metadata_phase(struct run *run)
{
    struct batch b;
    enum kr_err err = batch_alloc(&b, 2 * run->res->nkeys);
    for (size_t i = 0; err == KR_OK && i < run->res->nkeys; i++) {
        struct work *w = &run->w[i];
        for (int c = 0; c < 2 && w->r->err == KR_OK; c++) {
            if (c == 1 && w->r->key->certificate == NULL)
                break;
            char *url = meta_url(w, c == 1);
            if (url == NULL) {
                err = KR_ERR_NOMEM;
                break;
            }
            batch_add(&b, i, c == 1, url, "GET", w->bearer, KR_STAGE_METADATA);
        }
    }
    if (err == KR_OK)
        err = kr_http_multi(run->ctx->http, b.reqs, b.resps, b.errs, b.n);
    /* Keys before their certificates: batch order is key, cert per work item. */
    for (size_t i = 0; err == KR_OK && i < b.n; i++) {
        struct work *w = &run->w[b.owner[i]];
        if (!b.is_cert[i])
            meta_key_done(w, &b.reqs[i], &b.resps[i], b.errs[i]);
        else if (w->meta_ok)
            meta_cert_done(w, &b.reqs[i], &b.resps[i], b.errs[i]);
    }
    batch_free(&b);
    return err;
}

/* ---- attestation and release -------------------------------------------------------------- */

static enum kr_err tpm_oaep(void *arg, int hash_nid, const unsigned char *c1, size_t len,
                            struct u_secbuf **k_out)
{
    return kr_unwrapper_rsa_oaep(arg, hash_nid, c1, len, k_out);
}

static void check_and_keep(struct work *w, struct kr_release *rel, struct u_secbuf *plain)
{
    struct kr_key_result *r = w->r;
    enum kr_err err = KR_OK;
    if (kind_from(rel->kind) != r->kind)
        err = KR_ERR_MISMATCH;
    else if (r->kind != KR_KIND_OCT &&
             (rel->spki_len != r->spki_len || memcmp(rel->spki, r->spki, r->spki_len) != 0))
        err = KR_ERR_MISMATCH;
    else if (r->kind != KR_KIND_OCT)
        err = kr_check_released_matches(plain, r->spki, r->spki_len);
    if (err != KR_OK) {
        fail(r, KR_STAGE_UNWRAP, err, "%s", kr_err_str(err));
        u_secbuf_free(plain);
        return;
    }
    r->priv = plain;
}

/*
 * After verification a release answer goes through two single-thread stages:
 *   tpm:    key_hsm unwrap (TPM RSA-OAEP of C1, AES-KWP of C2). ONE thread owns every TPM command
 *           of the batch (the ESYS context is not thread-safe; one thread keeps the policy
 *           session and OpenSSL's per-thread state warm);
 *   finish: check the released key against the metadata, then hand the key to the caller's
 *           callback (the module imports it) while the TPM works on the next one.
 * The HTTP pool threads go straight back to the network instead of queueing on the TPM.
 */
struct item {
    struct work *w;
    struct kr_release *rel;
    struct u_secbuf *plain;
    enum kr_err err;
    struct item *next;
};

struct stage {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct item *head, *tail;
    bool closed;
    bool running; /* the thread exists; otherwise items are processed inline */
    pthread_t tid;
    void (*fn)(struct stage *st, struct item *it);
    struct run *run;
    const struct kr_decryptor *dec;
    struct stage *next_stage; /* tpm → finish */
};

/* The key's result is final: give it to the caller once. */
static void report(struct run *run, struct work *w)
{
    if (w->reported)
        return;
    w->reported = true;
    if (run->on_key != NULL)
        run->on_key(w->r, run->on_key_arg);
}

static void stage_push(struct stage *st, struct item *it)
{
    if (!st->running) {
        st->fn(st, it);
        return;
    }
    it->next = NULL;
    pthread_mutex_lock(&st->mu);
    if (st->tail != NULL)
        st->tail->next = it;
    else
        st->head = it;
    st->tail = it;
    pthread_cond_signal(&st->cv);
    pthread_mutex_unlock(&st->mu);
}

static void tpm_stage(struct stage *st, struct item *it)
{
    it->err = kr_key_hsm_unwrap(it->rel->hsm, st->dec, &it->plain);
    stage_push(st->next_stage, it);
}

static void finish_stage(struct stage *st, struct item *it)
{
    struct work *w = it->w;
    if (it->err != KR_OK)
        fail(w->r, KR_STAGE_UNWRAP, it->err, "key_hsm (%s): %s", it->rel->hsm->enc,
             kr_err_str(it->err));
    else
        check_and_keep(w, it->rel, it->plain);
    kr_release_free(it->rel);
    free(it);
    report(st->run, w);
}

static void *stage_thread(void *arg)
{
    struct stage *st = arg;
    pthread_mutex_lock(&st->mu);
    for (;;) {
        while (st->head == NULL && !st->closed)
            pthread_cond_wait(&st->cv, &st->mu);
        struct item *it = st->head;
        if (it == NULL)
            break; /* closed and drained */
        st->head = it->next;
        if (st->head == NULL)
            st->tail = NULL;
        pthread_mutex_unlock(&st->mu);
        st->fn(st, it);
        pthread_mutex_lock(&st->mu);
    }
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

static void stage_start(struct stage *st, void (*fn)(struct stage *, struct item *),
                        struct run *run, const struct kr_decryptor *dec, struct stage *next)
{
    memset(st, 0, sizeof(*st));
    st->fn = fn;
    st->run = run;
    st->dec = dec;
    st->next_stage = next;
    pthread_mutex_init(&st->mu, NULL);
    pthread_cond_init(&st->cv, NULL);
    st->running = kr_threads_allowed() && pthread_create(&st->tid, NULL, stage_thread, st) == 0;
}

/* Wait until every queued item went through. */
static void stage_finish(struct stage *st)
{
    if (st->running) {
        pthread_mutex_lock(&st->mu);
        st->closed = true;
        pthread_cond_signal(&st->cv);
        pthread_mutex_unlock(&st->mu);
        pthread_join(st->tid, NULL);
    }
    pthread_cond_destroy(&st->cv);
    pthread_mutex_destroy(&st->mu);
}

static void release_done(struct run *run, struct work *w, const struct kr_http_req *req,
                         struct kr_http_resp *resp, enum kr_err err, struct stage *tpm)
{
    struct kr_release *rel = NULL;
    if (err != KR_OK) {
        err = kr_akv_classify_error(resp->status, resp->err_code, resp->err_msg, err);
        fail_http(w->r, KR_STAGE_RELEASE, err, req, resp);
        report(run, w);
        return;
    }
    err = kr_akv_release_verify_cached(resp->body, resp->body_len, run->ctx->trust, run->ctx->x5c,
                                       w->vault_host, w->key_url, KR_EPHEMERAL_KID, time(NULL),
                                       &rel);
    if (err != KR_OK) {
        fail(w->r, KR_STAGE_RELEASE_VERIFY, err,
             "release answer from %s refused: %s (x5c chain, host, RS256 or key id)", w->vault_host,
             kr_err_str(err));
        report(run, w);
        return;
    }
    struct item *it = calloc(1, sizeof(*it));
    if (it == NULL) {
        fail(w->r, KR_STAGE_UNWRAP, KR_ERR_NOMEM, "%s", kr_err_str(KR_ERR_NOMEM));
        kr_release_free(rel);
        report(run, w);
        return;
    }
    it->w = w;
    it->rel = rel;
    stage_push(tpm, it);
}

static void fail_all_pending(struct run *run, enum kr_stage stage, enum kr_err err, const char *why)
{
    for (size_t i = 0; i < run->res->nkeys; i++)
        if (run->w[i].r->err == KR_OK)
            fail(run->w[i].r, stage, err, "%s", why);
}

struct pipeline {
    struct run *run;
    struct batch *b;
    struct stage *tpm;
};

/* Runs on the pool thread that received answer i: verify it while others are in flight, then
 * hand it to the TPM stage (the network does not wait for the TPM). */
static void release_arrived(size_t i, enum kr_err err, void *arg)
{
    struct pipeline *p = arg;
    release_done(p->run, &p->run->w[p->b->owner[i]], &p->b->reqs[i], &p->b->resps[i], err, p->tpm);
}

static enum kr_err release_phase(struct run *run, const char *jwt, const struct kr_decryptor *dec)
{
    static const char *const hdrs[] = {"Content-Type: application/json", "Accept: application/json",
                                       NULL};
    struct batch b;
    enum kr_err err = batch_alloc(&b, run->res->nkeys);
    for (size_t i = 0; err == KR_OK && i < run->res->nkeys; i++) {
        struct work *w = &run->w[i];
        if (w->r->err != KR_OK || !w->meta_ok)
            continue;
        char *url = kr_akv_release_url(w->key_url);
        err = url != NULL ? kr_akv_release_body(jwt, NULL, NULL, &w->release_body) : KR_ERR_NOMEM;
        if (err != KR_OK) {
            free(url);
            break;
        }
        batch_add(&b, i, false, url, "POST", w->bearer, KR_STAGE_RELEASE);
        b.reqs[b.n - 1].headers = hdrs;
        b.reqs[b.n - 1].body = w->release_body;
        b.reqs[b.n - 1].body_len = strlen(w->release_body);
    }
    struct stage tpm, finish;
    stage_start(&finish, finish_stage, run, dec, NULL);
    stage_start(&tpm, tpm_stage, run, dec, &finish);
    struct pipeline pl = {.run = run, .b = &b, .tpm = &tpm};
    if (err == KR_OK)
        err = kr_http_multi_cb(run->ctx->http, b.reqs, b.resps, b.errs, b.n, release_arrived, &pl);
    stage_finish(&tpm); /* drained into finish */
    stage_finish(&finish);
    batch_free(&b);
    return err;
}

/* The single attestation, run on its own thread while identity and metadata are fetched: the
 * TPM work and the MAA round trip overlap the Key Vault round trips. */
struct attest_job {
    struct kr_attester *attester;
    char *jwt;
    struct kr_unwrapper *unw;
    enum kr_err err;
};

static void *attest_thread(void *arg)
{
    struct attest_job *j = arg;
    j->err = kr_attest(j->attester, &j->jwt, &j->unw);
    return NULL;
}

static enum kr_err release_with(struct run *run, struct attest_job *job)
{
    run->res->attest_err = job->err;
    if (job->err != KR_OK) {
        char why[160];
        snprintf(why, sizeof(why), "attestation failed (%s); see the attestation log line",
                 kr_err_str(job->err));
        fail_all_pending(run, KR_STAGE_ATTEST, job->err, why);
        return KR_OK;
    }
    size_t mlen = 0;
    uint32_t e = 0;
    kr_unwrapper_modulus(job->unw, &mlen, &e);
    struct kr_decryptor dec = {.fn = tpm_oaep, .arg = job->unw, .modulus_len = mlen};
    return release_phase(run, job->jwt, &dec);
}

static bool any_pending(const struct run *run)
{
    for (size_t i = 0; i < run->res->nkeys; i++)
        if (run->w[i].r->err == KR_OK && run->w[i].meta_ok)
            return true;
    return false;
}

static enum kr_err run_flow(struct kr_ctx *ctx, bool release, kr_key_done_fn on_key, void *arg,
                            struct kr_result **out)
{
    if (ctx == NULL || out == NULL)
        return KR_ERR_INVALID;
    struct run run = {.ctx = ctx, .on_key = on_key, .on_key_arg = arg};
    struct attest_job job = {.attester = ctx->attester};
    pthread_t tid;
    enum kr_err err = collect(&run);
    bool attesting = err == KR_OK && release && ctx->attester != NULL && run.res->nkeys > 0;
    if (attesting &&
        (!kr_threads_allowed() || pthread_create(&tid, NULL, attest_thread, &job) != 0)) {
        attest_thread(&job); /* no thread: attest first, then the rest */
        attesting = false;
    }
    if (err == KR_OK) {
        identity_phase(&run);
        err = metadata_phase(&run);
    }
    if (attesting)
        pthread_join(tid, NULL);
    if (err == KR_OK && release && ctx->attester == NULL)
        fail_all_pending(&run, KR_STAGE_ATTEST, KR_ERR_CONFIG,
                         "attestation provider none: public metadata only, not released");
    else if (err == KR_OK && release && any_pending(&run))
        err = release_with(&run, &job);
    kr_unwrapper_free(job.unw);
    u_strfree_secret(job.jwt);
    for (size_t i = 0; err == KR_OK && i < run.res->nkeys; i++)
        report(&run, &run.w[i]); /* the keys that failed before the release, or had none */
    run_cleanup(&run);
    if (err != KR_OK) {
        kr_result_free(run.res);
        return err;
    }
    *out = run.res;
    return KR_OK;
}

enum kr_err kr_release_all(struct kr_ctx *ctx, struct kr_result **out)
{
    return run_flow(ctx, true, NULL, NULL, out);
}

enum kr_err kr_release_all_cb(struct kr_ctx *ctx, kr_key_done_fn on_key, void *arg,
                              struct kr_result **out)
{
    return run_flow(ctx, true, on_key, arg, out);
}

enum kr_err kr_metadata_all(struct kr_ctx *ctx, struct kr_result **out)
{
    return run_flow(ctx, false, NULL, NULL, out);
}
