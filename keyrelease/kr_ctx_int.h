/* SPDX-License-Identifier: Apache-2.0 */
/* keyrelease-internal: the members of struct kr_ctx (kr.c) and accessors for tools/. */
#ifndef SKR_KEYRELEASE_KR_CTX_INT_H
#define SKR_KEYRELEASE_KR_CTX_INT_H

#include <openssl/x509.h>

#include "cfg.h"

struct kr_http;
struct kr_identity;
struct kr_attester;
struct kr_x5c_cache;

struct kr_ctx {
    const struct cfg *cfg;        /* borrowed */
    struct kr_http *http;         /* owned */
    struct kr_identity *identity; /* owned */
    struct kr_attester *attester; /* owned; NULL for provider none */
    X509_STORE *trust;            /* system roots + cfg ca-file, for the release JWS x5c */
    struct kr_x5c_cache *x5c;     /* chains verified against trust (one per vault in practice) */
};

#endif /* SKR_KEYRELEASE_KR_CTX_INT_H */
