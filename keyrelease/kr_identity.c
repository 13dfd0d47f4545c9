/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens (AZURE-SKR.md §d.1, §d.2): IMDS managed identity, Entra client credentials with
 * a secret, a certificate (client assertion JWT) or a federated token (AKS workload identity).
 * The token text is extracted from the secure response buffer without jansson, so it only
 * ever exists in the secure heap (and, unavoidably, inside libcurl's transfer buffers).
 */
#define _GNU_SOURCE
#include "kr_identity.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "kr_akv.h"
#include "kr_http.h"
#include "kr_jose.h"
#include "u_log.h"
#include "u_macros.h"

#define SLOTS          4
#define REFRESH_MARGIN 300 /* seconds before expiry a cached token is replaced */
#define DEF_AUTHORITY  "https://login.microsoftonline.com"
#define DEF_IMDS       "http://169.254.169.254"
#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

struct slot {
    char *resource;
    struct u_secbuf *token;
    time_t expires;
};

struct kr_identity {
    const struct cfg *cfg;
    struct kr_http *http;
    pthread_mutex_t mu;
    struct slot slots[SLOTS];
};

enum kr_err kr_identity_new(const struct cfg *cfg, struct kr_http *http, struct kr_identity **out)
{
    struct kr_identity *id = calloc(1, sizeof(*id));
    if (id == NULL)
        return KR_ERR_NOMEM;
    id->cfg = cfg;
    id->http = http;
    pthread_mutex_init(&id->mu, NULL);
    *out = id;
    return KR_OK;
}

void kr_identity_free(struct kr_identity *id)
{
    if (id == NULL)
        return;
    for (size_t i = 0; i < SLOTS; i++) {
        free(id->slots[i].resource);
        u_secbuf_free(id->slots[i].token);
    }
    pthread_mutex_destroy(&id->mu);
    free(id);
}

char *kr_identity_resource_for(const struct cfg *cfg, const char *vault_url)
{
    if (cfg != NULL && cfg->identity.resource != NULL)
        return strdup(cfg->identity.resource);
    char *host = kr_url_host(vault_url);
    bool mhsm = host != NULL && strstr(host, ".managedhsm.") != NULL;
    free(host);
    return strdup(mhsm ? "https://managedhsm.azure.net" : "https://vault.azure.net");
}

/* ---- response parsing --------------------------------------------------------------------- */

/* Find "access_token":"<value>" in the secure body; token values never contain escapes. */
static enum kr_err extract_token(struct u_secbuf *body, struct u_secbuf **tok, size_t *off,
                                 size_t *len)
{
    char *s = (char *)body->data;
    char *k = strstr(s, "\"access_token\"");
    if (k == NULL)
        return KR_ERR_PARSE;
    char *p = k + strlen("\"access_token\"");
    p += strspn(p, " \t\r\n");
    if (*p++ != ':')
        return KR_ERR_PARSE;
    p += strspn(p, " \t\r\n");
    if (*p++ != '"')
        return KR_ERR_PARSE;
    size_t n = strcspn(p, "\"\\");
    if (p[n] != '"' || n == 0)
        return KR_ERR_PARSE;
    *tok = u_secbuf_new(n + 1);
    if (*tok == NULL)
        return KR_ERR_NOMEM;
    memcpy((*tok)->data, p, n);
    (*tok)->data[n] = 0;
    (*tok)->len = n;
    *off = (size_t)(p - s);
    *len = n;
    return KR_OK;
}

static long long json_num_or_str(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return -1;
}

/* Expiry from expires_on (absolute) or expires_in (relative), parsed from a copy in which the
 * token has been blanked out, so jansson never sees it. */
static enum kr_err parse_token_response(struct u_secbuf *body, struct u_secbuf **tok,
                                        time_t *expires)
{
    size_t off = 0, len = 0;
    enum kr_err err = extract_token(body, tok, &off, &len);
    if (err != KR_OK)
        return err;
    memset(body->data + off, 'x', len);
    json_t *j = json_loadb((const char *)body->data, body->len, 0, NULL);
    long long on = json_num_or_str(json_object_get(j, "expires_on"));
    long long in = json_num_or_str(json_object_get(j, "expires_in"));
    json_decref(j);
    time_t now = time(NULL);
    *expires = on > now ? (time_t)on : now + (in > 0 ? (time_t)in : 600);
    return KR_OK;
}

/* ---- requests ----------------------------------------------------------------------------- */

static enum kr_err run_token_request(struct kr_identity *id, struct kr_http_req *req,
                                     struct u_secbuf **tok, time_t *expires)
{
    struct kr_http_resp resp = {0};
    req->stage = KR_STAGE_IDENTITY;
    req->secret_body = true;
    enum kr_err err = kr_http_request(id->http, req, &resp);
    if (err == KR_OK) {
        err = resp.sbody != NULL ? parse_token_response(resp.sbody, tok, expires) : KR_ERR_PARSE;
        if (err != KR_OK)
            U_LOG_ERR("kr", "identity: token response without access_token (x-ms-request-id %s)",
                      resp.request_id[0] ? resp.request_id : "-");
    } else if (err == KR_ERR_HTTP && resp.status >= 400 && resp.status < 500) {
        err = KR_ERR_AUTH;
    }
    kr_http_resp_cleanup(&resp);
    return err;
}

static enum kr_err imds_token(struct kr_identity *id, const char *resource, struct u_secbuf **tok,
                              time_t *expires)
{
    const struct cfg_identity *ci = &id->cfg->identity;
    const char *imds = id->cfg->att.imds_endpoint ? id->cfg->att.imds_endpoint : DEF_IMDS;
    const char *sel = NULL, *val = NULL;
    if (ci->client_id != NULL) /* priority client_id > object_id > msi_res_id (§d.1) */
        sel = "client_id", val = ci->client_id;
    else if (ci->object_id != NULL)
        sel = "object_id", val = ci->object_id;
    else if (ci->msi_res_id != NULL)
        sel = "msi_res_id", val = ci->msi_res_id;
    char *er = kr_http_escape(resource), *ev = val ? kr_http_escape(val) : NULL, *url = NULL;
    size_t il = strlen(imds);
    while (il > 0 && imds[il - 1] == '/')
        il--;
    enum kr_err err = KR_ERR_NOMEM;
    if (er == NULL || (val != NULL && ev == NULL) ||
        asprintf(&url,
                 "%.*s/metadata/identity/oauth2/token?api-version=2018-02-01&resource=%s%s%s%s",
                 (int)il, imds, er, sel ? "&" : "", sel ? sel : "", sel ? "=" : "") < 0)
        goto out;
    if (ev != NULL) {
        char *u2 = NULL;
        if (asprintf(&u2, "%s%s", url, ev) < 0)
            goto out;
        free(url);
        url = u2;
    }
    static const char *const hdrs[] = {"Metadata: true", "Accept: application/json", NULL};
    struct kr_http_req req = {.method = "GET", .url = url, .headers = hdrs, .no_proxy = true};
    err = run_token_request(id, &req, tok, expires);
out:
    free(er);
    free(ev);
    free(url);
    return err;
}

static enum kr_err read_file_secret(const char *path, struct u_secbuf **out)
{
    FILE *f = path != NULL ? fopen(path, "rb") : NULL;
    if (f == NULL) {
        U_LOG_ERR("kr", "identity: cannot read %s", path != NULL ? path : "(no file configured)");
        return KR_ERR_CONFIG;
    }
    struct u_secbuf *b = u_secbuf_new(16384);
    enum kr_err err = KR_ERR_NOMEM;
    if (b != NULL) {
        size_t n = fread(b->data, 1, b->len - 1, f);
        while (n > 0 && (b->data[n - 1] == '\n' || b->data[n - 1] == '\r' || b->data[n - 1] == ' '))
            n--;
        b->data[n] = 0;
        b->len = n;
        err = n > 0 ? KR_OK : KR_ERR_CONFIG;
    }
    fclose(f);
    if (err != KR_OK)
        u_secbuf_free(b);
    else
        *out = b;
    return err;
}

static char *token_endpoint(const struct cfg_identity *ci)
{
    const char *auth = ci->authority_host ? ci->authority_host : DEF_AUTHORITY;
    size_t al = strlen(auth);
    while (al > 0 && auth[al - 1] == '/')
        al--;
    char *url = NULL;
    if (asprintf(&url, "%.*s/%s/oauth2/v2.0/token", (int)al, auth, ci->tenant_id) < 0)
        return NULL;
    return url;
}

/* Sign "<b64 hdr>.<b64 payload>" with RS256; result in a secure buffer. */
static enum kr_err sign_assertion(EVP_PKEY *key, const char *hdr, const char *payload,
                                  struct u_secbuf **out)
{
    char *h = kr_b64url_encode((const unsigned char *)hdr, strlen(hdr));
    char *p = kr_b64url_encode((const unsigned char *)payload, strlen(payload));
    char *in = NULL, *s = NULL;
    unsigned char sig[1024];
    size_t slen = sizeof(sig);
    enum kr_err err = KR_ERR_NOMEM;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (h == NULL || p == NULL || md == NULL || asprintf(&in, "%s.%s", h, p) < 0)
        goto out;
    err = KR_ERR_CONFIG;
    if (EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
        EVP_DigestSign(md, sig, &slen, (unsigned char *)in, strlen(in)) != 1)
        goto out;
    err = KR_ERR_NOMEM;
    s = kr_b64url_encode(sig, slen);
    if (s == NULL)
        goto out;
    *out = u_secbuf_new(strlen(in) + strlen(s) + 2);
    if (*out == NULL)
        goto out;
    (*out)->len = (size_t)snprintf((char *)(*out)->data, (*out)->len, "%s.%s", in, s);
    err = KR_OK;
out:
    ERR_clear_error();
    EVP_MD_CTX_free(md);
    free(h);
    free(p);
    free(in);
    free(s);
    return err;
}

static enum kr_err load_cert_and_key(const char *path, X509 **cert, EVP_PKEY **key)
{
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    if (f == NULL)
        return KR_ERR_CONFIG;
    *cert = PEM_read_X509(f, NULL, NULL, NULL);
    rewind(f);
    *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    ERR_clear_error();
    return *cert != NULL && *key != NULL ? KR_OK : KR_ERR_CONFIG;
}

/* Client assertion (RFC 7523) with x5t = b64url SHA-1 of the certificate, aud = endpoint. */
static enum kr_err cert_assertion(const struct cfg_identity *ci, const char *endpoint,
                                  struct u_secbuf **out)
{
    X509 *cert = NULL;
    EVP_PKEY *key = NULL;
    unsigned char sha1[SHA_DIGEST_LENGTH], jti[16];
    unsigned int n = 0;
    char *x5t = NULL, *jtis = NULL, *hdr = NULL, *pl = NULL;
    enum kr_err err = load_cert_and_key(ci->client_certificate, &cert, &key);
    if (err != KR_OK) {
        U_LOG_ERR("kr", "identity: cannot load certificate and key from %s",
                  ci->client_certificate ? ci->client_certificate : "(none)");
        goto out;
    }
    err = KR_ERR_NOMEM;
    if (X509_digest(cert, EVP_sha1(), sha1, &n) != 1 || RAND_bytes(jti, sizeof(jti)) != 1)
        goto out;
    x5t = kr_b64url_encode(sha1, n);
    jtis = kr_b64url_encode(jti, sizeof(jti));
    time_t now = time(NULL);
    if (x5t == NULL || jtis == NULL ||
        asprintf(&hdr, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t\":\"%s\"}", x5t) < 0)
        goto out;
    if (asprintf(&pl,
                 "{\"aud\":\"%s\",\"iss\":\"%s\",\"sub\":\"%s\",\"jti\":\"%s\",\"nbf\":%lld,"
                 "\"exp\":%lld}",
                 endpoint, ci->client_id, ci->client_id, jtis, (long long)now,
                 (long long)now + 600) < 0) {
        pl = NULL;
        goto out;
    }
    err = sign_assertion(key, hdr, pl, out);
out:
    X509_free(cert);
    EVP_PKEY_free(key);
    free(x5t);
    free(jtis);
    free(hdr);
    free(pl);
    return err;
}

static enum kr_err entra_token(struct kr_identity *id, const char *resource, struct u_secbuf **tok,
                               time_t *expires)
{
    const struct cfg_identity *ci = &id->cfg->identity;
    char *url = NULL, *scope = NULL;
    struct u_secbuf *cred = NULL, *form = NULL;
    bool workload = ci->type == CFG_IDENTITY_WORKLOAD;
    if (ci->tenant_id == NULL || ci->client_id == NULL) {
        U_LOG_ERR("kr", "identity: tenant-id and client-id are required for %s",
                  workload ? "workload-identity" : "service-principal");
        return KR_ERR_CONFIG;
    }
    enum kr_err err = KR_ERR_NOMEM;
    url = token_endpoint(ci);
    if (url == NULL || asprintf(&scope, "%s/.default", resource) < 0)
        goto out;
    const char *pairs[] = {"grant_type", "client_credentials",
                           "client_id",  ci->client_id,
                           "scope",      scope,
                           NULL,         NULL,
                           NULL,         NULL};
    const char *secret_name = "client_assertion";
    if (workload) {
        err = read_file_secret(ci->federated_token_file, &cred);
    } else if (ci->client_secret != NULL) {
        secret_name = "client_secret";
        err = (cred = u_secbuf_dup(ci->client_secret->data, ci->client_secret->len)) ? KR_OK
                                                                                     : KR_ERR_NOMEM;
    } else {
        err = cert_assertion(ci, url, &cred);
    }
    if (err != KR_OK)
        goto out;
    if (strcmp(secret_name, "client_assertion") == 0) {
        pairs[6] = "client_assertion_type";
        pairs[7] = ASSERTION_TYPE;
    }
    err = kr_http_form_secret(pairs, secret_name, cred, &form);
    if (err != KR_OK)
        goto out;
    static const char *const hdrs[] = {"Content-Type: application/x-www-form-urlencoded",
                                       "Accept: application/json", NULL};
    struct kr_http_req req = {.method = "POST",
                              .url = url,
                              .headers = hdrs,
                              .body = (const char *)form->data,
                              .body_len = form->len};
    err = run_token_request(id, &req, tok, expires);
out:
    u_secbuf_free(cred);
    u_secbuf_free(form);
    free(url);
    free(scope);
    return err;
}

/* ---- cache -------------------------------------------------------------------------------- */

static struct u_secbuf *cache_lookup(struct kr_identity *id, const char *resource)
{
    struct u_secbuf *r = NULL;
    time_t now = time(NULL);
    pthread_mutex_lock(&id->mu);
    for (size_t i = 0; i < SLOTS && r == NULL; i++)
        if (id->slots[i].resource != NULL && strcmp(id->slots[i].resource, resource) == 0 &&
            id->slots[i].expires - REFRESH_MARGIN > now)
            r = u_secbuf_dup(id->slots[i].token->data, id->slots[i].token->len + 1);
    pthread_mutex_unlock(&id->mu);
    if (r != NULL)
        r->len--; /* dup copied the NUL too */
    return r;
}

static void cache_store(struct kr_identity *id, const char *resource, const struct u_secbuf *tok,
                        time_t expires)
{
    struct u_secbuf *copy = u_secbuf_dup(tok->data, tok->len + 1);
    char *res = strdup(resource);
    if (copy == NULL || res == NULL) {
        u_secbuf_free(copy);
        free(res);
        return;
    }
    copy->len = tok->len;
    pthread_mutex_lock(&id->mu);
    size_t slot = 0;
    for (size_t i = 0; i < SLOTS; i++) {
        if (id->slots[i].resource == NULL || strcmp(id->slots[i].resource, resource) == 0) {
            slot = i;
            break;
        }
        if (id->slots[i].expires < id->slots[slot].expires)
            slot = i;
    }
    free(id->slots[slot].resource);
    u_secbuf_free(id->slots[slot].token);
    id->slots[slot] = (struct slot){.resource = res, .token = copy, .expires = expires};
    pthread_mutex_unlock(&id->mu);
}

enum kr_err kr_identity_token(struct kr_identity *id, const char *resource, struct u_secbuf **out)
{
    if (id == NULL || resource == NULL || out == NULL)
        return KR_ERR_INVALID;
    *out = cache_lookup(id, resource);
    if (*out != NULL)
        return KR_OK;
    struct u_secbuf *tok = NULL;
    time_t expires = 0;
    enum kr_err err = id->cfg->identity.type == CFG_IDENTITY_MANAGED
                              ? imds_token(id, resource, &tok, &expires)
                              : entra_token(id, resource, &tok, &expires);
    if (err != KR_OK)
        return err;
    cache_store(id, resource, tok, expires);
    *out = tok;
    return KR_OK;
}
