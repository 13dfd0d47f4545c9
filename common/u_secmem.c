/* SPDX-License-Identifier: Apache-2.0 */
/* Secret buffers on the OpenSSL secure heap, falling back to locked, undumpable malloc. */
#define _GNU_SOURCE
#include "u_secmem.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "u_log.h"

/* 1 MiB of locked memory holds hundreds of RSA-4096 keys; minsize 32 keeps small secrets apart. */
#define SECURE_HEAP_SIZE    (1024 * 1024)
#define SECURE_HEAP_MINSIZE 32

static size_t page_round(size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (n + pg - 1) / pg * pg;
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static bool g_have_secure_heap;

static void secmem_init_once(void)
{
    if (CRYPTO_secure_malloc_initialized()) {
        g_have_secure_heap = true; /* the application's heap: use it, never tear it down */
        return;
    }
    int r = CRYPTO_secure_malloc_init(SECURE_HEAP_SIZE, SECURE_HEAP_MINSIZE);
    g_have_secure_heap = (r != 0);
    if (!g_have_secure_heap)
        U_LOG_WARN("mod", "OpenSSL secure heap unavailable (RLIMIT_MEMLOCK?); secrets use "
                          "mlock'ed malloc instead");
}

bool u_secmem_init(void)
{
    pthread_once(&g_once, secmem_init_once);
    return g_have_secure_heap;
}

struct u_secbuf *u_secbuf_new(size_t len)
{
    struct u_secbuf *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    size_t alloc = len ? len : 1;
    if (u_secmem_init()) {
        b->data = OPENSSL_secure_zalloc(alloc);
        b->secure_heap = b->data != NULL;
    }
    if (b->data == NULL) {
        /* Whole private pages, so locking and dump exclusion cover exactly this secret. */
        void *m = mmap(NULL, page_round(alloc), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (m == MAP_FAILED) {
            free(b);
            return NULL;
        }
        (void)mlock(m, page_round(alloc));
        (void)madvise(m, page_round(alloc), MADV_DONTDUMP);
        b->data = m;
    }
    b->len = len;
    return b;
}

struct u_secbuf *u_secbuf_dup(const void *p, size_t len)
{
    struct u_secbuf *b = u_secbuf_new(len);
    if (b != NULL && len > 0)
        memcpy(b->data, p, len);
    return b;
}

void u_secbuf_free(struct u_secbuf *b)
{
    if (b == NULL)
        return;
    size_t alloc = b->len ? b->len : 1;
    if (b->secure_heap) {
        OPENSSL_secure_clear_free(b->data, alloc);
    } else {
        OPENSSL_cleanse(b->data, alloc);
        (void)munlock(b->data, page_round(alloc));
        (void)munmap(b->data, page_round(alloc));
    }
    free(b);
}

void u_memzero(void *p, size_t len)
{
    if (p != NULL && len > 0)
        OPENSSL_cleanse(p, len);
}

bool u_consttime_eq(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    if (alen == 0)
        return true;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

void u_strfree_secret(char *s)
{
    if (s == NULL)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}
