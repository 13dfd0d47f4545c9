/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MAA token verification online (AZURE-SKR.md §d.5): the configured MAA endpoint is the only
 * issuer accepted; its OpenID metadata names jwks_uri, whose keys are cached per issuer in the
 * HTTP client for an hour (an unknown kid forces one refetch: key rotation).
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kr_akv.h"
#include "kr_http.h"
#include "kr_http_int.h"
#include "kr_jose.h"
#include "u_log.h"
#include "u_macros.h"

#define JWKS_TTL_S  3600
#define CACHE_SLOTS 4

struct jwks_entry {
    char *issuer;
    json_t *jwks;
    time_t fetched;
};

struct jwks_cache {
    struct jwks_entry e[CACHE_SLOTS];
};

static void cache_free(void *p)
{
    struct jwks_cache *c = p;
    if (c == NULL)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        free(c->e[i].issuer);
        json_decref(c->e[i].jwks);
    }
    free(c);
}

static json_t *cache_get(struct kr_http *h, const char *issuer, time_t now)
{
    struct jwks_cache *c = kr_http_cache_lock(h, cache_free);
    json_t *r = NULL;
    for (size_t i = 0; c != NULL && i < CACHE_SLOTS; i++)
        if (c->e[i].issuer != NULL && kr_issuer_equal(c->e[i].issuer, issuer) &&
            now - c->e[i].fetched < JWKS_TTL_S)
            r = json_incref(c->e[i].jwks);
    kr_http_cache_unlock(h, c);
    return r;
}

static void cache_put(struct kr_http *h, const char *issuer, json_t *jwks, time_t now)
{
    struct jwks_cache *c = kr_http_cache_lock(h, cache_free);
    if (c == NULL)
        c = calloc(1, sizeof(*c));
    char *dup = strdup(issuer);
    if (c != NULL && dup != NULL) {
        size_t slot = 0;
        for (size_t i = 0; i < CACHE_SLOTS; i++) {
            if (c->e[i].issuer != NULL && kr_issuer_equal(c->e[i].issuer, issuer)) {
                slot = i;
                break;
            }
            if (c->e[i].fetched < c->e[slot].fetched)
                slot = i;
        }
        free(c->e[slot].issuer);
        json_decref(c->e[slot].jwks);
        c->e[slot] = (struct jwks_entry){.issuer = dup, .jwks = json_incref(jwks), .fetched = now};
        dup = NULL;
    }
    free(dup);
    kr_http_cache_unlock(h, c);
}

static enum kr_err get_json(struct kr_http *h, const char *url, json_t **out)
{
    static const char *const hdrs[] = {"Accept: application/json", NULL};
    struct kr_http_req req = {
            .stage = KR_STAGE_TOKEN_VERIFY, .method = "GET", .url = url, .headers = hdrs};
    struct kr_http_resp resp = {0};
    enum kr_err err = kr_http_request(h, &req, &resp);
    if (err == KR_OK) {
        *out = json_loadb(resp.body, resp.body_len, 0, NULL);
        if (!json_is_object(*out)) {
            json_decref(*out);
            *out = NULL;
            err = KR_ERR_PARSE;
            U_LOG_ERR("kr", "token-verify: %s: response is not a JSON object", url);
        }
    }
    kr_http_resp_cleanup(&resp);
    return err;
}

/* jwks_uri must stay on the issuer's host (a document cannot send us elsewhere). */
static bool same_origin(const char *issuer, const char *uri)
{
    char *a = kr_url_host(issuer), *b = kr_url_host(uri);
    bool ok = a != NULL && b != NULL && strcasecmp(a, b) == 0 &&
              strncmp(issuer, uri, (size_t)(strstr(issuer, "://") - issuer)) == 0;
    free(a);
    free(b);
    return ok;
}

static enum kr_err fetch_jwks(struct kr_http *h, const char *issuer, json_t **out)
{
    json_t *meta = NULL;
    char *url = NULL;
    size_t il = strlen(issuer);
    while (il > 0 && issuer[il - 1] == '/')
        il--;
    if (asprintf(&url, "%.*s/.well-known/openid-configuration", (int)il, issuer) < 0)
        return KR_ERR_NOMEM;
    enum kr_err err = get_json(h, url, &meta);
    if (err != KR_OK)
        goto out;
    const char *jwks_uri = json_string_value(json_object_get(meta, "jwks_uri"));
    if (jwks_uri == NULL || strstr(issuer, "://") == NULL || !same_origin(issuer, jwks_uri)) {
        U_LOG_ERR("kr", "token-verify: %s: jwks_uri missing or not on the issuer's host", url);
        err = KR_ERR_VERIFY;
        goto out;
    }
    err = get_json(h, jwks_uri, out);
out:
    free(url);
    json_decref(meta);
    return err;
}

static enum kr_err get_jwks(struct kr_http *h, const char *issuer, const char *kid, time_t now,
                            json_t **out)
{
    json_t *jwks = cache_get(h, issuer, time(NULL));
    EVP_PKEY *k = NULL;
    if (jwks != NULL && kr_jwks_find(jwks, kid, &k) == KR_OK) {
        EVP_PKEY_free(k);
        *out = jwks;
        return KR_OK;
    }
    json_decref(jwks);
    enum kr_err err = fetch_jwks(h, issuer, &jwks);
    if (err != KR_OK)
        return err;
    cache_put(h, issuer, jwks, time(NULL));
    (void)now;
    *out = jwks;
    return KR_OK;
}

static const char *verify_reason(enum kr_err err)
{
    return err == KR_ERR_VERIFY ? "signature, kid or time check failed" : kr_err_str(err);
}

enum kr_err kr_jwt_verify_maa(struct kr_http *http, const char *maa_endpoint, const char *jwt,
                              time_t now, json_t **claims_out)
{
    if (http == NULL || maa_endpoint == NULL || jwt == NULL)
        return KR_ERR_INVALID;
    struct kr_jws *j = NULL;
    json_t *jwks = NULL;
    enum kr_err err = kr_jws_parse(jwt, (size_t)-1, &j);
    if (err != KR_OK || j->payload == NULL) {
        U_LOG_ERR("kr", "token-verify: MAA token is not a compact JWT");
        err = KR_ERR_PARSE;
        goto out;
    }
    const char *iss = json_string_value(json_object_get(j->payload, "iss"));
    if (!kr_jws_alg_allowed(j->alg) || !kr_issuer_equal(iss, maa_endpoint)) {
        U_LOG_ERR("kr", "token-verify: refused: alg %s, issuer %s (expected %s)", j->alg,
                  iss != NULL ? iss : "-", maa_endpoint);
        err = KR_ERR_VERIFY;
        goto out;
    }
    /* Keys come from the configured endpoint, never from a URL inside the token (jku). */
    err = get_jwks(http, maa_endpoint, j->kid, now, &jwks);
    if (err != KR_OK)
        goto out;
    err = kr_jwt_verify_jwks(jwt, jwks, maa_endpoint, now, claims_out);
    if (err != KR_OK)
        U_LOG_ERR("kr", "token-verify: MAA token from %s (kid %s) refused: %s", maa_endpoint,
                  j->kid != NULL ? j->kid : "-", verify_reason(err));
out:
    json_decref(jwks);
    kr_jws_free(j);
    return err;
}
