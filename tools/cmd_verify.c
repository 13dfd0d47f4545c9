/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skr-tool verify: offline checks, so anyone can check a real Azure token or release answer.
 *
 *   skr-tool verify --token FILE --jwks FILE [--oidc FILE] [--issuer URL] [--at TIME]
 *       an MAA token (compact JWT) against a JWKS ({"keys":[...]}); the OIDC discovery document
 *       (if given) pins the issuer; prints the verified claims.
 *   skr-tool verify --release FILE --roots PEM [--host HOST] [--key URL] [--at TIME]
 *       an AKV release answer ({"value":"<JWS>"} or the bare JWS): x5c chain to the roots at
 *       TIME, leaf naming HOST (default: the host of request.kid), RS256, key ids; prints the
 *       claims with key_hsm decoded (header and ciphertext length; nothing is unwrapped).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kr_akv.h"
#include "kr_jose.h"
#include "skr_tool.h"

struct opts {
    const char *token, *jwks, *oidc, *issuer, *release, *roots, *host, *key;
    time_t at;
};

static void verify_usage(FILE *f)
{
    fprintf(f, "usage: skr-tool verify --token FILE --jwks FILE [--oidc FILE] [--issuer URL] "
               "[--at TIME]\n"
               "       skr-tool verify --release FILE --roots PEM [--host HOST] [--key URL] "
               "[--at TIME]\n"
               "TIME: unix seconds or ISO 8601 UTC (2022-04-22T15:06:45Z); default now.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {{"token", required_argument, NULL, 't'},
                                       {"jwks", required_argument, NULL, 'j'},
                                       {"oidc", required_argument, NULL, 'o'},
                                       {"issuer", required_argument, NULL, 'i'},
                                       {"release", required_argument, NULL, 'r'},
                                       {"roots", required_argument, NULL, 'R'},
                                       {"host", required_argument, NULL, 'H'},
                                       {"key", required_argument, NULL, 'k'},
                                       {"at", required_argument, NULL, 'a'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof(*o));
    o->at = time(NULL);
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        const char **dst[] = {
                ['t'] = &o->token,   ['j'] = &o->jwks,  ['o'] = &o->oidc, ['i'] = &o->issuer,
                ['r'] = &o->release, ['R'] = &o->roots, ['H'] = &o->host, ['k'] = &o->key};
        if (c == 'h') {
            verify_usage(stdout);
            return TOOL_OK;
        }
        if (c == 'a') {
            if (!tool_parse_time(optarg, &o->at)) {
                fprintf(stderr, "skr-tool verify: bad time '%s'\n", optarg);
                return TOOL_USAGE;
            }
        } else if (c > 0 && (size_t)c < sizeof(dst) / sizeof(dst[0]) && dst[c] != NULL) {
            *dst[c] = optarg;
        } else {
            verify_usage(stderr);
            return TOOL_USAGE;
        }
    }
    if ((o->token == NULL) == (o->release == NULL) || (o->token != NULL && o->jwks == NULL) ||
        (o->release != NULL && o->roots == NULL)) {
        verify_usage(stderr);
        return TOOL_USAGE;
    }
    return -1;
}

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!json_is_object(j)) {
        fprintf(stderr, "skr-tool verify: %s: %s (line %d)\n", path, j ? "not an object" : e.text,
                e.line);
        json_decref(j);
        return NULL;
    }
    return j;
}

static int print_claims(json_t *claims)
{
    char *s = json_dumps(claims, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s == NULL)
        return TOOL_FAIL;
    printf("%s\n", s);
    free(s);
    return TOOL_OK;
}

static int verify_token(const struct opts *o)
{
    size_t len = 0;
    char *jwt = tool_read_file(o->token, &len);
    json_t *jwks = load_json(o->jwks), *oidc = o->oidc ? load_json(o->oidc) : NULL, *claims = NULL;
    int rc = TOOL_USAGE;
    if (jwt == NULL || jwks == NULL || (o->oidc != NULL && oidc == NULL))
        goto out;
    const char *issuer = o->issuer;
    if (issuer == NULL && oidc != NULL)
        issuer = json_string_value(json_object_get(oidc, "issuer"));
    while (len > 0 && (jwt[len - 1] == '\n' || jwt[len - 1] == '\r'))
        jwt[--len] = 0;
    enum kr_err err = kr_jwt_verify_jwks(jwt, jwks, issuer, o->at, &claims);
    if (err != KR_OK) {
        fprintf(stderr,
                "skr-tool verify: token refused: %s (alg allow-list, kid, signature, "
                "exp/nbf%s)\n",
                kr_err_str(err), issuer ? ", issuer" : "");
        rc = TOOL_FAIL;
        goto out;
    }
    fprintf(stderr, "skr-tool verify: token OK (signature, exp/nbf%s%s)\n",
            issuer ? ", issuer " : "", issuer ? issuer : "");
    rc = print_claims(claims);
out:
    json_decref(claims);
    json_decref(jwks);
    json_decref(oidc);
    free(jwt);
    return rc;
}

/* Payload with key_hsm replaced by its decoded header and ciphertext size. */
static void annotate_key_hsm(json_t *claims, const struct kr_release *rel)
{
    json_t *key =
            json_object_get(json_object_get(json_object_get(claims, "response"), "key"), "key");
    json_t *h = json_pack("{s:s?,s:s,s:I}", "kid", rel->hsm->kid, "enc", rel->hsm->enc,
                          "ciphertext_bytes", (json_int_t)rel->hsm->ciphertext_len);
    if (json_is_object(key) && h != NULL)
        json_object_set_new(key, "key_hsm_decoded", h);
    else
        json_decref(h);
}

/* Host and key URL from request.kid when not given on the command line. */
static int release_defaults(const char *body, size_t len, const struct opts *o, char **host,
                            char **key)
{
    json_t *v = json_loadb(body, len, 0, NULL);
    const char *val = json_string_value(json_object_get(v, "value"));
    struct kr_jws *j = NULL;
    int rc = TOOL_FAIL;
    if (kr_jws_parse(val ? val : body, val ? (size_t)-1 : len, &j) != KR_OK || !j->payload) {
        fprintf(stderr, "skr-tool verify: not a JWS\n");
        goto out;
    }
    const char *kid =
            json_string_value(json_object_get(json_object_get(j->payload, "request"), "kid"));
    *key = strdup(o->key ? o->key : kid ? kid : "");
    *host = o->host ? strdup(o->host) : kr_url_host(*key);
    rc = *key != NULL && *host != NULL ? TOOL_OK : TOOL_FAIL;
    if (rc != TOOL_OK)
        fprintf(stderr, "skr-tool verify: no --host/--key and no request.kid to take them from\n");
out:
    kr_jws_free(j);
    json_decref(v);
    return rc;
}

static int verify_release(const struct opts *o)
{
    size_t len = 0;
    char *body = tool_read_file(o->release, &len), *host = NULL, *key = NULL;
    X509_STORE *store = NULL;
    struct kr_release *rel = NULL;
    int rc = TOOL_USAGE;
    if (body == NULL || kr_trust_new(NULL, false, &store) != KR_OK ||
        kr_trust_add_pem_file(store, o->roots) != KR_OK)
        goto out;
    rc = release_defaults(body, len, o, &host, &key);
    if (rc != TOOL_OK)
        goto out;
    enum kr_err err = kr_akv_release_verify(body, len, store, host, key, NULL, o->at, &rel);
    if (err != KR_OK) {
        fprintf(stderr,
                "skr-tool verify: release refused: %s (x5c chain at the given time, "
                "host %s, RS256, key id %s)\n",
                kr_err_str(err), host, key);
        rc = TOOL_FAIL;
        goto out;
    }
    fprintf(stderr, "skr-tool verify: release OK (x5c chain, host %s, RS256, key %s)\n", host, key);
    annotate_key_hsm(rel->claims, rel);
    rc = print_claims(rel->claims);
out:
    kr_release_free(rel);
    X509_STORE_free(store);
    free(body);
    free(host);
    free(key);
    return rc;
}

int cmd_verify(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc >= 0)
        return rc;
    return o.token != NULL ? verify_token(&o) : verify_release(&o);
}
