/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JOSE: base64/base64url, compact JWS parsing and verification, JWK → EVP_PKEY/SPKI, JWKS
 * lookup, x5c chains, exp/nbf. Online MAA verification (OIDC metadata) is in kr_oidc.c.
 */
#define _GNU_SOURCE
#include "kr_jose.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "u_log.h"
#include "u_macros.h"
#include "u_secmem.h"

/* ---- base64 ------------------------------------------------------------------------------- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '+')
        return 62;
    if (c == '_' || c == '/')
        return 63;
    return -1;
}

enum kr_err kr_b64_decode(const char *in, size_t inlen, unsigned char **out, size_t *outlen)
{
    if (in == NULL || out == NULL || outlen == NULL)
        return KR_ERR_INVALID;
    if (inlen == (size_t)-1)
        inlen = strlen(in);
    while (inlen > 0 && in[inlen - 1] == '=')
        inlen--;
    if (inlen % 4 == 1)
        return KR_ERR_PARSE;
    unsigned char *buf = malloc(inlen / 4 * 3 + 3 + 1);
    if (buf == NULL)
        return KR_ERR_NOMEM;
    size_t n = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < inlen; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0) {
            free(buf);
            return KR_ERR_PARSE;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    buf[n] = 0;
    *out = buf;
    *outlen = n;
    return KR_OK;
}

static char *b64_encode(const unsigned char *in, size_t len, const char *alpha, bool pad)
{
    char *s = malloc((len + 2) / 3 * 4 + 1);
    if (s == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t rem = len - i;
        if (rem > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (rem > 2)
            v |= in[i + 2];
        s[o++] = alpha[(v >> 18) & 63];
        s[o++] = alpha[(v >> 12) & 63];
        if (rem > 1)
            s[o++] = alpha[(v >> 6) & 63];
        else if (pad)
            s[o++] = '=';
        if (rem > 2)
            s[o++] = alpha[v & 63];
        else if (pad)
            s[o++] = '=';
    }
    s[o] = 0;
    return s;
}

char *kr_b64url_encode(const unsigned char *in, size_t len)
{
    return b64_encode(in, len, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                      false);
}

char *kr_b64std_encode(const unsigned char *in, size_t len)
{
    return b64_encode(in, len, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                      true);
}

/* ---- compact JWS -------------------------------------------------------------------------- */

void kr_jws_free(struct kr_jws *j)
{
    if (j == NULL)
        return;
    json_decref(j->header);
    json_decref(j->payload);
    free(j->payload_raw);
    free(j->signing_input);
    free(j->sig);
    free(j);
}

static void trim(const char **p, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)**p)) {
        (*p)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*p)[*len - 1]))
        (*len)--;
    if (*len >= 2 && (*p)[0] == '"' && (*p)[*len - 1] == '"') {
        (*p)++;
        *len -= 2;
    }
}

static enum kr_err jws_split(struct kr_jws *j, const char *s, size_t len)
{
    const char *d1 = memchr(s, '.', len);
    if (d1 == NULL)
        return KR_ERR_PARSE;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - s));
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - s)) != NULL)
        return KR_ERR_PARSE;
    size_t hlen = (size_t)(d1 - s), plen = (size_t)(d2 - d1 - 1);
    size_t slen = len - (size_t)(d2 + 1 - s);
    unsigned char *hdr = NULL;
    size_t hdr_len = 0;
    enum kr_err err = kr_b64_decode(s, hlen, &hdr, &hdr_len);
    if (err == KR_OK)
        err = kr_b64_decode(d1 + 1, plen, &j->payload_raw, &j->payload_len);
    if (err == KR_OK)
        err = kr_b64_decode(d2 + 1, slen, &j->sig, &j->sig_len);
    if (err == KR_OK) {
        j->header = json_loadb((const char *)hdr, hdr_len, JSON_REJECT_DUPLICATES, NULL);
        j->signing_input = strndup(s, (size_t)(d2 - s));
        j->signing_input_len = (size_t)(d2 - s);
        if (j->signing_input == NULL)
            err = KR_ERR_NOMEM;
    }
    free(hdr);
    return err;
}

enum kr_err kr_jws_parse(const char *compact, size_t len, struct kr_jws **out)
{
    if (compact == NULL || out == NULL)
        return KR_ERR_INVALID;
    if (len == (size_t)-1)
        len = strlen(compact);
    trim(&compact, &len);
    struct kr_jws *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return KR_ERR_NOMEM;
    enum kr_err err = jws_split(j, compact, len);
    if (err != KR_OK)
        goto out;
    err = KR_ERR_PARSE;
    if (!json_is_object(j->header))
        goto out;
    j->alg = json_string_value(json_object_get(j->header, "alg"));
    j->kid = json_string_value(json_object_get(j->header, "kid"));
    if (j->alg == NULL)
        goto out;
    json_t *p =
            json_loadb((const char *)j->payload_raw, j->payload_len, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(p))
        j->payload = p;
    else
        json_decref(p);
    *out = j;
    j = NULL;
    err = KR_OK;
out:
    kr_jws_free(j);
    return err;
}

struct alg_desc {
    const char *name;
    const char *md;
    int type; /* EVP_PKEY_RSA / EVP_PKEY_EC */
    bool pss;
    int ec_bits;
};

static const struct alg_desc algs[] = {
        {"RS256", "SHA256", EVP_PKEY_RSA, false, 0},  {"RS384", "SHA384", EVP_PKEY_RSA, false, 0},
        {"RS512", "SHA512", EVP_PKEY_RSA, false, 0},  {"PS256", "SHA256", EVP_PKEY_RSA, true, 0},
        {"PS384", "SHA384", EVP_PKEY_RSA, true, 0},   {"PS512", "SHA512", EVP_PKEY_RSA, true, 0},
        {"ES256", "SHA256", EVP_PKEY_EC, false, 256}, {"ES384", "SHA384", EVP_PKEY_EC, false, 384},
};

static const struct alg_desc *alg_find(const char *alg)
{
    for (size_t i = 0; alg != NULL && i < U_ARRAY_SIZE(algs); i++)
        if (strcmp(algs[i].name, alg) == 0)
            return &algs[i];
    return NULL;
}

bool kr_jws_alg_allowed(const char *alg)
{
    return alg_find(alg) != NULL;
}

/* JOSE ES signatures are r||s; OpenSSL wants DER. */
static enum kr_err ec_sig_to_der(const unsigned char *sig, size_t len, int bits,
                                 unsigned char **der, size_t *der_len)
{
    size_t half = (size_t)(bits + 7) / 8;
    if (len != 2 * half)
        return KR_ERR_VERIFY;
    enum kr_err err = KR_ERR_NOMEM;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1)
        goto out;
    r = s = NULL;
    unsigned char *p = NULL;
    int n = i2d_ECDSA_SIG(es, &p);
    if (n <= 0)
        goto out;
    *der = p;
    *der_len = (size_t)n;
    err = KR_OK;
out:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return err;
}

static bool key_fits(const struct alg_desc *a, EVP_PKEY *key)
{
    if (a->type == EVP_PKEY_RSA)
        return EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048;
    return EVP_PKEY_is_a(key, "EC") && EVP_PKEY_get_bits(key) == a->ec_bits;
}

enum kr_err kr_jws_verify(const struct kr_jws *j, EVP_PKEY *key)
{
    if (j == NULL || key == NULL)
        return KR_ERR_INVALID;
    const struct alg_desc *a = alg_find(j->alg);
    if (a == NULL || !key_fits(a, key))
        return KR_ERR_VERIFY;
    enum kr_err err = KR_ERR_VERIFY;
    unsigned char *der = NULL;
    size_t der_len = 0;
    const unsigned char *sig = j->sig;
    size_t sig_len = j->sig_len;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL)
        return KR_ERR_NOMEM;
    if (a->type == EVP_PKEY_EC) {
        err = ec_sig_to_der(j->sig, j->sig_len, a->ec_bits, &der, &der_len);
        if (err != KR_OK)
            goto out;
        err = KR_ERR_VERIFY;
        sig = der;
        sig_len = der_len;
    }
    if (EVP_DigestVerifyInit_ex(md, &pctx, a->md, NULL, NULL, key, NULL) != 1)
        goto out;
    if (a->pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        goto out;
    if (EVP_DigestVerify(md, sig, sig_len, (const unsigned char *)j->signing_input,
                         j->signing_input_len) == 1)
        err = KR_OK;
out:
    ERR_clear_error();
    free(der);
    EVP_MD_CTX_free(md);
    return err;
}

enum kr_err kr_jwt_check_time(const json_t *payload, time_t now)
{
    json_t *exp = json_object_get(payload, "exp");
    json_t *nbf = json_object_get(payload, "nbf");
    if (!json_is_number(exp))
        return KR_ERR_VERIFY;
    if ((double)now > json_number_value(exp) + KR_JWT_SKEW_S)
        return KR_ERR_VERIFY;
    if (nbf != NULL && !json_is_number(nbf))
        return KR_ERR_VERIFY;
    if (nbf != NULL && (double)now < json_number_value(nbf) - KR_JWT_SKEW_S)
        return KR_ERR_VERIFY;
    return KR_OK;
}

bool kr_issuer_equal(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return false;
    size_t la = strlen(a), lb = strlen(b);
    if (la > 0 && a[la - 1] == '/')
        la--;
    if (lb > 0 && b[lb - 1] == '/')
        lb--;
    if (la != lb)
        return false;
    /* Scheme and host are case-insensitive; the path (none for MAA) compared exactly. */
    const char *sa = strstr(a, "://");
    size_t host_end = la;
    if (sa != NULL) {
        const char *slash = memchr(sa + 3, '/', la - (size_t)(sa + 3 - a));
        if (slash != NULL)
            host_end = (size_t)(slash - a);
    }
    return strncasecmp(a, b, host_end) == 0 &&
           memcmp(a + host_end, b + host_end, la - host_end) == 0;
}

/* ---- JWK ---------------------------------------------------------------------------------- */

static enum kr_err jwk_bn(const json_t *jwk, const char *name, BIGNUM **out)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    if (s == NULL)
        return KR_ERR_PARSE;
    unsigned char *b = NULL;
    size_t n = 0;
    enum kr_err err = kr_b64_decode(s, (size_t)-1, &b, &n);
    if (err != KR_OK)
        return err;
    *out = n > 0 ? BN_bin2bn(b, (int)n, NULL) : NULL;
    free(b);
    return *out != NULL ? KR_OK : KR_ERR_PARSE;
}

/*
 * `type` is the key type's OID, not "RSA"/"EC": a short name maps to a NID, and for a NID
 * OpenSSL 3 prefers a registered ENGINE's pkey method. libcurl's init runs
 * ENGINE_register_all_complete(), so in a process whose OpenSSL config loads libp11's engine
 * (nginx, openssl) a ctx made from "RSA" is a legacy one and EVP_PKEY_fromdata_init fails. An
 * OID has no such mapping and always reaches the provider's keymgmt.
 */
static enum kr_err pkey_from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
    enum kr_err err = KR_ERR_PARSE;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL) {
        err = KR_ERR_NOMEM;
        goto out;
    }
    if (EVP_PKEY_fromdata_init(ctx) == 1 &&
        EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1)
        err = KR_OK;
out:
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return err;
}

static enum kr_err jwk_rsa(const json_t *jwk, EVP_PKEY **out)
{
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    enum kr_err err = jwk_bn(jwk, "n", &n);
    if (err == KR_OK)
        err = jwk_bn(jwk, "e", &e);
    if (err != KR_OK)
        goto out;
    err = KR_ERR_NOMEM;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
        goto out;
    err = pkey_from_params("1.2.840.113549.1.1.1", bld, out);
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return err;
}

static const char *ec_group(const char *crv, size_t *coord_len)
{
    static const struct {
        const char *crv, *group;
        size_t len;
    } curves[] = {
            {"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}, {"P-521", "secp521r1", 66}};
    for (size_t i = 0; crv != NULL && i < U_ARRAY_SIZE(curves); i++) {
        if (strcmp(crv, curves[i].crv) == 0) {
            *coord_len = curves[i].len;
            return curves[i].group;
        }
    }
    return NULL;
}

static enum kr_err jwk_coord(const json_t *jwk, const char *name, size_t clen, unsigned char *dst)
{
    unsigned char *b = NULL;
    size_t n = 0;
    const char *s = json_string_value(json_object_get(jwk, name));
    if (s == NULL)
        return KR_ERR_PARSE;
    enum kr_err err = kr_b64_decode(s, (size_t)-1, &b, &n);
    if (err != KR_OK)
        return err;
    /* Left-pad short coordinates (some encoders drop leading zero bytes). */
    if (n > clen) {
        free(b);
        return KR_ERR_PARSE;
    }
    memset(dst, 0, clen - n);
    memcpy(dst + clen - n, b, n);
    free(b);
    return KR_OK;
}

static enum kr_err jwk_ec(const json_t *jwk, EVP_PKEY **out)
{
    size_t clen = 0;
    const char *group = ec_group(json_string_value(json_object_get(jwk, "crv")), &clen);
    if (group == NULL)
        return KR_ERR_UNSUPPORTED;
    unsigned char pt[1 + 2 * 66];
    pt[0] = 0x04;
    enum kr_err err = jwk_coord(jwk, "x", clen, pt + 1);
    if (err == KR_OK)
        err = jwk_coord(jwk, "y", clen, pt + 1 + clen);
    if (err != KR_OK)
        return err;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + 2 * clen) != 1) {
        OSSL_PARAM_BLD_free(bld);
        return KR_ERR_NOMEM;
    }
    err = pkey_from_params("1.2.840.10045.2.1", bld, out);
    OSSL_PARAM_BLD_free(bld);
    return err;
}

static X509 *x509_from_b64(const char *b64)
{
    unsigned char *der = NULL;
    size_t len = 0;
    if (b64 == NULL || kr_b64_decode(b64, (size_t)-1, &der, &len) != KR_OK)
        return NULL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    free(der);
    ERR_clear_error();
    return x;
}

static enum kr_err jwk_x5c(const json_t *jwk, EVP_PKEY **out)
{
    X509 *x = x509_from_b64(json_string_value(json_array_get(json_object_get(jwk, "x5c"), 0)));
    if (x == NULL)
        return KR_ERR_PARSE;
    *out = X509_get_pubkey(x);
    X509_free(x);
    return *out != NULL ? KR_OK : KR_ERR_PARSE;
}

enum kr_err kr_jwk_to_pkey(const json_t *jwk, EVP_PKEY **out)
{
    if (!json_is_object(jwk) || out == NULL)
        return KR_ERR_PARSE;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    *out = NULL;
    if (kty != NULL && (strcmp(kty, "RSA") == 0 || strcmp(kty, "RSA-HSM") == 0) &&
        json_object_get(jwk, "n") != NULL)
        return jwk_rsa(jwk, out);
    if (kty != NULL && (strcmp(kty, "EC") == 0 || strcmp(kty, "EC-HSM") == 0))
        return jwk_ec(jwk, out);
    if (json_is_array(json_object_get(jwk, "x5c")))
        return jwk_x5c(jwk, out);
    return kty == NULL ? KR_ERR_PARSE : KR_ERR_UNSUPPORTED;
}

enum kr_err kr_pkey_to_spki(EVP_PKEY *key, unsigned char **der, size_t *len)
{
    unsigned char *p = NULL;
    int n = i2d_PUBKEY(key, &p);
    if (n <= 0) {
        ERR_clear_error();
        return KR_ERR_INTERNAL;
    }
    *der = p;
    *len = (size_t)n;
    return KR_OK;
}

enum kr_err kr_jwk_to_spki(const json_t *jwk, unsigned char **der, size_t *len)
{
    EVP_PKEY *k = NULL;
    enum kr_err err = kr_jwk_to_pkey(jwk, &k);
    if (err == KR_OK)
        err = kr_pkey_to_spki(k, der, len);
    EVP_PKEY_free(k);
    return err;
}

enum kr_err kr_jwks_find(const json_t *jwks, const char *kid, EVP_PKEY **out)
{
    json_t *keys = json_object_get(jwks, "keys");
    if (!json_is_array(keys))
        return KR_ERR_PARSE;
    if (kid == NULL)
        return json_array_size(keys) == 1 ? kr_jwk_to_pkey(json_array_get(keys, 0), out)
                                          : KR_ERR_VERIFY;
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        const char *kk = json_string_value(json_object_get(k, "kid"));
        if (kk != NULL && strcmp(kk, kid) == 0)
            return kr_jwk_to_pkey(k, out);
    }
    return KR_ERR_VERIFY;
}

/* ---- X.509 -------------------------------------------------------------------------------- */

enum kr_err kr_trust_add_pem_file(X509_STORE *store, const char *path)
{
    if (X509_STORE_load_file(store, path) != 1) {
        ERR_clear_error();
        U_LOG_ERR("kr", "cannot load CA file %s", path);
        return KR_ERR_CONFIG;
    }
    return KR_OK;
}

enum kr_err kr_trust_new(const char *ca_file, bool system_roots, X509_STORE **out)
{
    X509_STORE *s = X509_STORE_new();
    if (s == NULL)
        return KR_ERR_NOMEM;
    if (system_roots && X509_STORE_set_default_paths(s) != 1)
        ERR_clear_error(); /* no system store is not fatal: ca-file may be enough */
    if (ca_file != NULL && kr_trust_add_pem_file(s, ca_file) != KR_OK) {
        X509_STORE_free(s);
        return KR_ERR_CONFIG;
    }
    *out = s;
    return KR_OK;
}

enum kr_err kr_trust_add_der(X509_STORE *store, const unsigned char *der, size_t len)
{
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    enum kr_err err = (x != NULL && X509_STORE_add_cert(store, x) == 1) ? KR_OK : KR_ERR_PARSE;
    X509_free(x);
    ERR_clear_error();
    return err;
}

static STACK_OF(X509) * x5c_stack(const json_t *x5c)
{
    STACK_OF(X509) *sk = sk_X509_new_null();
    size_t i;
    json_t *v;
    if (sk == NULL || !json_is_array(x5c) || json_array_size(x5c) == 0 || json_array_size(x5c) > 10)
        goto fail;
    json_array_foreach(x5c, i, v)
    {
        X509 *x = x509_from_b64(json_string_value(v));
        if (x == NULL || sk_X509_push(sk, x) <= 0) {
            X509_free(x);
            goto fail;
        }
    }
    return sk;
fail:
    sk_X509_pop_free(sk, X509_free);
    return NULL;
}

/* ---- verified-chain cache ----------------------------------------------------------------- */

#define X5C_CACHE_MAX 16

struct x5c_entry {
    unsigned char *der; /* the chain: for each certificate, 4-byte big-endian length || DER */
    size_t der_len;
    const X509_STORE *store; /* the store it was verified against (compared, never used) */
    char *host;              /* the host the leaf was checked for (NULL: no host check) */
    time_t from;             /* the verified chain (anchor included) is valid in [from, until) */
    time_t until;
    EVP_PKEY *leaf; /* the leaf's public key */
};

struct kr_x5c_cache {
    pthread_mutex_t mu;
    size_t n;
    size_t hits; /* lookups answered from the cache (kr_x5c_cache_stats) */
    struct x5c_entry e[X5C_CACHE_MAX];
};

enum kr_err kr_x5c_cache_new(struct kr_x5c_cache **out)
{
    struct kr_x5c_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return KR_ERR_NOMEM;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return KR_OK;
}

void kr_x5c_cache_free(struct kr_x5c_cache *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].der);
        free(c->e[i].host);
        EVP_PKEY_free(c->e[i].leaf);
    }
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void kr_x5c_cache_stats(struct kr_x5c_cache *c, size_t *entries, size_t *hits)
{
    pthread_mutex_lock(&c->mu);
    *entries = c->n;
    *hits = c->hits;
    pthread_mutex_unlock(&c->mu);
}

/* The cache key: every x5c entry decoded, length-prefixed, concatenated. NULL on bad input. */
static unsigned char *x5c_der_key(const json_t *x5c, size_t *len)
{
    unsigned char *key = NULL;
    size_t n = 0, i;
    json_t *v;
    if (!json_is_array(x5c) || json_array_size(x5c) == 0 || json_array_size(x5c) > 10)
        return NULL;
    json_array_foreach(x5c, i, v)
    {
        unsigned char *der = NULL, *nk;
        size_t dl = 0;
        const char *b64 = json_string_value(v);
        if (b64 == NULL || kr_b64_decode(b64, (size_t)-1, &der, &dl) != KR_OK || dl > UINT32_MAX ||
            (nk = realloc(key, n + 4 + dl)) == NULL) {
            free(der);
            free(key);
            return NULL;
        }
        key = nk;
        key[n] = (unsigned char)(dl >> 24);
        key[n + 1] = (unsigned char)(dl >> 16);
        key[n + 2] = (unsigned char)(dl >> 8);
        key[n + 3] = (unsigned char)dl;
        memcpy(key + n + 4, der, dl);
        n += 4 + dl;
        free(der);
    }
    *len = n;
    return key;
}

static bool asn1_to_time_t(const ASN1_TIME *a, time_t *out)
{
    struct tm tm;
    if (a == NULL || ASN1_TIME_to_tm(a, &tm) != 1)
        return false;
    *out = timegm(&tm);
    return *out != (time_t)-1;
}

/* The window in which every certificate of the verified chain is valid: [from, until), as
 * X509_cmp_time counts a certificate expired at its notAfter second. */
static bool chain_window(STACK_OF(X509) * chain, time_t *from, time_t *until)
{
    *from = 0;
    *until = (time_t)INT64_MAX;
    for (int i = 0; i < sk_X509_num(chain); i++) {
        X509 *x = sk_X509_value(chain, i);
        time_t nb, na;
        if (!asn1_to_time_t(X509_get0_notBefore(x), &nb) ||
            !asn1_to_time_t(X509_get0_notAfter(x), &na))
            return false;
        if (nb > *from)
            *from = nb;
        if (na < *until)
            *until = na;
    }
    return *from < *until;
}

/* NULL (no host check) is not "" (a host X509_check_host never matches). */
static bool same_host(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

static EVP_PKEY *cache_lookup(struct kr_x5c_cache *c, const unsigned char *key, size_t len,
                              const X509_STORE *store, const char *host, time_t at)
{
    EVP_PKEY *k = NULL;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n && k == NULL; i++) {
        const struct x5c_entry *e = &c->e[i];
        if (e->der_len == len && memcmp(e->der, key, len) == 0 && e->store == store &&
            same_host(e->host, host) && at >= e->from && at < e->until &&
            EVP_PKEY_up_ref(e->leaf) == 1)
            k = e->leaf;
    }
    if (k != NULL)
        c->hits++;
    pthread_mutex_unlock(&c->mu);
    return k;
}

/* Remember a chain kr_x5c_verify accepted; takes ownership of key (the DER), not of leaf. Silent
 * on OOM or a full cache: the next answer is simply verified in full again. */
static void cache_store(struct kr_x5c_cache *c, unsigned char *key, size_t len,
                        const X509_STORE *store, const char *host, time_t from, time_t until,
                        EVP_PKEY *leaf)
{
    char *h = host != NULL ? strdup(host) : NULL;
    pthread_mutex_lock(&c->mu);
    if ((h != NULL || host == NULL) && c->n < X5C_CACHE_MAX && EVP_PKEY_up_ref(leaf) == 1) {
        c->e[c->n++] = (struct x5c_entry){.der = key,
                                          .der_len = len,
                                          .store = store,
                                          .host = h,
                                          .from = from,
                                          .until = until,
                                          .leaf = leaf};
        key = NULL;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    free(h);
    free(key);
}

/* kr_x5c_verify, also returning the validity window of the verified chain. */
static enum kr_err x5c_verify_window(const json_t *x5c, X509_STORE *store, const char *host,
                                     time_t at, EVP_PKEY **leaf_key, time_t *from, time_t *until)
{
    enum kr_err err = KR_ERR_PARSE;
    STACK_OF(X509) *sk = x5c_stack(x5c);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (sk == NULL || ctx == NULL)
        goto out;
    X509 *leaf = sk_X509_value(sk, 0);
    err = KR_ERR_VERIFY;
    if (X509_STORE_CTX_init(ctx, store, leaf, sk) != 1)
        goto out;
    X509_STORE_CTX_set_time(ctx, 0, at);
    if (X509_verify_cert(ctx) != 1) {
        U_LOG_DBG("kr", "x5c chain: %s",
                  X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
        goto out;
    }
    if (host != NULL &&
        X509_check_host(leaf, host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1) {
        U_LOG_DBG("kr", "x5c leaf does not name host %s", host);
        goto out;
    }
    if (from != NULL && !chain_window(X509_STORE_CTX_get0_chain(ctx), from, until)) {
        *from = 1; /* unknown window: verified, but never served from the cache */
        *until = 0;
    }
    if (leaf_key != NULL) {
        *leaf_key = X509_get_pubkey(leaf);
        if (*leaf_key == NULL)
            goto out;
    }
    err = KR_OK;
out:
    ERR_clear_error();
    X509_STORE_CTX_free(ctx);
    sk_X509_pop_free(sk, X509_free);
    return err;
}

enum kr_err kr_x5c_verify(const json_t *x5c, X509_STORE *store, const char *host, time_t at,
                          EVP_PKEY **leaf_key)
{
    return x5c_verify_window(x5c, store, host, at, leaf_key, NULL, NULL);
}

enum kr_err kr_x5c_verify_cached(struct kr_x5c_cache *cache, const json_t *x5c, X509_STORE *store,
                                 const char *host, time_t at, EVP_PKEY **leaf_key)
{
    if (cache == NULL || leaf_key == NULL)
        return kr_x5c_verify(x5c, store, host, at, leaf_key);
    size_t len = 0;
    unsigned char *key = x5c_der_key(x5c, &len);
    if (key == NULL)
        return kr_x5c_verify(x5c, store, host, at, leaf_key); /* it reports the parse error */
    *leaf_key = cache_lookup(cache, key, len, store, host, at);
    if (*leaf_key != NULL) {
        free(key);
        return KR_OK;
    }
    time_t from = 1, until = 0;
    enum kr_err err = x5c_verify_window(x5c, store, host, at, leaf_key, &from, &until);
    if (err == KR_OK && from < until)
        cache_store(cache, key, len, store, host, from, until, *leaf_key);
    else
        free(key);
    return err;
}

/* ---- JWT with a JWKS ---------------------------------------------------------------------- */

enum kr_err kr_jwt_verify_jwks(const char *jwt, const json_t *jwks, const char *issuer, time_t now,
                               json_t **claims_out)
{
    struct kr_jws *j = NULL;
    EVP_PKEY *key = NULL;
    enum kr_err err = kr_jws_parse(jwt, (size_t)-1, &j);
    if (err != KR_OK)
        goto out;
    err = KR_ERR_VERIFY;
    if (j->payload == NULL || !kr_jws_alg_allowed(j->alg))
        goto out;
    err = kr_jwks_find(jwks, j->kid, &key);
    if (err == KR_OK)
        err = kr_jws_verify(j, key);
    if (err == KR_OK)
        err = kr_jwt_check_time(j->payload, now);
    if (err != KR_OK)
        goto out;
    if (issuer != NULL &&
        !kr_issuer_equal(json_string_value(json_object_get(j->payload, "iss")), issuer)) {
        err = KR_ERR_VERIFY;
        goto out;
    }
    if (claims_out != NULL)
        *claims_out = json_incref(j->payload);
out:
    EVP_PKEY_free(key);
    kr_jws_free(j);
    return err;
}
