/* SPDX-License-Identifier: Apache-2.0 */
/* keyrelease-internal parts of kr_http: the per-client cache slot used by kr_oidc.c (JWKS by
 * issuer). Not for module/ or tools/. */
#ifndef SKR_KEYRELEASE_KR_HTTP_INT_H
#define SKR_KEYRELEASE_KR_HTTP_INT_H

struct kr_http;

/** Lock the client's cache slot and return its current value (NULL at first). `free_fn`
 *  frees whatever is stored there when the client is freed. Pair with kr_http_cache_unlock,
 *  which stores the (possibly new) value and unlocks. No network I/O between the two. */
void *kr_http_cache_lock(struct kr_http *h, void (*free_fn)(void *));
void kr_http_cache_unlock(struct kr_http *h, void *cache);

#ifdef SKR_UNIT_TEST
#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

struct kr_http_resp;
/* Test-visible internals of kr_http.c (U_STATIC). */
long long kr_http_backoff_ms(long base_ms, unsigned attempt, long retry_after_ms, unsigned rnd);
bool kr_http_retryable(CURLcode cc, long status);
void kr_http_parse_error(const char *body, size_t len, struct kr_http_resp *resp);
#endif

#endif /* SKR_KEYRELEASE_KR_HTTP_INT_H */
