/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libcurl client: bounded responses, timeouts, TLS always verified, retries with exponential
 * backoff + jitter honouring Retry-After within the stage budget, Azure error extraction, one
 * log line per final failure. The parallel variant is a small bounded thread pool, each worker
 * running kr_http_request (a retry of one request never delays the others).
 */
#define _GNU_SOURCE
#include "kr_http.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "kr_http_int.h"
#include "u_log.h"
#include "u_macros.h"

#define POOL_MAX        32
#define SECRET_BODY_MAX (64 * 1024)

/* An easy handle between two requests, with the live connection(s) it keeps. */
struct idle_handle {
    CURL *c;
    char host[256]; /* scheme://host:port of its last request */
};

struct kr_http {
    const struct cfg_http *cfg;
    CURLSH *share; /* TLS session and DNS caches shared by every handle of this client */
    pthread_mutex_t share_mu;
    pthread_mutex_t cache_mu;
    void *cache;
    void (*cache_free)(void *);
    /* Idle easy handles: a request takes one whose last request went to the same origin, so
     * its kept-alive connection (HTTP/1.1) is reused instead of a new TCP + TLS handshake, from
     * one phase to the next (metadata, attestation, release) and across threads (each handle
     * is used by one thread at a time). Handles of another process (after fork) are never
     * reused: their connections belong to the parent. */
    pthread_mutex_t idle_mu;
    struct idle_handle idle[POOL_MAX + 8];
    size_t nidle;
    pid_t idle_pid;
    X509_STORE *trust; /* kr_http_set_trust: the anchors of every TLS connection, loaded once */
};

static atomic_bool g_threads_allowed = true;

void kr_set_threads_allowed(bool allowed)
{
    atomic_store(&g_threads_allowed, allowed);
}

bool kr_threads_allowed(void)
{
    return atomic_load(&g_threads_allowed);
}

static pthread_mutex_t global_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned global_refs;

/* ---- lifecycle ---------------------------------------------------------------------------- */

static void share_lock(CURL *c, curl_lock_data d, curl_lock_access a, void *arg)
{
    (void)c;
    (void)d;
    (void)a;
    pthread_mutex_lock(&((struct kr_http *)arg)->share_mu);
}

static void share_unlock(CURL *c, curl_lock_data d, void *arg)
{
    (void)c;
    (void)d;
    pthread_mutex_unlock(&((struct kr_http *)arg)->share_mu);
}

/* TLS session resumption across handles saves a full handshake per parallel request. Without a
 * share (OOM) every handle simply has its own caches. */
static void share_init(struct kr_http *h)
{
    h->share = curl_share_init();
    if (h->share == NULL)
        return;
    if (curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_USERDATA, h) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
        curl_share_cleanup(h->share);
        h->share = NULL;
    }
}

enum kr_err kr_http_new(const struct cfg_http *cfg, struct kr_http **out)
{
    if (cfg == NULL || out == NULL)
        return KR_ERR_INVALID;
    struct kr_http *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return KR_ERR_NOMEM;
    pthread_mutex_lock(&global_mu);
    bool ok = global_refs > 0 || curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    if (ok)
        global_refs++;
    pthread_mutex_unlock(&global_mu);
    if (!ok) {
        free(h);
        return KR_ERR_INTERNAL;
    }
    h->cfg = cfg;
    pthread_mutex_init(&h->cache_mu, NULL);
    pthread_mutex_init(&h->share_mu, NULL);
    pthread_mutex_init(&h->idle_mu, NULL);
    h->idle_pid = getpid();
    share_init(h);
    *out = h;
    return KR_OK;
}

void kr_http_free(struct kr_http *h)
{
    if (h == NULL)
        return;
    if (h->cache != NULL && h->cache_free != NULL)
        h->cache_free(h->cache);
    if (h->idle_pid == getpid()) /* a child leaves the parent's connections alone */
        for (size_t i = 0; i < h->nidle; i++)
            curl_easy_cleanup(h->idle[i].c);
    pthread_mutex_destroy(&h->idle_mu);
    pthread_mutex_destroy(&h->cache_mu);
    curl_share_cleanup(h->share);
    pthread_mutex_destroy(&h->share_mu);
    X509_STORE_free(h->trust);
    free(h);
    pthread_mutex_lock(&global_mu);
    if (global_refs > 0 && --global_refs == 0)
        curl_global_cleanup();
    pthread_mutex_unlock(&global_mu);
}

enum kr_err kr_http_set_trust(struct kr_http *h, X509_STORE *store)
{
    if (h == NULL || store == NULL || X509_STORE_up_ref(store) != 1)
        return KR_ERR_INVALID;
    X509_STORE_free(h->trust);
    h->trust = store;
    return KR_OK;
}

/* CURLOPT_SSL_CTX_FUNCTION: the connection verifies against the client's one store. */
static CURLcode use_trust(CURL *c, void *ssl_ctx, void *arg)
{
    (void)c;
    SSL_CTX_set1_cert_store(ssl_ctx, arg); /* takes its own reference */
    return CURLE_OK;
}

/*
 * Trust anchors of a handle. With a store from kr_http_set_trust, every connection uses it and
 * libcurl loads nothing: otherwise each new handle parses the whole system bundle (≈ 20 ms of
 * CPU per handle with Debian's ca-certificates; up to POOL_MAX handles at start-up). Without a
 * store, or a libcurl whose TLS backend has no SSL_CTX callback, libcurl's own files as before:
 * ca-file adds anchors, the system directory stays trusted too (Appendix A).
 */
static void setup_trust(CURL *c, const struct kr_http *h)
{
    if (h->trust != NULL && curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, use_trust) == CURLE_OK &&
        curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, h->trust) == CURLE_OK) {
        curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
        curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
        return;
    }
    if (h->cfg->ca_file != NULL) {
        curl_easy_setopt(c, CURLOPT_CAINFO, h->cfg->ca_file);
        curl_easy_setopt(c, CURLOPT_CAPATH, X509_get_default_cert_dir());
    }
}

void *kr_http_cache_lock(struct kr_http *h, void (*free_fn)(void *))
{
    pthread_mutex_lock(&h->cache_mu);
    h->cache_free = free_fn;
    return h->cache;
}

void kr_http_cache_unlock(struct kr_http *h, void *cache)
{
    h->cache = cache;
    pthread_mutex_unlock(&h->cache_mu);
}

void kr_http_resp_cleanup(struct kr_http_resp *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    u_secbuf_free(resp->sbody);
    memset(resp, 0, sizeof(*resp));
}

/* ---- time --------------------------------------------------------------------------------- */

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

U_STATIC long long kr_http_backoff_ms(long base_ms, unsigned attempt, long retry_after_ms,
                                      unsigned rnd)
{
    long long d = base_ms > 0 ? base_ms : 1;
    for (unsigned i = 0; i < attempt && d < 3600000; i++)
        d *= 2;
    /* "Equal jitter": half fixed, half random, so retries of parallel requests spread out. */
    d = d / 2 + (long long)(rnd % (unsigned)(d / 2 + 1));
    if (retry_after_ms >= 0 && retry_after_ms > d)
        d = retry_after_ms;
    return d;
}

U_STATIC bool kr_http_retryable(CURLcode cc, long status)
{
    if (cc == CURLE_WRITE_ERROR)
        return false; /* our size cap: retrying cannot help */
    if (cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_CONNECT ||
        cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
        cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE || cc == CURLE_SSL_CONNECT_ERROR)
        return true;
    if (cc != CURLE_OK)
        return false;
    return status == 429 || status >= 500;
}

/* ---- one attempt -------------------------------------------------------------------------- */

struct sink {
    struct kr_http_resp *resp;
    bool secret;
    size_t cap;
    size_t len;
    size_t alloc;
    unsigned char *buf; /* malloc'd, or resp->sbody->data */
};

static bool sink_grow(struct sink *s, size_t need)
{
    size_t na = s->alloc ? s->alloc : 4096;
    while (na < need)
        na *= 2;
    if (na > s->cap + 1)
        na = s->cap + 1;
    if (s->secret) {
        struct u_secbuf *nb = u_secbuf_new(na);
        if (nb == NULL)
            return false;
        if (s->buf != NULL && s->len > 0)
            memcpy(nb->data, s->buf, s->len);
        u_secbuf_free(s->resp->sbody);
        s->resp->sbody = nb;
        s->buf = nb->data;
    } else {
        unsigned char *nb = realloc(s->buf, na);
        if (nb == NULL)
            return false;
        s->buf = nb;
    }
    s->alloc = na;
    return true;
}

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct sink *s = arg;
    size_t n = size * nmemb;
    if (n > s->cap - s->len)
        return 0; /* over the cap: curl aborts with CURLE_WRITE_ERROR */
    if (s->len + n + 1 > s->alloc && !sink_grow(s, s->len + n + 1))
        return 0;
    memcpy(s->buf + s->len, ptr, n);
    s->len += n;
    s->buf[s->len] = 0;
    return n;
}

static void sink_reset(struct sink *s)
{
    if (!s->secret)
        free(s->buf);
    u_secbuf_free(s->resp->sbody);
    s->resp->sbody = NULL;
    s->buf = NULL;
    s->len = s->alloc = 0;
}

static void sink_finish(struct sink *s)
{
    if (s->secret) {
        if (s->resp->sbody != NULL)
            s->resp->sbody->len = s->len;
    } else {
        s->resp->body = (char *)s->buf;
        s->resp->body_len = s->len;
    }
    s->buf = NULL;
}

/* Build the header list; the Authorization line goes in a secure buffer first and its copy
 * inside the slist is wiped before the list is freed (wipe_slist). */
static struct curl_slist *build_headers(const struct kr_http_req *req, bool *nomem)
{
    struct curl_slist *l = NULL, *t;
    *nomem = true;
    for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL; i++) {
        t = curl_slist_append(l, req->headers[i]);
        if (t == NULL)
            goto fail;
        l = t;
    }
    if (req->bearer != NULL) {
        static const char pfx[] = "Authorization: Bearer ";
        struct u_secbuf *a = u_secbuf_new(sizeof(pfx) + req->bearer->len);
        if (a == NULL)
            goto fail;
        memcpy(a->data, pfx, sizeof(pfx) - 1);
        memcpy(a->data + sizeof(pfx) - 1, req->bearer->data, req->bearer->len);
        t = curl_slist_append(l, (const char *)a->data);
        u_secbuf_free(a);
        if (t == NULL)
            goto fail;
        l = t;
    }
    t = curl_slist_append(l, "Expect:");
    if (t == NULL)
        goto fail;
    *nomem = false;
    return t;
fail:
    curl_slist_free_all(l);
    return NULL;
}

static void wipe_slist(struct curl_slist *l)
{
    for (struct curl_slist *p = l; p != NULL; p = p->next)
        if (p->data != NULL)
            u_memzero(p->data, strlen(p->data));
    curl_slist_free_all(l);
}

static void setup_easy(CURL *c, const struct kr_http *h, const struct kr_http_req *req,
                       struct sink *s, long total_ms, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (h->share != NULL)
        curl_easy_setopt(c, CURLOPT_SHARE, h->share);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    setup_trust(c, h);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->cfg->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->cfg->max_response_bytes);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (req->no_proxy)
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    if (req->method != NULL && strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body != NULL ? req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    } else if (req->method != NULL && strcmp(req->method, "GET") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
    }
}

static void copy_trunc(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)dst[i] < 0x20)
            dst[i] = ' '; /* keep the log line one line */
}

static void capture_headers(CURL *c, struct kr_http_resp *resp)
{
    static const char *const ids[] = {"x-ms-request-id", "client-request-id",
                                      "x-ms-keyvault-request-id"};
    struct curl_header *hd = NULL;
    resp->request_id[0] = 0;
    for (size_t i = 0; i < U_ARRAY_SIZE(ids); i++) {
        if (curl_easy_header(c, ids[i], 0, CURLH_HEADER, -1, &hd) == CURLHE_OK) {
            copy_trunc(resp->request_id, sizeof(resp->request_id), hd->value);
            break;
        }
    }
    curl_off_t ra = -1;
    resp->retry_after_ms = -1;
    if (curl_easy_getinfo(c, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
        resp->retry_after_ms = (long)(ra > 86400 ? 86400 : ra) * 1000;
    else if (curl_easy_header(c, "Retry-After", 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
        resp->retry_after_ms = 0;
}

/* Azure error shapes: {"error":{"code","message"}}, {"Error":{"Code","Message"}}, AAD/IMDS
 * {"error":"...","error_description":"..."}. */
U_STATIC void kr_http_parse_error(const char *body, size_t len, struct kr_http_resp *resp)
{
    resp->err_code[0] = resp->err_msg[0] = 0;
    json_t *j = body != NULL ? json_loadb(body, len, 0, NULL) : NULL;
    if (!json_is_object(j))
        goto out;
    json_t *e = json_object_get(j, "error");
    const char *code = NULL, *msg = NULL;
    if (json_is_object(e)) {
        code = json_string_value(json_object_get(e, "code"));
        msg = json_string_value(json_object_get(e, "message"));
    } else if (json_is_string(e)) {
        code = json_string_value(e);
        msg = json_string_value(json_object_get(j, "error_description"));
    } else if (json_is_object(json_object_get(j, "Error"))) {
        e = json_object_get(j, "Error");
        code = json_string_value(json_object_get(e, "Code"));
        msg = json_string_value(json_object_get(e, "Message"));
    }
    if (code != NULL)
        copy_trunc(resp->err_code, sizeof(resp->err_code), code);
    if (msg != NULL)
        copy_trunc(resp->err_msg, sizeof(resp->err_msg), msg);
out:
    json_decref(j);
}

static enum kr_err status_err(long status)
{
    if (status >= 200 && status < 300)
        return KR_OK;
    if (status == 401)
        return KR_ERR_AUTH;
    if (status == 403)
        return KR_ERR_FORBIDDEN;
    if (status == 404)
        return KR_ERR_NOT_FOUND;
    return KR_ERR_HTTP;
}

static enum kr_err attempt(CURL *c, struct kr_http *h, const struct kr_http_req *req,
                           struct curl_slist *hdrs, long total_ms, struct kr_http_resp *resp,
                           CURLcode *cc)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    /* Secret bodies (token answers, a few KiB) live in the 1 MiB secure heap: cap them lower. */
    size_t cap = h->cfg->max_response_bytes;
    if (req->secret_body && cap > SECRET_BODY_MAX)
        cap = SECRET_BODY_MAX;
    struct sink s = {.resp = resp, .secret = req->secret_body, .cap = cap};
    curl_easy_reset(c);
    setup_easy(c, h, req, &s, total_ms, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    *cc = curl_easy_perform(c);
    resp->attempts++;
    resp->status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    capture_headers(c, resp);
    if (*cc != CURLE_OK) {
        sink_reset(&s);
        copy_trunc(resp->curl_err, sizeof(resp->curl_err),
                   errbuf[0] ? errbuf : curl_easy_strerror(*cc));
        if (*cc == CURLE_WRITE_ERROR || *cc == CURLE_FILESIZE_EXCEEDED)
            copy_trunc(resp->curl_err, sizeof(resp->curl_err), "response larger than the cap");
        return *cc == CURLE_OUT_OF_MEMORY ? KR_ERR_NOMEM : KR_ERR_NETWORK;
    }
    resp->curl_err[0] = 0;
    sink_finish(&s);
    enum kr_err err = status_err(resp->status);
    if (err != KR_OK) {
        const char *b = resp->body;
        size_t bl = resp->body_len;
        if (req->secret_body && resp->sbody != NULL) {
            b = (const char *)resp->sbody->data;
            bl = resp->sbody->len;
        }
        kr_http_parse_error(b, bl, resp);
    }
    return err;
}

/* The URL without its query (which may carry resource names, never secrets, but keep it
 * short and predictable). */
static void log_failure(const struct kr_http_req *req, const struct kr_http_resp *resp)
{
    const char *q = strchr(req->url, '?');
    int ulen = (int)(q != NULL ? (size_t)(q - req->url) : strlen(req->url));
    const char *m = req->method != NULL ? req->method : "GET";
    if (resp->curl_err[0] != 0)
        U_LOG_ERR("kr", "%s: %s %.*s failed: %s (after %u attempts)", kr_stage_name(req->stage), m,
                  ulen, req->url, resp->curl_err, resp->attempts);
    else
        U_LOG_ERR("kr", "%s: %s %.*s failed: HTTP %ld %s: %s (x-ms-request-id %s)",
                  kr_stage_name(req->stage), m, ulen, req->url, resp->status,
                  resp->err_code[0] ? resp->err_code : "-", resp->err_msg[0] ? resp->err_msg : "-",
                  resp->request_id[0] ? resp->request_id : "-");
}

static unsigned rnd_u32(void)
{
    unsigned r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = (unsigned)now_ms();
    return r;
}

/* The retry loop on a caller-provided easy handle (a pool worker reuses one handle, and with it
 * its live connections, for all of its requests). */
static enum kr_err request_on(CURL *c, struct kr_http *h, const struct kr_http_req *req,
                              struct kr_http_resp *resp)
{
    bool nomem = false;
    struct curl_slist *hdrs = build_headers(req, &nomem);
    if (hdrs == NULL)
        return nomem ? KR_ERR_NOMEM : KR_ERR_INTERNAL;
    long long deadline = now_ms() + h->cfg->retry_budget_ms;
    enum kr_err err = KR_ERR_NETWORK;
    for (unsigned n = 0;; n++) {
        long long left = deadline - now_ms();
        long total = left < h->cfg->request_timeout_ms ? (long)left : h->cfg->request_timeout_ms;
        CURLcode cc = CURLE_OK;
        free(resp->body); /* the previous attempt's answer */
        resp->body = NULL;
        u_secbuf_free(resp->sbody);
        resp->sbody = NULL;
        err = attempt(c, h, req, hdrs, total > 0 ? total : 1, resp, &cc);
        if (err == KR_OK || n >= h->cfg->retry_max || !kr_http_retryable(cc, resp->status))
            break;
        long long d = kr_http_backoff_ms(h->cfg->retry_base_ms, n, resp->retry_after_ms, rnd_u32());
        if (now_ms() + d >= deadline)
            break;
        U_LOG_DBG("kr", "%s: retrying in %lld ms (status %ld)", kr_stage_name(req->stage), d,
                  resp->status);
        sleep_ms(d);
    }
    if (err != KR_OK && !req->quiet)
        log_failure(req, resp);
    wipe_slist(hdrs);
    return err;
}

/* "scheme://authority" of url, for matching idle handles (truncated names only miss). */
static void url_origin(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://");
    size_t n = p != NULL ? (size_t)(p + 3 - url) + strcspn(p + 3, "/?#") : strlen(url);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, url, n);
    out[n] = 0;
}

/* An idle handle for url's origin, else any idle handle, else a new one (NULL on OOM). */
static CURL *handle_get(struct kr_http *h, const char *url)
{
    char origin[sizeof(h->idle[0].host)];
    CURL *c = NULL;
    url_origin(url, origin, sizeof(origin));
    pthread_mutex_lock(&h->idle_mu);
    if (h->idle_pid != getpid()) {
        h->nidle = 0; /* forked: the parent's handles are not ours to use or close */
        h->idle_pid = getpid();
    }
    size_t pick = h->nidle;
    for (size_t i = h->nidle; i-- > 0;) {
        if (strcmp(h->idle[i].host, origin) == 0) {
            pick = i;
            break;
        }
    }
    if (pick == h->nidle && h->nidle > 0)
        pick = h->nidle - 1;
    if (pick < h->nidle) {
        c = h->idle[pick].c;
        h->idle[pick] = h->idle[--h->nidle];
    }
    pthread_mutex_unlock(&h->idle_mu);
    return c != NULL ? c : curl_easy_init();
}

static void handle_put(struct kr_http *h, CURL *c, const char *url)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&h->idle_mu);
    if (h->idle_pid == getpid() && h->nidle < U_ARRAY_SIZE(h->idle)) {
        h->idle[h->nidle].c = c;
        url_origin(url, h->idle[h->nidle].host, sizeof(h->idle[0].host));
        h->nidle++;
        c = NULL;
    }
    pthread_mutex_unlock(&h->idle_mu);
    curl_easy_cleanup(c);
}

enum kr_err kr_http_request(struct kr_http *h, const struct kr_http_req *req,
                            struct kr_http_resp *resp)
{
    if (h == NULL || req == NULL || req->url == NULL || resp == NULL)
        return KR_ERR_INVALID;
    CURL *c = handle_get(h, req->url);
    if (c == NULL)
        return KR_ERR_NOMEM;
    enum kr_err err = request_on(c, h, req, resp);
    handle_put(h, c, req->url);
    return err;
}

/* ---- parallel ----------------------------------------------------------------------------- */

struct pool {
    struct kr_http *h;
    const struct kr_http_req *reqs;
    struct kr_http_resp *resps;
    enum kr_err *errs;
    size_t n;
    size_t next;
    kr_http_done_fn on_done;
    void *arg;
    pthread_mutex_t mu;
};

static void *pool_worker(void *arg)
{
    struct pool *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        size_t i = p->next++;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            break;
        if (p->reqs[i].url == NULL)
            p->errs[i] = KR_ERR_INVALID;
        else
            p->errs[i] = kr_http_request(p->h, &p->reqs[i], &p->resps[i]);
        if (p->on_done != NULL)
            p->on_done(i, p->errs[i], p->arg);
    }
    return NULL;
}

enum kr_err kr_http_multi(struct kr_http *h, const struct kr_http_req *reqs,
                          struct kr_http_resp *resps, enum kr_err *errs, size_t n)
{
    return kr_http_multi_cb(h, reqs, resps, errs, n, NULL, NULL);
}

enum kr_err kr_http_multi_cb(struct kr_http *h, const struct kr_http_req *reqs,
                             struct kr_http_resp *resps, enum kr_err *errs, size_t n,
                             kr_http_done_fn on_done, void *arg)
{
    if (h == NULL || (n > 0 && (reqs == NULL || resps == NULL || errs == NULL)))
        return KR_ERR_INVALID;
    struct pool p = {.h = h,
                     .reqs = reqs,
                     .resps = resps,
                     .errs = errs,
                     .n = n,
                     .on_done = on_done,
                     .arg = arg};
    pthread_t tids[POOL_MAX];
    size_t nt = n < POOL_MAX ? n : POOL_MAX, started = 0;
    pthread_mutex_init(&p.mu, NULL);
    for (size_t i = 0; i < n; i++)
        errs[i] = KR_ERR_INTERNAL;
    for (; started < nt && kr_threads_allowed(); started++)
        if (pthread_create(&tids[started], NULL, pool_worker, &p) != 0)
            break;
    if (started == 0 && n > 0)
        pool_worker(&p); /* no thread could start: run them here, sequentially */
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&p.mu);
    return KR_OK;
}

/* ---- encoding ----------------------------------------------------------------------------- */

static size_t escaped_len(const unsigned char *s, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += (s[i] < 0x80 &&
                (s[i] == '-' || s[i] == '.' || s[i] == '_' || s[i] == '~' ||
                 (s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
                       ? 1
                       : 3;
    return len;
}

static size_t escape_into(char *dst, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (escaped_len(&s[i], 1) == 1) {
            dst[o++] = (char)s[i];
        } else {
            dst[o++] = '%';
            dst[o++] = hex[s[i] >> 4];
            dst[o++] = hex[s[i] & 15];
        }
    }
    dst[o] = 0;
    return o;
}

char *kr_http_escape(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(escaped_len((const unsigned char *)s, n) + 1);
    if (o != NULL)
        escape_into(o, (const unsigned char *)s, n);
    return o;
}

enum kr_err kr_http_form_secret(const char *const *pairs, const char *secret_name,
                                const struct u_secbuf *secret, struct u_secbuf **out)
{
    size_t total = 1;
    for (size_t i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2)
        total += strlen(pairs[i]) + 2 +
                 escaped_len((const unsigned char *)pairs[i + 1], strlen(pairs[i + 1]));
    if (secret != NULL)
        total += strlen(secret_name) + 2 + escaped_len(secret->data, secret->len);
    struct u_secbuf *b = u_secbuf_new(total);
    if (b == NULL)
        return KR_ERR_NOMEM;
    char *p = (char *)b->data;
    size_t o = 0;
    for (size_t i = 0; pairs[i] != NULL && pairs[i + 1] != NULL; i += 2) {
        if (o > 0)
            p[o++] = '&';
        o += escape_into(p + o, (const unsigned char *)pairs[i], strlen(pairs[i]));
        p[o++] = '=';
        o += escape_into(p + o, (const unsigned char *)pairs[i + 1], strlen(pairs[i + 1]));
    }
    if (secret != NULL) {
        if (o > 0)
            p[o++] = '&';
        o += escape_into(p + o, (const unsigned char *)secret_name, strlen(secret_name));
        p[o++] = '=';
        o += escape_into(p + o, secret->data, secret->len);
    }
    p[o] = 0;
    b->len = o;
    *out = b;
    return KR_OK;
}
