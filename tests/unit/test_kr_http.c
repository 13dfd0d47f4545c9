/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kr_http.c against a loopback HTTP server run by the test: retries on 5xx/429 and connection
 * errors, no retry on other 4xx, Retry-After within the budget, the response cap, Azure/AAD
 * error extraction, x-ms-request-id, secret bodies, the bearer header, the parallel pool, and
 * that no log line ever carries the bearer token. Assertions are on results and attempt counts,
 * never on elapsed time.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "kr_http.h"
#include "kr_http_int.h"
#include "u_log.h"

#define SECRET_TOKEN "abc-secret-bearer-token-xyz"

struct canned {
    int status;
    const char *headers; /* extra header lines, each ending in \r\n */
    const char *body;
};

static struct {
    int fd;
    int port;
    pthread_t tid;
    pthread_mutex_t mu;
    const struct canned *script;
    size_t nscript;
    size_t served;
    bool repeat_last;
    char last_request[8192];
    bool stop;
} srv;

static char logbuf[65536];
static size_t loglen;

static void log_sink(enum u_log_level level, const char *line, void *arg)
{
    (void)level;
    (void)arg;
    size_t n = strlen(line);
    if (loglen + n + 2 < sizeof(logbuf)) {
        memcpy(logbuf + loglen, line, n);
        loglen += n;
        logbuf[loglen++] = '\n';
        logbuf[loglen] = 0;
    }
}

static void read_request(int c, char *buf, size_t cap)
{
    size_t n = 0;
    long clen = -1;
    char *hend = NULL;
    while (n + 1 < cap) {
        ssize_t r = read(c, buf + n, cap - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
        buf[n] = 0;
        hend = strstr(buf, "\r\n\r\n");
        if (hend != NULL && clen < 0) {
            char *cl = strcasestr(buf, "Content-Length:");
            clen = cl != NULL && cl < hend ? strtol(cl + 15, NULL, 10) : 0;
        }
        if (hend != NULL && (size_t)(hend + 4 - buf) + (size_t)clen <= n)
            break;
    }
    buf[n] = 0;
}

static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(srv.fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char req[8192];
        read_request(c, req, sizeof(req));
        pthread_mutex_lock(&srv.mu);
        if (srv.stop) {
            pthread_mutex_unlock(&srv.mu);
            close(c);
            return NULL;
        }
        size_t i = srv.served < srv.nscript ? srv.served : srv.nscript - 1;
        srv.served++;
        memcpy(srv.last_request, req, sizeof(req));
        const struct canned *k = &srv.script[i];
        pthread_mutex_unlock(&srv.mu);
        char out[16384];
        int n = snprintf(out, sizeof(out),
                         "HTTP/1.1 %d X\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n%s",
                         k->status, strlen(k->body), k->headers ? k->headers : "", k->body);
        ssize_t w = write(c, out, (size_t)n);
        (void)w;
        close(c);
    }
}

static void script(const struct canned *s, size_t n)
{
    pthread_mutex_lock(&srv.mu);
    srv.script = s;
    srv.nscript = n;
    srv.served = 0;
    pthread_mutex_unlock(&srv.mu);
}

static int setup(void **state)
{
    (void)state;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    /* Loopback only: a proxy from the environment must not see these requests. */
    unsetenv("http_proxy");
    unsetenv("HTTP_PROXY");
    unsetenv("all_proxy");
    unsetenv("ALL_PROXY");
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(srv.fd >= 0);
    assert_int_equal(bind(srv.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(srv.fd, 64), 0);
    assert_int_equal(getsockname(srv.fd, (struct sockaddr *)&a, &al), 0);
    srv.port = ntohs(a.sin_port);
    pthread_mutex_init(&srv.mu, NULL);
    assert_int_equal(pthread_create(&srv.tid, NULL, serve, NULL), 0);
    u_log_configure(U_LOG_DEBUG, U_LOG_TARGET_STDERR);
    u_log_set_sink(log_sink, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pthread_mutex_lock(&srv.mu);
    srv.stop = true;
    pthread_mutex_unlock(&srv.mu);
    shutdown(srv.fd, SHUT_RDWR);
    close(srv.fd);
    pthread_join(srv.tid, NULL);
    u_log_set_sink(NULL, NULL);
    assert_null(strstr(logbuf, SECRET_TOKEN));
    return 0;
}

static struct cfg_http cfg_http(void)
{
    struct cfg_http c = {.connect_timeout_ms = 5000,
                         .request_timeout_ms = 30000,
                         .retry_max = 3,
                         .retry_base_ms = 1,
                         .retry_budget_ms = 60000,
                         .max_response_bytes = 1 << 20};
    return c;
}

static char *url(const char *path)
{
    char *u = NULL;
    assert_true(asprintf(&u, "http://127.0.0.1:%d%s", srv.port, path) > 0);
    return u;
}

static enum kr_err get(const struct cfg_http *c, const char *path, struct kr_http_resp *resp,
                       const struct u_secbuf *bearer, bool secret)
{
    struct kr_http *h = NULL;
    assert_int_equal(kr_http_new(c, &h), KR_OK);
    char *u = url(path);
    struct kr_http_req req = {.stage = KR_STAGE_RELEASE,
                              .method = "GET",
                              .url = u,
                              .bearer = bearer,
                              .secret_body = secret};
    enum kr_err err = kr_http_request(h, &req, resp);
    free(u);
    kr_http_free(h);
    return err;
}

static void test_retry_5xx_then_ok(void **state)
{
    (void)state;
    static const struct canned s[] = {
            {503, "Retry-After: 0\r\n", "{\"Error\":{\"Code\":\"Busy\",\"Message\":\"later\"}}"},
            {500, NULL, "{}"},
            {200, "x-ms-request-id: req-42\r\n", "{\"ok\":true}"}};
    script(s, 3);
    struct cfg_http c = cfg_http();
    struct kr_http_resp r = {0};
    struct u_secbuf *b = u_secbuf_dup(SECRET_TOKEN, strlen(SECRET_TOKEN));
    assert_int_equal(get(&c, "/keys/a?api-version=7.4", &r, b, false), KR_OK);
    assert_int_equal(r.attempts, 3);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"ok\":true}");
    assert_string_equal(r.request_id, "req-42");
    assert_non_null(strstr(srv.last_request, "Authorization: Bearer " SECRET_TOKEN "\r\n"));
    kr_http_resp_cleanup(&r);
    u_secbuf_free(b);
}

static void test_4xx_not_retried(void **state)
{
    (void)state;
    static const struct canned s[] = {
            {404, "x-ms-request-id: rid-404\r\n",
             "{\"error\":{\"code\":\"KeyNotFound\",\"message\":\"A key with (name/id) x was not "
             "found\"}}"},
            {200, NULL, "{}"}};
    script(s, 2);
    struct cfg_http c = cfg_http();
    struct kr_http_resp r = {0};
    struct u_secbuf *b = u_secbuf_dup(SECRET_TOKEN, strlen(SECRET_TOKEN));
    loglen = 0;
    logbuf[0] = 0;
    assert_int_equal(get(&c, "/keys/x?secret=querypart", &r, b, false), KR_ERR_NOT_FOUND);
    assert_int_equal(r.attempts, 1);
    assert_string_equal(r.err_code, "KeyNotFound");
    assert_non_null(strstr(r.err_msg, "was not found"));
    /* One line: stage, endpoint without query, status, code, message, request id. */
    assert_non_null(strstr(logbuf, "release: GET http://127.0.0.1:"));
    assert_non_null(strstr(logbuf, "/keys/x failed: HTTP 404 KeyNotFound: A key with"));
    assert_non_null(strstr(logbuf, "(x-ms-request-id rid-404)"));
    assert_null(strstr(logbuf, "querypart"));
    assert_null(strstr(logbuf, SECRET_TOKEN));
    kr_http_resp_cleanup(&r);
    u_secbuf_free(b);
}

static void test_aad_error_and_429_budget(void **state)
{
    (void)state;
    static const struct canned s1[] = {
            {401, NULL, "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215\"}"}};
    script(s1, 1);
    struct cfg_http c = cfg_http();
    struct kr_http_resp r = {0};
    assert_int_equal(get(&c, "/token", &r, NULL, true), KR_ERR_AUTH);
    assert_string_equal(r.err_code, "invalid_client");
    assert_string_equal(r.err_msg, "AADSTS7000215");
    kr_http_resp_cleanup(&r);
    /* Retry-After (120 s) beyond the budget (2 s): give up after the first attempt. */
    static const struct canned s2[] = {{429, "Retry-After: 120\r\n", "{}"}, {200, NULL, "{}"}};
    script(s2, 2);
    c.retry_budget_ms = 2000;
    assert_int_equal(get(&c, "/slow", &r, NULL, false), KR_ERR_HTTP);
    assert_int_equal(r.attempts, 1);
    assert_int_equal(r.retry_after_ms, 120000);
    kr_http_resp_cleanup(&r);
    /* 429 with a short Retry-After is retried. */
    static const struct canned s3[] = {{429, "Retry-After: 0\r\n", "{}"}, {200, NULL, "{}"}};
    script(s3, 2);
    c.retry_budget_ms = 60000;
    assert_int_equal(get(&c, "/slow", &r, NULL, false), KR_OK);
    assert_int_equal(r.attempts, 2);
    kr_http_resp_cleanup(&r);
}

static void test_cap_and_secret_body(void **state)
{
    (void)state;
    static const struct canned s[] = {
            {200, NULL, "{\"access_token\":\"" SECRET_TOKEN "\",\"expires_in\":\"3600\"}"}};
    script(s, 1);
    struct cfg_http c = cfg_http();
    struct kr_http_resp r = {0};
    assert_int_equal(get(&c, "/token", &r, NULL, true), KR_OK);
    assert_null(r.body);
    assert_non_null(r.sbody);
    assert_non_null(strstr((char *)r.sbody->data, SECRET_TOKEN));
    assert_int_equal(r.sbody->len, strlen(s[0].body));
    kr_http_resp_cleanup(&r);
    /* A secret body after a retried error answer (the error body is dropped first). */
    static const struct canned s2[] = {
            {503, "Retry-After: 0\r\n", "{\"error\":\"temporarily_unavailable\"}"},
            {200, NULL, "{\"access_token\":\"" SECRET_TOKEN "\"}"}};
    script(s2, 2);
    assert_int_equal(get(&c, "/token", &r, NULL, true), KR_OK);
    assert_int_equal(r.attempts, 2);
    assert_string_equal((char *)r.sbody->data, s2[1].body);
    kr_http_resp_cleanup(&r);
    script(s, 1);
    c.max_response_bytes = 10;
    assert_int_equal(get(&c, "/token", &r, NULL, false), KR_ERR_NETWORK);
    assert_int_equal(r.attempts, 1); /* the cap is not retried */
    kr_http_resp_cleanup(&r);
}

static void test_connect_error_retried(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    close(s); /* a port nobody listens on */
    char *u = NULL;
    assert_true(asprintf(&u, "http://127.0.0.1:%d/x", ntohs(a.sin_port)) > 0);
    struct cfg_http c = cfg_http();
    struct kr_http *h = NULL;
    assert_int_equal(kr_http_new(&c, &h), KR_OK);
    struct kr_http_req req = {.stage = KR_STAGE_METADATA, .method = "GET", .url = u};
    struct kr_http_resp r = {0};
    assert_int_equal(kr_http_request(h, &req, &r), KR_ERR_NETWORK);
    assert_int_equal(r.attempts, c.retry_max + 1);
    assert_int_equal(r.status, 0);
    kr_http_resp_cleanup(&r);
    kr_http_free(h);
    free(u);
}

static void count_done(size_t i, enum kr_err err, void *arg)
{
    unsigned *seen = arg;
    if (err == KR_OK)
        __atomic_fetch_add(&seen[i], 1, __ATOMIC_RELAXED);
}

static void test_multi(void **state)
{
    (void)state;
    static const struct canned s[] = {{200, NULL, "{\"v\":1}"}};
    script(s, 1);
    struct cfg_http c = cfg_http();
    struct kr_http *h = NULL;
    assert_int_equal(kr_http_new(&c, &h), KR_OK);
    enum { N = 40 };
    struct kr_http_req reqs[N];
    struct kr_http_resp resps[N];
    enum kr_err errs[N];
    char *urls[N];
    memset(resps, 0, sizeof(resps));
    for (int i = 0; i < N; i++) {
        urls[i] = url("/m");
        reqs[i] = (struct kr_http_req){.stage = KR_STAGE_RELEASE,
                                       .method = "POST",
                                       .url = urls[i],
                                       .body = "{}",
                                       .body_len = 2};
    }
    assert_int_equal(kr_http_multi(h, reqs, resps, errs, N), KR_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(errs[i], KR_OK);
        assert_string_equal(resps[i].body, "{\"v\":1}");
        kr_http_resp_cleanup(&resps[i]);
    }
    /* With a completion callback: called exactly once per request, with its result. */
    unsigned seen[N] = {0};
    assert_int_equal(kr_http_multi_cb(h, reqs, resps, errs, N, count_done, seen), KR_OK);
    for (int i = 0; i < N; i++) {
        assert_int_equal(seen[i], 1);
        kr_http_resp_cleanup(&resps[i]);
        free(urls[i]);
    }
    kr_http_free(h);
}

static void test_backoff_and_form(void **state)
{
    (void)state;
    assert_int_equal(kr_http_backoff_ms(500, 0, -1, 0), 250);
    for (unsigned r = 0; r < 2000; r += 97) {
        long long d = kr_http_backoff_ms(500, 2, -1, r);
        assert_true(d >= 1000 && d <= 2000);
    }
    assert_int_equal(kr_http_backoff_ms(500, 0, 5000, 7), 5000);
    assert_true(kr_http_retryable(CURLE_OK, 503));
    assert_true(kr_http_retryable(CURLE_OK, 429));
    assert_false(kr_http_retryable(CURLE_OK, 403));
    assert_true(kr_http_retryable(CURLE_OPERATION_TIMEDOUT, 0));
    assert_false(kr_http_retryable(CURLE_PEER_FAILED_VERIFICATION, 0));
    const char *pairs[] = {"scope", "https://vault.azure.net/.default", "a b", "x&y", NULL};
    struct u_secbuf *sec = u_secbuf_dup("s+/=", 4), *f = NULL;
    assert_int_equal(kr_http_form_secret(pairs, "client_secret", sec, &f), KR_OK);
    assert_string_equal((char *)f->data,
                        "scope=https%3A%2F%2Fvault.azure.net%2F.default&a%20b=x%26y"
                        "&client_secret=s%2B%2F%3D");
    u_secbuf_free(f);
    u_secbuf_free(sec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_retry_5xx_then_ok),
            cmocka_unit_test(test_4xx_not_retried),
            cmocka_unit_test(test_aad_error_and_429_budget),
            cmocka_unit_test(test_cap_and_secret_body),
            cmocka_unit_test(test_connect_error_retried),
            cmocka_unit_test(test_multi),
            cmocka_unit_test(test_backoff_and_form),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
