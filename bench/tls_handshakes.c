/* SPDX-License-Identifier: Apache-2.0 */
/*
 * TLS handshake driver (issue 5): N full TLS 1.3 handshakes against one server, each on a new
 * TCP connection, never resuming a session (no session cache, no tickets kept, each connection
 * checked with SSL_session_reused), the server's chain verified against --cafile and its name
 * against --sni. With --get, each connection also sends "GET / HTTP/1.1" and reads the reply
 * to its end, requiring status 200.
 *   skr-tls-handshakes --port P --sni NAME --cafile PEM [--host 127.0.0.1] [--count N]
 *                      [--threads T] [--get] [--sigalgs LIST]
 * Prints "handshakes=<n> seconds=<wall> per_s=<rate>" and exits 0 only if every one of the N
 * handshakes (and requests) succeeded; the first failure is printed with OpenSSL's reason.
 * Used by tests/integration/programs/nginx.sh and bench/run-nginx-bench.sh.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct opts {
    const char *host;
    char *sni; /* not const: OpenSSL's SNI and sigalgs macros cast to (void *) */
    const char *cafile;
    char *sigalgs;
    int port;
    long count;
    int threads;
    int get;
};

static struct opts g_o = {.host = "127.0.0.1", .count = 1000, .threads = 1};
static SSL_CTX *g_ctx;
static atomic_long g_next;
static atomic_long g_done;
static atomic_int g_failed;
static pthread_mutex_t g_err_lock = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The first failure only: later ones are usually the same cause. */
static void report(long i, const char *what)
{
    unsigned long e = ERR_peek_last_error();
    char buf[256] = "";

    if (atomic_exchange(&g_failed, 1) != 0) {
        ERR_clear_error();
        return;
    }
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    pthread_mutex_lock(&g_err_lock);
    fprintf(stderr, "skr-tls-handshakes: connection %ld: %s%s%s\n", i, what, e ? ": " : "", buf);
    pthread_mutex_unlock(&g_err_lock);
    ERR_clear_error();
}

static int tcp_connect(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g_o.port)};
    struct timeval tmo = {.tv_sec = 60};
    int one = 1;
    int fd;

    if (inet_pton(AF_INET, g_o.host, &sa.sin_addr) != 1)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* A server that stops answering fails the run instead of hanging it. */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tmo, sizeof(tmo));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* GET / and read to EOF (Connection: close); 0 if the status line says 200. */
static int http_get(SSL *ssl)
{
    char req[512], buf[4096], status[16] = "";
    size_t have = 0, k;
    int n, len, err;

    len = snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n",
                   g_o.sni);
    if (len <= 0 || (size_t)len >= sizeof(req) || SSL_write(ssl, req, len) != len)
        return -1;
    for (;;) {
        n = SSL_read(ssl, buf, sizeof(buf));
        if (n <= 0)
            break;
        k = sizeof(status) - 1 - have;
        k = (size_t)n < k ? (size_t)n : k;
        memcpy(status + have, buf, k);
        have += k;
    }
    /* The server closes after the reply: close_notify, or a plain TCP close. */
    err = SSL_get_error(ssl, n);
    if (err != SSL_ERROR_ZERO_RETURN && err != SSL_ERROR_SYSCALL)
        return -1;
    return strncmp(status, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
}

static int one_handshake(long i)
{
    SSL *ssl = NULL;
    int fd = tcp_connect();
    int rc = -1;

    if (fd < 0) {
        report(i, "connect failed");
        return -1;
    }
    ssl = SSL_new(g_ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, g_o.sni) != 1 ||
        SSL_set1_host(ssl, g_o.sni) != 1) {
        report(i, "SSL setup failed");
        goto out;
    }
    if (SSL_connect(ssl) != 1) {
        report(i, SSL_get_verify_result(ssl) != X509_V_OK
                          ? X509_verify_cert_error_string(SSL_get_verify_result(ssl))
                          : "handshake failed");
        goto out;
    }
    if (SSL_session_reused(ssl) || SSL_version(ssl) != TLS1_3_VERSION) {
        report(i, "not a full TLS 1.3 handshake");
        goto out;
    }
    if (g_o.get && http_get(ssl) != 0) {
        report(i, "GET / did not return 200");
        goto out;
    }
    SSL_shutdown(ssl);
    rc = 0;
out:
    SSL_free(ssl);
    close(fd);
    return rc;
}

static void *worker(void *arg)
{
    long i;

    (void)arg;
    for (;;) {
        i = atomic_fetch_add(&g_next, 1);
        if (i >= g_o.count || atomic_load(&g_failed))
            break;
        if (one_handshake(i) != 0)
            break;
        atomic_fetch_add(&g_done, 1);
    }
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: skr-tls-handshakes --port P --sni NAME --cafile PEM [--host IPV4]\n"
                    "       [--count N] [--threads T] [--get] [--sigalgs LIST]\n");
    return 2;
}

static int parse(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--get") == 0) {
            g_o.get = 1;
            continue;
        }
        if (v == NULL)
            return -1;
        i++;
        if (strcmp(a, "--host") == 0)
            g_o.host = v;
        else if (strcmp(a, "--port") == 0)
            g_o.port = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--sni") == 0)
            g_o.sni = v;
        else if (strcmp(a, "--cafile") == 0)
            g_o.cafile = v;
        else if (strcmp(a, "--count") == 0)
            g_o.count = strtol(v, NULL, 10);
        else if (strcmp(a, "--threads") == 0)
            g_o.threads = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--sigalgs") == 0)
            g_o.sigalgs = v;
        else
            return -1;
    }
    if (g_o.port <= 0 || g_o.port > 65535 || g_o.sni == NULL || g_o.cafile == NULL ||
        g_o.count <= 0 || g_o.threads <= 0 || g_o.threads > 64)
        return -1;
    return 0;
}

static int make_ctx(void)
{
    g_ctx = SSL_CTX_new(TLS_client_method());
    if (g_ctx == NULL || SSL_CTX_set_min_proto_version(g_ctx, TLS1_3_VERSION) != 1 ||
        SSL_CTX_load_verify_locations(g_ctx, g_o.cafile, NULL) != 1) {
        ERR_print_errors_fp(stderr);
        return -1;
    }
    if (g_o.sigalgs != NULL && SSL_CTX_set1_sigalgs_list(g_ctx, g_o.sigalgs) != 1) {
        fprintf(stderr, "skr-tls-handshakes: bad --sigalgs %s\n", g_o.sigalgs);
        return -1;
    }
    SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, NULL);
    /* Full handshakes only: nothing cached, tickets not asked for (RFC 8446 §4.6.1). */
    SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(g_ctx, SSL_OP_NO_TICKET);
    return 0;
}

int main(int argc, char **argv)
{
    pthread_t th[64];
    double t0, dt;
    int i, started = 0;

    if (parse(argc, argv) != 0)
        return usage();
    if (make_ctx() != 0)
        return 1;
    t0 = now_s();
    for (i = 0; i < g_o.threads; i++) {
        if (pthread_create(&th[i], NULL, worker, NULL) != 0)
            break;
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    dt = now_s() - t0;
    SSL_CTX_free(g_ctx);
    printf("handshakes=%ld seconds=%.3f per_s=%.1f\n", atomic_load(&g_done), dt,
           dt > 0 ? (double)atomic_load(&g_done) / dt : 0.0);
    if (started == 0 || atomic_load(&g_failed) || atomic_load(&g_done) != g_o.count) {
        fprintf(stderr, "skr-tls-handshakes: %ld of %ld handshakes succeeded\n",
                atomic_load(&g_done), g_o.count);
        return 1;
    }
    return 0;
}
