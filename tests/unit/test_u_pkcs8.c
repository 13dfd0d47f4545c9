/* SPDX-License-Identifier: Apache-2.0 */
/*
 * u_pkcs8_decode's RSA keys compute their private operation in rsa_mod_exp_x2 (both CRT halves
 * in one BN_mod_exp_mont_consttime_x2 call, no cached Montgomery context), falling back to
 * OpenSSL's own method for keys it does not cover. Both paths must give OpenSSL's results:
 * PKCS#1 v1.5 signatures are deterministic, so the decoded key's signature must equal the
 * original key's byte for byte; raw decryption must return the plaintext. The link wraps
 * BN_mod_exp_mont_consttime_x2 and RSA_meth_get_mod_exp (u_pkcs8.c asks for OpenSSL's method
 * only to fall back) to see which path ran, and BN_mod_exp_mont (u_pkcs8.c's fault check) to see
 * that the check runs in the key's cached Montgomery context of n instead of building one.
 */
#define OPENSSL_SUPPRESS_DEPRECATED /* RSA_set0_*: a key with primes of different sizes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "u_pkcs8.h"

static unsigned g_x2_calls, g_fallbacks;

int __real_BN_mod_exp_mont_consttime_x2(BIGNUM *rr1, const BIGNUM *a1, const BIGNUM *p1,
                                        const BIGNUM *m1, BN_MONT_CTX *in_mont1, BIGNUM *rr2,
                                        const BIGNUM *a2, const BIGNUM *p2, const BIGNUM *m2,
                                        BN_MONT_CTX *in_mont2, BN_CTX *ctx);
int __wrap_BN_mod_exp_mont_consttime_x2(BIGNUM *rr1, const BIGNUM *a1, const BIGNUM *p1,
                                        const BIGNUM *m1, BN_MONT_CTX *in_mont1, BIGNUM *rr2,
                                        const BIGNUM *a2, const BIGNUM *p2, const BIGNUM *m2,
                                        BN_MONT_CTX *in_mont2, BN_CTX *ctx);
int __wrap_BN_mod_exp_mont_consttime_x2(BIGNUM *rr1, const BIGNUM *a1, const BIGNUM *p1,
                                        const BIGNUM *m1, BN_MONT_CTX *in_mont1, BIGNUM *rr2,
                                        const BIGNUM *a2, const BIGNUM *p2, const BIGNUM *m2,
                                        BN_MONT_CTX *in_mont2, BN_CTX *ctx)
{
    g_x2_calls++;
    return __real_BN_mod_exp_mont_consttime_x2(rr1, a1, p1, m1, in_mont1, rr2, a2, p2, m2, in_mont2,
                                               ctx);
}

static unsigned g_checks, g_checks_uncached;

int __real_BN_mod_exp_mont(BIGNUM *r, const BIGNUM *a, const BIGNUM *p, const BIGNUM *m,
                           BN_CTX *ctx, BN_MONT_CTX *mont);
int __wrap_BN_mod_exp_mont(BIGNUM *r, const BIGNUM *a, const BIGNUM *p, const BIGNUM *m,
                           BN_CTX *ctx, BN_MONT_CTX *mont);
int __wrap_BN_mod_exp_mont(BIGNUM *r, const BIGNUM *a, const BIGNUM *p, const BIGNUM *m,
                           BN_CTX *ctx, BN_MONT_CTX *mont)
{
    g_checks++;
    if (mont == NULL)
        g_checks_uncached++;
    return __real_BN_mod_exp_mont(r, a, p, m, ctx, mont);
}

typedef int (*mod_exp_fn)(BIGNUM *, const BIGNUM *, RSA *, BN_CTX *);
mod_exp_fn __real_RSA_meth_get_mod_exp(const RSA_METHOD *meth);
mod_exp_fn __wrap_RSA_meth_get_mod_exp(const RSA_METHOD *meth);
mod_exp_fn __wrap_RSA_meth_get_mod_exp(const RSA_METHOD *meth)
{
    g_fallbacks++;
    return __real_RSA_meth_get_mod_exp(meth);
}

static size_t rsa_sign(EVP_PKEY *k, const unsigned char *dgst, unsigned char *sig, size_t cap)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    size_t n = cap;

    assert_non_null(c);
    assert_int_equal(EVP_PKEY_sign_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING), 1);
    assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
    assert_int_equal(EVP_PKEY_sign(c, sig, &n, dgst, 32), 1);
    EVP_PKEY_CTX_free(c);
    return n;
}

static EVP_PKEY *decode_copy(EVP_PKEY *k)
{
    unsigned char *der = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(k);
    int len;
    EVP_PKEY *out;

    assert_non_null(p8);
    len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der);
    assert_true(len > 0);
    out = u_pkcs8_decode(der, (size_t)len, NULL);
    assert_non_null(out);
    OPENSSL_clear_free(der, (size_t)len);
    PKCS8_PRIV_KEY_INFO_free(p8);
    return out;
}

/* 16 signatures of random digests, and a raw decryption, agree with the original key. */
static void check_same_results(EVP_PKEY *orig)
{
    EVP_PKEY *k = decode_copy(orig);
    unsigned char dgst[32], a[1024], b[1024], pt[1024];
    size_t na, nb, npt = sizeof(pt);
    EVP_PKEY_CTX *c;
    int i;

    assert_non_null(EVP_PKEY_get0_RSA(k)); /* the legacy RSA with the module's method */
    for (i = 0; i < 16; i++) {
        assert_int_equal(RAND_bytes(dgst, sizeof(dgst)), 1);
        na = rsa_sign(orig, dgst, a, sizeof(a));
        nb = rsa_sign(k, dgst, b, sizeof(b));
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, na);
    }
    /* Decrypt (no padding) what the public key encrypted: the private operation again. */
    memset(a, 0, sizeof(a));
    assert_int_equal(RAND_bytes(a + 1, (int)na - 1), 1);
    c = EVP_PKEY_CTX_new(orig, NULL);
    nb = sizeof(b);
    assert_int_equal(EVP_PKEY_encrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING), 1);
    assert_int_equal(EVP_PKEY_encrypt(c, b, &nb, a, na), 1);
    EVP_PKEY_CTX_free(c);
    c = EVP_PKEY_CTX_new(k, NULL);
    assert_int_equal(EVP_PKEY_decrypt_init(c), 1);
    assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c, RSA_NO_PADDING), 1);
    assert_int_equal(EVP_PKEY_decrypt(c, pt, &npt, b, nb), 1);
    assert_int_equal(npt, na);
    assert_memory_equal(pt, a, na);
    EVP_PKEY_CTX_free(c);
    EVP_PKEY_free(k);
}

/* RSA-2048 and RSA-3072: primes of one size, the x2 path. */
static void test_rsa_x2_path(void **state)
{
    static const unsigned bits[] = {2048, 3072};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits[i]);

        assert_non_null(k);
        g_x2_calls = g_fallbacks = g_checks = g_checks_uncached = 0;
        check_same_results(k);
        assert_int_equal(g_x2_calls, 17);       /* 16 signatures and one decryption */
        assert_int_equal(g_fallbacks, 0);       /* every fault check passed */
        assert_int_equal(g_checks, 17);         /* one fault check each ... */
        assert_int_equal(g_checks_uncached, 0); /* ... in the context made when the key loaded */
        EVP_PKEY_free(k);
    }
}

/* Primes of 1024 and 1040 bits: not for BN_mod_exp_mont_consttime_x2, OpenSSL's method. */
static void test_rsa_unequal_primes_fallback(void **state)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *p = BN_new(), *q = BN_new(), *n = BN_new(), *e = BN_new(), *d = BN_new();
    BIGNUM *p1 = BN_new(), *q1 = BN_new(), *phi = BN_new();
    BIGNUM *dmp1 = BN_new(), *dmq1 = BN_new(), *iqmp = BN_new();
    RSA *rsa = RSA_new();
    EVP_PKEY *k = EVP_PKEY_new();

    (void)state;
    assert_non_null(k);
    assert_non_null(rsa);
    assert_int_equal(BN_set_word(e, 65537), 1);
    do {
        assert_int_equal(BN_generate_prime_ex(p, 1040, 0, NULL, NULL, NULL), 1);
        assert_int_equal(BN_generate_prime_ex(q, 1024, 0, NULL, NULL, NULL), 1);
        assert_int_equal(BN_sub(p1, p, BN_value_one()), 1);
        assert_int_equal(BN_sub(q1, q, BN_value_one()), 1);
        assert_int_equal(BN_mul(phi, p1, q1, ctx), 1);
    } while (BN_mod_inverse(d, e, phi, ctx) == NULL);
    assert_int_equal(BN_mul(n, p, q, ctx), 1);
    assert_int_equal(BN_mod(dmp1, d, p1, ctx), 1);
    assert_int_equal(BN_mod(dmq1, d, q1, ctx), 1);
    assert_non_null(BN_mod_inverse(iqmp, q, p, ctx));
    assert_int_equal(RSA_set0_key(rsa, n, e, d), 1);
    assert_int_equal(RSA_set0_factors(rsa, p, q), 1);
    assert_int_equal(RSA_set0_crt_params(rsa, dmp1, dmq1, iqmp), 1);
    assert_int_equal(EVP_PKEY_assign_RSA(k, rsa), 1);
    g_x2_calls = g_fallbacks = 0;
    check_same_results(k);
    assert_int_equal(g_x2_calls, 0);
    assert_int_equal(g_fallbacks, 17);
    EVP_PKEY_free(k);
    BN_free(p1);
    BN_free(q1);
    BN_free(phi);
    BN_CTX_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rsa_x2_path),
            cmocka_unit_test(test_rsa_unequal_primes_fallback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
