/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the softtoken crypto tests: key objects from the fixtures in tests/data/softtoken
 * or from raw bytes, made through the internal object constructors, and hex decoding.
 * Header-only (static functions) so each test binary stays one source file.
 */
#ifndef SKR_TESTS_ST_TEST_UTIL_H
#define SKR_TESTS_ST_TEST_UTIL_H

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_mech.h"

static const CK_BBOOL tk_true = CK_TRUE;
static const CK_BBOOL tk_false = CK_FALSE;

#define TK_ATTR(t, v)                                                                              \
    {                                                                                              \
        (t), (void *)(uintptr_t) & (v), sizeof(v)                                                  \
    }

/* Hex string → malloc'd bytes (whitespace ignored). */
static __attribute__((unused)) unsigned char *tk_hex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    unsigned char *out = calloc(1, n / 2 + 1);
    size_t o = 0;
    int hi = -1;
    for (size_t i = 0; i < n; i++) {
        char c = hex[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v = c - 'A' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            out[o++] = (unsigned char)(hi << 4 | v);
            hi = -1;
        }
    }
    *len = o;
    return out;
}

static __attribute__((unused)) char *tk_path(const char *name)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf), "%s/softtoken/%s", SKR_TEST_DATA, name);
    return buf;
}

static __attribute__((unused)) EVP_PKEY *tk_read_pem(const char *name, bool private_key)
{
    BIO *b = BIO_new_file(tk_path(name), "r");
    if (b == NULL)
        return NULL;
    EVP_PKEY *k = private_key ? PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, st_libctx(), NULL)
                              : PEM_read_bio_PUBKEY_ex(b, NULL, NULL, NULL, st_libctx(), NULL);
    BIO_free(b);
    return k;
}

/* Private key object allowed to sign, decrypt, unwrap and derive, extractable. */
static __attribute__((unused)) struct st_object *tk_private_from(EVP_PKEY *pkey)
{
    CK_ATTRIBUTE t[] = {
            TK_ATTR(CKA_SIGN, tk_true),       TK_ATTR(CKA_DECRYPT, tk_true),
            TK_ATTR(CKA_UNWRAP, tk_true),     TK_ATTR(CKA_DERIVE, tk_true),
            TK_ATTR(CKA_SENSITIVE, tk_false), TK_ATTR(CKA_EXTRACTABLE, tk_true),
    };
    struct st_object *o = NULL;
    if (pkey == NULL || st_object_new_asym(pkey, CKO_PRIVATE_KEY, t, 6, ST_ORIGIN_UNWRAP,
                                           CK_UNAVAILABLE_INFORMATION, &o) != CKR_OK)
        return NULL;
    return o;
}

/* Public key object allowed to verify, encrypt and wrap. */
static __attribute__((unused)) struct st_object *tk_public_from(EVP_PKEY *pkey)
{
    CK_ATTRIBUTE t[] = {
            TK_ATTR(CKA_VERIFY, tk_true),
            TK_ATTR(CKA_ENCRYPT, tk_true),
            TK_ATTR(CKA_WRAP, tk_true),
    };
    struct st_object *o = NULL;
    if (pkey == NULL || st_object_new_asym(pkey, CKO_PUBLIC_KEY, t, 3, ST_ORIGIN_UNWRAP,
                                           CK_UNAVAILABLE_INFORMATION, &o) != CKR_OK)
        return NULL;
    return o;
}

static __attribute__((unused)) struct st_object *tk_private(const char *name)
{
    return tk_private_from(tk_read_pem(name, true));
}

/* The public half of a private-key fixture. */
static __attribute__((unused)) struct st_object *tk_public_of(const char *name)
{
    EVP_PKEY *k = tk_read_pem(name, true);
    EVP_PKEY *pub = k != NULL ? st_pkey_public_dup(k) : NULL;
    EVP_PKEY_free(k);
    return tk_public_from(pub);
}

/* Secret key object with every usage allowed (or only those in `deny` refused). */
static __attribute__((unused)) struct st_object *
tk_secret_deny(CK_KEY_TYPE kt, const unsigned char *v, size_t len, CK_ATTRIBUTE_TYPE deny)
{
    CK_ATTRIBUTE t[] = {
            TK_ATTR(CKA_ENCRYPT, tk_true),    TK_ATTR(CKA_DECRYPT, tk_true),
            TK_ATTR(CKA_SIGN, tk_true),       TK_ATTR(CKA_VERIFY, tk_true),
            TK_ATTR(CKA_WRAP, tk_true),       TK_ATTR(CKA_UNWRAP, tk_true),
            TK_ATTR(CKA_DERIVE, tk_true),     TK_ATTR(CKA_EXTRACTABLE, tk_true),
            TK_ATTR(CKA_SENSITIVE, tk_false),
    };
    for (size_t i = 0; i < 9; i++) {
        if (t[i].type == deny)
            t[i].pValue = (void *)(uintptr_t)&tk_false;
    }
    struct st_object *o = NULL;
    struct u_secbuf *b = u_secbuf_dup(v, len);
    if (b == NULL || st_object_new_secret(b, kt, t, 9, ST_ORIGIN_UNWRAP, CK_UNAVAILABLE_INFORMATION,
                                          NULL, &o) != CKR_OK)
        return NULL;
    return o;
}

static __attribute__((unused)) struct st_object *tk_secret(CK_KEY_TYPE kt, const unsigned char *v,
                                                           size_t len)
{
    return tk_secret_deny(kt, v, len, CK_UNAVAILABLE_INFORMATION);
}

static __attribute__((unused)) struct st_object *tk_secret_hex(CK_KEY_TYPE kt, const char *hex)
{
    size_t len;
    unsigned char *v = tk_hex(hex, &len);
    struct st_object *o = tk_secret(kt, v, len);
    free(v);
    return o;
}

#endif /* SKR_TESTS_ST_TEST_UTIL_H */
