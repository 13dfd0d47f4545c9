/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Azure Key Vault / Managed HSM: URLs, GET key, GET certificate, the release request body, and
 * the classification of release refusals (AZURE-SKR.md §d.7). Release-answer verification and
 * the unwrap are in kr_unwrap.c.
 */
#define _GNU_SOURCE
#include "kr_akv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kr_http.h"
#include "kr_jose.h"
#include "u_log.h"
#include "u_macros.h"

char *kr_url_host(const char *url)
{
    const char *p = url != NULL ? strstr(url, "://") : NULL;
    if (p == NULL)
        return NULL;
    p += 3;
    size_t n = strcspn(p, ":/?#");
    const char *at = memchr(p, '@', n);
    if (at != NULL) {
        n -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    return n > 0 ? strndup(p, n) : NULL;
}

char *kr_akv_key_url(const char *vault, const char *name, const char *version)
{
    size_t vl = strlen(vault);
    while (vl > 0 && vault[vl - 1] == '/')
        vl--;
    char *en = kr_http_escape(name);
    char *ev = version != NULL && version[0] != 0 ? kr_http_escape(version) : NULL;
    char *url = NULL;
    if (en != NULL && (version == NULL || version[0] == 0 || ev != NULL) &&
        asprintf(&url, "%.*s/keys/%s%s%s", (int)vl, vault, en, ev != NULL ? "/" : "",
                 ev != NULL ? ev : "") < 0)
        url = NULL;
    free(en);
    free(ev);
    return url;
}

char *kr_akv_release_url(const char *key_url)
{
    char *url = NULL;
    if (asprintf(&url, "%s/release?api-version=%s", key_url, KR_AKV_API_VERSION) < 0)
        return NULL;
    return url;
}

void kr_akv_key_free(struct kr_akv_key *k)
{
    if (k == NULL)
        return;
    free(k->kid);
    free(k->spki);
    free(k);
}

static enum kr_err kind_of(const char *kty, enum kr_key_kind *kind)
{
    if (kty == NULL)
        return KR_ERR_PARSE;
    if (strcmp(kty, "RSA") == 0 || strcmp(kty, "RSA-HSM") == 0)
        *kind = KR_KEY_RSA;
    else if (strcmp(kty, "EC") == 0 || strcmp(kty, "EC-HSM") == 0)
        *kind = KR_KEY_EC;
    else if (strcmp(kty, "oct") == 0 || strcmp(kty, "oct-HSM") == 0)
        *kind = KR_KEY_OCT;
    else
        return KR_ERR_UNSUPPORTED;
    return KR_OK;
}

enum kr_err kr_akv_parse_key(const char *body, size_t len, struct kr_akv_key **out)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *key = json_object_get(j, "key");
    json_t *attrs = json_object_get(j, "attributes");
    enum kr_err err = KR_ERR_NOMEM;
    struct kr_akv_key *k = calloc(1, sizeof(*k));
    if (k == NULL)
        goto out;
    err = KR_ERR_PARSE;
    if (!json_is_object(key) || json_string_value(json_object_get(key, "kid")) == NULL)
        goto out;
    err = kind_of(json_string_value(json_object_get(key, "kty")), &k->kind);
    if (err != KR_OK)
        goto out;
    if (k->kind != KR_KEY_OCT) {
        err = kr_jwk_to_spki(key, &k->spki, &k->spki_len);
        if (err != KR_OK)
            goto out;
    }
    k->kid = strdup(json_string_value(json_object_get(key, "kid")));
    k->exportable = json_is_true(json_object_get(attrs, "exportable"));
    k->has_policy = json_is_object(json_object_get(j, "release_policy"));
    err = k->kid != NULL ? KR_OK : KR_ERR_NOMEM;
    if (err == KR_OK) {
        *out = k;
        k = NULL;
    }
out:
    kr_akv_key_free(k);
    json_decref(j);
    return err;
}

static char *with_api(const char *url)
{
    char *u = NULL;
    if (asprintf(&u, "%s%sapi-version=%s", url, strchr(url, '?') ? "&" : "?", KR_AKV_API_VERSION) <
        0)
        return NULL;
    return u;
}

static const char *const json_hdrs[] = {"Accept: application/json", NULL};

enum kr_err kr_akv_get_key(struct kr_http *http, const char *key_url, const struct u_secbuf *bearer,
                           struct kr_akv_key **out)
{
    char *url = with_api(key_url);
    if (url == NULL)
        return KR_ERR_NOMEM;
    struct kr_http_req req = {.stage = KR_STAGE_METADATA,
                              .method = "GET",
                              .url = url,
                              .headers = json_hdrs,
                              .bearer = bearer};
    struct kr_http_resp resp = {0};
    enum kr_err err = kr_http_request(http, &req, &resp);
    if (err == KR_OK) {
        err = kr_akv_parse_key(resp.body, resp.body_len, out);
        if (err != KR_OK)
            U_LOG_ERR("kr", "metadata: %s: %s (x-ms-request-id %s)", key_url, kr_err_str(err),
                      resp.request_id[0] ? resp.request_id : "-");
    }
    kr_http_resp_cleanup(&resp);
    free(url);
    return err;
}

enum kr_err kr_akv_parse_cert(const char *body, size_t len, unsigned char **der, size_t *der_len,
                              char **key_kid)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *cer = json_string_value(json_object_get(j, "cer"));
    const char *kid = json_string_value(json_object_get(j, "kid"));
    enum kr_err err = cer != NULL ? kr_b64_decode(cer, (size_t)-1, der, der_len) : KR_ERR_PARSE;
    if (err == KR_OK && key_kid != NULL) {
        *key_kid = kid != NULL ? strdup(kid) : NULL;
        if (kid != NULL && *key_kid == NULL) {
            free(*der);
            *der = NULL;
            err = KR_ERR_NOMEM;
        }
    }
    json_decref(j);
    return err;
}

char *kr_akv_cert_url(const char *vault, const char *name)
{
    char *url = NULL, *en = kr_http_escape(name);
    size_t vl = strlen(vault);
    while (vl > 0 && vault[vl - 1] == '/')
        vl--;
    if (en == NULL || asprintf(&url, "%.*s/certificates/%s?api-version=%s", (int)vl, vault, en,
                               KR_AKV_API_VERSION) < 0)
        url = NULL;
    free(en);
    return url;
}

enum kr_err kr_akv_get_cert(struct kr_http *http, const char *vault, const char *name,
                            const struct u_secbuf *bearer, unsigned char **der, size_t *der_len,
                            char **key_kid)
{
    char *url = kr_akv_cert_url(vault, name);
    if (url == NULL)
        return KR_ERR_NOMEM;
    struct kr_http_req req = {.stage = KR_STAGE_METADATA,
                              .method = "GET",
                              .url = url,
                              .headers = json_hdrs,
                              .bearer = bearer};
    struct kr_http_resp resp = {0};
    enum kr_err err = kr_http_request(http, &req, &resp);
    if (err == KR_OK) {
        err = kr_akv_parse_cert(resp.body, resp.body_len, der, der_len, key_kid);
        if (err != KR_OK)
            U_LOG_ERR("kr", "metadata: certificate %s: %s (x-ms-request-id %s)", name,
                      kr_err_str(err), resp.request_id[0] ? resp.request_id : "-");
    }
    kr_http_resp_cleanup(&resp);
    free(url);
    return err;
}

enum kr_err kr_akv_release_body(const char *maa_jwt, const char *enc, const char *nonce, char **out)
{
    json_t *j = json_pack("{s:s, s:s}", "target", maa_jwt, "enc",
                          enc != NULL ? enc : KR_AKV_DEFAULT_ENC);
    if (j == NULL)
        return KR_ERR_NOMEM;
    if (nonce != NULL && json_object_set_new(j, "nonce", json_string(nonce)) != 0) {
        json_decref(j);
        return KR_ERR_NOMEM;
    }
    *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return *out != NULL ? KR_OK : KR_ERR_NOMEM;
}

static bool contains_ci(const char *hay, const char *needle)
{
    return hay != NULL && strcasestr(hay, needle) != NULL;
}

enum kr_err kr_akv_classify_error(long status, const char *code, const char *msg,
                                  enum kr_err fallback)
{
    if (contains_ci(msg, "exportable") || contains_ci(code, "exportable"))
        return KR_ERR_NOT_EXPORTABLE;
    /* "... does not have keys release permission ..." (access policy or RBAC), before the
     * policy test: such messages may mention an "access policy". */
    if (status == 403 && (contains_ci(msg, "permission") || contains_ci(msg, "not authorized")))
        return KR_ERR_FORBIDDEN;
    if (contains_ci(msg, "policy") || contains_ci(code, "policy") ||
        contains_ci(msg, "attestation") || contains_ci(code, "attestation"))
        return KR_ERR_POLICY;
    if (status == 401)
        return KR_ERR_AUTH;
    if (status == 403)
        return KR_ERR_FORBIDDEN;
    if (status == 404)
        return KR_ERR_NOT_FOUND;
    return fallback;
}
