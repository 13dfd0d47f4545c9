/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The release answer (AZURE-SKR.md §d.7, §f): JWS verification (x5c chain, vault host, RS256,
 * key ids), key_hsm parsing, and the unwrap: RSA-OAEP of C1 by a decryptor (TPM or in-process),
 * AES-256 key unwrap with padding (RFC 5649) of C2 straight into the secure heap.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "kr_akv.h"
#include "kr_jose.h"
#include "u_log.h"
#include "u_macros.h"
#include "u_pkcs8.h"

/* ---- key_hsm ------------------------------------------------------------------------------ */

void kr_key_hsm_free(struct kr_key_hsm *k)
{
    if (k == NULL)
        return;
    free(k->kid);
    free(k->enc);
    free(k->ciphertext);
    free(k);
}

static int enc_nid(const char *enc)
{
    if (enc == NULL)
        return NID_undef;
    if (strcmp(enc, "CKM_RSA_AES_KEY_WRAP") == 0)
        return NID_sha1;
    if (strcmp(enc, "RSA_AES_KEY_WRAP_256") == 0)
        return NID_sha256;
    if (strcmp(enc, "RSA_AES_KEY_WRAP_384") == 0)
        return NID_sha384;
    return NID_undef;
}

enum kr_err kr_key_hsm_parse(const char *b64, size_t len, struct kr_key_hsm **out)
{
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    json_t *j = NULL;
    struct kr_key_hsm *k = NULL;
    enum kr_err err = kr_b64_decode(b64, len, &raw, &raw_len);
    if (err != KR_OK)
        return err;
    err = KR_ERR_PARSE;
    j = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    json_t *hdr = json_object_get(j, "header");
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    const char *enc = json_string_value(json_object_get(hdr, "enc"));
    const char *ct = json_string_value(json_object_get(j, "ciphertext"));
    if (!json_is_object(hdr) || alg == NULL || enc == NULL || ct == NULL)
        goto out;
    err = KR_ERR_UNSUPPORTED;
    if (strcmp(alg, "dir") != 0 || enc_nid(enc) == NID_undef)
        goto out;
    err = KR_ERR_NOMEM;
    k = calloc(1, sizeof(*k));
    if (k == NULL)
        goto out;
    k->oaep_nid = enc_nid(enc);
    k->enc = strdup(enc);
    k->kid = kid != NULL ? strdup(kid) : NULL;
    if (k->enc == NULL || (kid != NULL && k->kid == NULL))
        goto out;
    err = kr_b64_decode(ct, (size_t)-1, &k->ciphertext, &k->ciphertext_len);
    if (err != KR_OK)
        goto out;
    *out = k;
    k = NULL;
out:
    kr_key_hsm_free(k);
    json_decref(j);
    free(raw);
    return err;
}

/* ---- release answer ----------------------------------------------------------------------- */

void kr_release_free(struct kr_release *r)
{
    if (r == NULL)
        return;
    json_decref(r->claims);
    free(r->spki);
    kr_key_hsm_free(r->hsm);
    free(r);
}

/* response.key.key: the released JWK (public part + key_hsm). */
static json_t *release_jwk(const json_t *claims)
{
    return json_object_get(json_object_get(json_object_get(claims, "response"), "key"), "key");
}

/* "https://v/keys/name[/ver][/]" → length of "https://v/keys/name". */
static size_t key_base_len(const char *url)
{
    const char *k = strstr(url, "/keys/");
    if (k == NULL)
        return strlen(url);
    return (size_t)(k + 6 - url) + strcspn(k + 6, "/?");
}

static bool url_prefix_ci(const char *url, const char *prefix, size_t plen)
{
    return url != NULL && strlen(url) >= plen && strncasecmp(url, prefix, plen) == 0 &&
           (url[plen] == 0 || url[plen] == '/');
}

static enum kr_err check_kids(const json_t *claims, const char *key_url)
{
    const char *req_kid =
            json_string_value(json_object_get(json_object_get(claims, "request"), "kid"));
    const char *resp_kid = json_string_value(json_object_get(release_jwk(claims), "kid"));
    size_t base = key_base_len(key_url);
    /* request.kid is the URL as requested (maybe unversioned); response kid is versioned. */
    if (!url_prefix_ci(req_kid, key_url, base) || !url_prefix_ci(resp_kid, key_url, base))
        return KR_ERR_VERIFY;
    if (strlen(key_url) > base + 1 && strncasecmp(resp_kid, key_url, strlen(key_url)) != 0)
        return KR_ERR_VERIFY; /* a specific version was asked for */
    return KR_OK;
}

static enum kr_err check_x5t(const struct kr_jws *j)
{
    const char *want = json_string_value(json_object_get(j->header, "x5t#S256"));
    const char *c0 = json_string_value(json_array_get(json_object_get(j->header, "x5c"), 0));
    if (want == NULL)
        return KR_OK;
    unsigned char *der = NULL, *got = NULL, md[SHA256_DIGEST_LENGTH];
    size_t len = 0, glen = 0;
    enum kr_err err = c0 != NULL ? kr_b64_decode(c0, (size_t)-1, &der, &len) : KR_ERR_PARSE;
    if (err == KR_OK)
        err = kr_b64_decode(want, (size_t)-1, &got, &glen);
    if (err == KR_OK) {
        SHA256(der, len, md);
        err = glen == sizeof(md) && memcmp(md, got, glen) == 0 ? KR_OK : KR_ERR_VERIFY;
    }
    free(der);
    free(got);
    return err;
}

static enum kr_err jws_from_body(const char *body, size_t len, struct kr_jws **j)
{
    json_t *o = json_loadb(body, len, 0, NULL);
    const char *v = json_string_value(json_object_get(o, "value"));
    enum kr_err err = v != NULL ? kr_jws_parse(v, (size_t)-1, j) : kr_jws_parse(body, len, j);
    json_decref(o);
    return err;
}

static enum kr_err verify_jws(const struct kr_jws *j, X509_STORE *store, struct kr_x5c_cache *cache,
                              const char *host, time_t now)
{
    EVP_PKEY *leaf = NULL;
    if (j->payload == NULL || strcmp(j->alg, "RS256") != 0)
        return KR_ERR_VERIFY;
    enum kr_err err =
            kr_x5c_verify_cached(cache, json_object_get(j->header, "x5c"), store, host, now, &leaf);
    if (err == KR_OK)
        err = kr_jws_verify(j, leaf);
    if (err == KR_OK)
        err = check_x5t(j);
    EVP_PKEY_free(leaf);
    return err == KR_ERR_PARSE ? KR_ERR_VERIFY : err;
}

static enum kr_err release_fill(struct kr_release *r, const char *expect_kid)
{
    const json_t *jwk = release_jwk(r->claims);
    if (!json_is_object(jwk))
        return KR_ERR_PARSE;
    r->jwk = jwk;
    enum kr_err err = KR_ERR_PARSE;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    if (kty == NULL)
        return err;
    if (strncmp(kty, "oct", 3) == 0)
        r->kind = KR_KEY_OCT;
    else
        r->kind = strncmp(kty, "EC", 2) == 0 ? KR_KEY_EC : KR_KEY_RSA;
    if (r->kind != KR_KEY_OCT) {
        err = kr_jwk_to_spki(jwk, &r->spki, &r->spki_len);
        if (err != KR_OK)
            return err;
    }
    const char *hsm = json_string_value(json_object_get(jwk, "key_hsm"));
    err = kr_key_hsm_parse(hsm, (size_t)-1, &r->hsm);
    if (err == KR_OK && expect_kid != NULL &&
        (r->hsm->kid == NULL || strcmp(r->hsm->kid, expect_kid) != 0))
        err = KR_ERR_VERIFY;
    return err;
}

enum kr_err kr_akv_release_verify(const char *body, size_t len, X509_STORE *store,
                                  const char *vault_host, const char *key_url,
                                  const char *expect_kid, time_t now, struct kr_release **out)
{
    return kr_akv_release_verify_cached(body, len, store, NULL, vault_host, key_url, expect_kid,
                                        now, out);
}

enum kr_err kr_akv_release_verify_cached(const char *body, size_t len, X509_STORE *store,
                                         struct kr_x5c_cache *cache, const char *vault_host,
                                         const char *key_url, const char *expect_kid, time_t now,
                                         struct kr_release **out)
{
    if (body == NULL || store == NULL || key_url == NULL || out == NULL)
        return KR_ERR_INVALID;
    struct kr_jws *j = NULL;
    struct kr_release *r = NULL;
    enum kr_err err = jws_from_body(body, len, &j);
    if (err != KR_OK)
        goto out;
    err = verify_jws(j, store, cache, vault_host, now);
    if (err == KR_OK)
        err = check_kids(j->payload, key_url);
    if (err != KR_OK)
        goto out;
    err = KR_ERR_NOMEM;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto out;
    r->claims = json_incref(j->payload);
    err = release_fill(r, expect_kid);
    if (err != KR_OK)
        goto out;
    *out = r;
    r = NULL;
out:
    kr_release_free(r);
    kr_jws_free(j);
    return err;
}

/* ---- unwrap ------------------------------------------------------------------------------- */

enum kr_err kr_oaep_pkey(void *arg, int hash_nid, const unsigned char *c1, size_t len,
                         struct u_secbuf **k_out)
{
    EVP_PKEY *key = arg;
    const EVP_MD *md = EVP_get_digestbynid(hash_nid);
    if (key == NULL || md == NULL || c1 == NULL)
        return KR_ERR_INVALID;
    enum kr_err err = KR_ERR_UNWRAP;
    struct u_secbuf *k = NULL;
    size_t outlen = 0;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key, NULL);
    if (ctx == NULL || EVP_PKEY_decrypt_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) != 1 || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
        EVP_PKEY_decrypt(ctx, NULL, &outlen, c1, len) != 1)
        goto out;
    err = KR_ERR_NOMEM;
    k = u_secbuf_new(outlen);
    if (k == NULL)
        goto out;
    err = KR_ERR_UNWRAP;
    if (EVP_PKEY_decrypt(ctx, k->data, &outlen, c1, len) != 1)
        goto out;
    k->len = outlen;
    *k_out = k;
    k = NULL;
    err = KR_OK;
out:
    ERR_clear_error();
    u_secbuf_free(k);
    EVP_PKEY_CTX_free(ctx);
    return err;
}

/* RFC 5649 unwrap of c2 under k (32 bytes) into a new secure buffer. */
static enum kr_err aes_kwp_unwrap(const struct u_secbuf *k, const unsigned char *c2, size_t len,
                                  struct u_secbuf **out)
{
    if (k->len != 32 || len < 16 || len % 8 != 0 || len > INT32_MAX)
        return KR_ERR_UNWRAP;
    enum kr_err err = KR_ERR_NOMEM;
    struct u_secbuf *p = u_secbuf_new(len);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, f = 0;
    if (p == NULL || ctx == NULL)
        goto out;
    err = KR_ERR_UNWRAP;
    EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_wrap_pad(), NULL, k->data, NULL) != 1 ||
        EVP_DecryptUpdate(ctx, p->data, &n, c2, (int)len) != 1 ||
        EVP_DecryptFinal_ex(ctx, p->data + n, &f) != 1 || n + f <= 0)
        goto out;
    p->len = (size_t)(n + f);
    *out = p;
    p = NULL;
    err = KR_OK;
out:
    ERR_clear_error();
    EVP_CIPHER_CTX_free(ctx);
    u_secbuf_free(p);
    return err;
}

enum kr_err kr_key_hsm_unwrap(const struct kr_key_hsm *hsm, const struct kr_decryptor *dec,
                              struct u_secbuf **plain)
{
    if (hsm == NULL || dec == NULL || dec->fn == NULL || plain == NULL)
        return KR_ERR_INVALID;
    if (dec->modulus_len == 0 || hsm->ciphertext_len <= dec->modulus_len)
        return KR_ERR_UNWRAP;
    struct u_secbuf *k = NULL;
    enum kr_err err = dec->fn(dec->arg, hsm->oaep_nid, hsm->ciphertext, dec->modulus_len, &k);
    if (err == KR_OK)
        err = aes_kwp_unwrap(k, hsm->ciphertext + dec->modulus_len,
                             hsm->ciphertext_len - dec->modulus_len, plain);
    u_secbuf_free(k); /* K wiped */
    return err;
}

enum kr_err kr_check_released_matches(const struct u_secbuf *plain, const unsigned char *spki,
                                      size_t spki_len)
{
    EVP_PKEY *k = u_pkcs8_decode(plain->data, plain->len, NULL); /* leaves no copies */
    unsigned char *der = NULL;
    size_t der_len = 0;
    enum kr_err err = KR_ERR_UNWRAP;
    if (k == NULL)
        goto out;
    err = kr_pkey_to_spki(k, &der, &der_len);
    if (err != KR_OK)
        goto out;
    err = (spki != NULL && der_len == spki_len && memcmp(der, spki, spki_len) == 0)
                  ? KR_OK
                  : KR_ERR_MISMATCH;
out:
    ERR_clear_error();
    free(der);
    EVP_PKEY_free(k); /* EVP_PKEY_free clears private key material */
    return err;
}
