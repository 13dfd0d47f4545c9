/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Secret buffers: PINs, released key material, bearer tokens. Allocated from the OpenSSL secure
 * heap (mlocked, MADV_DONTDUMP), which is started here only if nobody in the process started it;
 * otherwise malloc + mlock + MADV_DONTDUMP, with a warning. Always wiped on free.
 */
#ifndef SKR_COMMON_U_SECMEM_H
#define SKR_COMMON_U_SECMEM_H

#include <stdbool.h>
#include <stddef.h>

struct u_secbuf {
    unsigned char *data;
    size_t len;
    bool secure_heap; /* from CRYPTO_secure_malloc, else malloc+mlock */
};

/** Start the secure heap if no one has (idempotent, thread-safe). Returns true when secure
 *  allocations are available (ours or the application's). */
bool u_secmem_init(void);

/** Allocate a zeroed secret buffer of `len` bytes (len 0 allowed). NULL on OOM. */
struct u_secbuf *u_secbuf_new(size_t len);

/** New secret buffer holding a copy of `p[0..len)`. NULL on OOM. */
struct u_secbuf *u_secbuf_dup(const void *p, size_t len);

/** Wipe and free; NULL-safe. */
void u_secbuf_free(struct u_secbuf *b);

/** Wipe `len` bytes at `p` in a way the compiler cannot elide. */
void u_memzero(void *p, size_t len);

/** Constant-time comparison of equal-length buffers; false if lengths differ. */
bool u_consttime_eq(const void *a, size_t alen, const void *b, size_t blen);

/** Wipe and free a heap string (strlen+1 bytes); NULL-safe. */
void u_strfree_secret(char *s);

#endif /* SKR_COMMON_U_SECMEM_H */
