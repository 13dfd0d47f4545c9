/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Operations: the PKCS#11 §5.2 state machine (a length query and CKR_BUFFER_TOO_SMALL keep the
 * operation, any other error ends it), the init-time checks (key type, class, usage, size,
 * parameters), multi-part equal to single-part, round trips per family, key generation,
 * wrap/unwrap and ECDH derivation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "st_test_util.h"

static const unsigned char k256[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                       12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                       23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const unsigned char iv16[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                       0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};

static int setup(void **state)
{
    (void)state;
    return st_init() == CKR_OK ? 0 : -1;
}

/* Single-part op with a fresh op; returns the rv; output into out/outlen. */
static CK_RV oneshot(enum st_op_type t, CK_MECHANISM *m, struct st_object *k, const void *in,
                     size_t inlen, unsigned char *out, CK_ULONG *outlen)
{
    struct st_op *op = NULL;
    CK_RV rv = st_op_new(t, m, k, &op);
    if (rv != CKR_OK)
        return rv;
    rv = st_op_oneshot(op, in, (CK_ULONG)inlen, out, outlen);
    st_op_free(op);
    return rv;
}

static CK_RV verify(CK_MECHANISM *m, struct st_object *k, const void *data, size_t len,
                    const unsigned char *sig, CK_ULONG siglen)
{
    struct st_op *op = NULL;
    CK_RV rv = st_op_new(ST_OP_VERIFY, m, k, &op);
    if (rv != CKR_OK)
        return rv;
    rv = st_op_verify(op, data, (CK_ULONG)len, sig, siglen);
    st_op_free(op);
    return rv;
}

static void test_length_query_and_too_small_keep(void **state)
{
    (void)state;
    struct st_object *priv = tk_private("rsa2048.pem");
    struct st_object *pub = tk_public_of("rsa2048.pem");
    assert_non_null(priv);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_SIGN, &m, priv, &op), CKR_OK);
    assert_int_equal(st_op_type_of(op), ST_OP_SIGN);
    CK_ULONG len = 0;
    assert_int_equal(st_op_oneshot(op, (const CK_BYTE *)"hello", 5, NULL, &len), CKR_OK);
    assert_int_equal(len, 256);
    unsigned char sig[256];
    len = 255;
    assert_int_equal(st_op_oneshot(op, (const CK_BYTE *)"hello", 5, sig, &len),
                     CKR_BUFFER_TOO_SMALL);
    assert_int_equal(len, 256);
    assert_int_equal(st_op_oneshot(op, (const CK_BYTE *)"hello", 5, sig, &len), CKR_OK);
    /* Finished: nothing more on this op. */
    assert_int_equal(st_op_oneshot(op, (const CK_BYTE *)"hello", 5, sig, &len),
                     CKR_OPERATION_NOT_INITIALIZED);
    st_op_free(op);
    assert_int_equal(verify(&m, pub, "hello", 5, sig, 256), CKR_OK);
    assert_int_equal(verify(&m, pub, "hellO", 5, sig, 256), CKR_SIGNATURE_INVALID);
    st_object_unref(priv);
    st_object_unref(pub);
}

static void test_error_ends_operation(void **state)
{
    (void)state;
    struct st_object *key = tk_secret(CKK_AES, k256, 32);
    CK_MECHANISM m = {CKM_AES_CBC, (void *)(uintptr_t)iv16, 16};
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_ENCRYPT, &m, key, &op), CKR_OK);
    unsigned char out[64];
    CK_ULONG len = sizeof(out);
    assert_int_equal(st_op_oneshot(op, k256, 15, out, &len), CKR_DATA_LEN_RANGE);
    len = sizeof(out);
    assert_int_equal(st_op_oneshot(op, k256, 16, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    st_op_free(op);
    /* Single-part-only mechanism: an update is refused and ends the operation. */
    struct st_object *priv = tk_private("rsa2048.pem");
    CK_MECHANISM raw = {CKM_RSA_PKCS, NULL, 0};
    assert_int_equal(st_op_new(ST_OP_SIGN, &raw, priv, &op), CKR_OK);
    assert_int_equal(st_op_update(op, k256, 16, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(st_op_final(op, out, &len), CKR_OPERATION_NOT_INITIALIZED);
    st_op_free(op);
    st_object_unref(priv);
    st_object_unref(key);
}

static void test_init_checks(void **state)
{
    (void)state;
    struct st_op *op = NULL;
    struct st_object *aes = tk_secret(CKK_AES, k256, 32);
    struct st_object *noenc = tk_secret_deny(CKK_AES, k256, 32, CKA_ENCRYPT);
    struct st_object *rsa = tk_private("rsa2048.pem");
    struct st_object *rsapub = tk_public_of("rsa2048.pem");
    struct st_object *ed = tk_private("ed25519.pem");
    CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
    assert_int_equal(st_op_new(ST_OP_ENCRYPT, &ecb, noenc, &op), CKR_KEY_FUNCTION_NOT_PERMITTED);
    assert_int_equal(st_op_new(ST_OP_DECRYPT, &ecb, noenc, &op), CKR_OK);
    st_op_free(op);
    CK_MECHANISM ecdsa = {CKM_ECDSA, NULL, 0};
    assert_int_equal(st_op_new(ST_OP_SIGN, &ecdsa, rsa, &op), CKR_KEY_TYPE_INCONSISTENT);
    CK_MECHANISM pkcs = {CKM_SHA256_RSA_PKCS, NULL, 0};
    assert_int_equal(st_op_new(ST_OP_SIGN, &pkcs, rsapub, &op), CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(st_op_new(ST_OP_SIGN, &pkcs, aes, &op), CKR_KEY_TYPE_INCONSISTENT);
    CK_MECHANISM sha = {CKM_SHA256, NULL, 0};
    assert_int_equal(st_op_new(ST_OP_SIGN, &sha, rsa, &op), CKR_MECHANISM_INVALID);
    CK_MECHANISM unknown = {0x80001234UL, NULL, 0};
    assert_int_equal(st_op_new(ST_OP_SIGN, &unknown, rsa, &op), CKR_MECHANISM_INVALID);
    CK_MECHANISM cbc_bad = {CKM_AES_CBC, (void *)(uintptr_t)iv16, 8};
    assert_int_equal(st_op_new(ST_OP_ENCRYPT, &cbc_bad, aes, &op), CKR_MECHANISM_PARAM_INVALID);
    unsigned char iv[12] = {0};
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 0};
    CK_MECHANISM gcm = {CKM_AES_GCM, &gp, sizeof(gp)};
    assert_int_equal(st_op_new(ST_OP_ENCRYPT, &gcm, aes, &op), CKR_MECHANISM_PARAM_INVALID);
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA384, CKG_MGF1_SHA384, 48};
    CK_MECHANISM pssm = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)};
    assert_int_equal(st_op_new(ST_OP_SIGN, &pssm, rsa, &op), CKR_MECHANISM_PARAM_INVALID);
    CK_EDDSA_PARAMS ep = {CK_TRUE, 0, NULL};
    CK_MECHANISM edm = {CKM_EDDSA, &ep, sizeof(ep)};
    assert_int_equal(st_op_new(ST_OP_SIGN, &edm, ed, &op), CKR_MECHANISM_PARAM_INVALID);
    ep.phFlag = CK_FALSE;
    assert_int_equal(st_op_new(ST_OP_SIGN, &edm, ed, &op), CKR_OK);
    st_op_free(op);
    CK_MECHANISM pkcs_param = {CKM_RSA_PKCS, iv, 4};
    assert_int_equal(st_op_new(ST_OP_SIGN, &pkcs_param, rsa, &op), CKR_MECHANISM_PARAM_INVALID);
    struct st_object *short_aes = tk_secret(CKK_GENERIC_SECRET, k256, 0 + 1);
    CK_MECHANISM cmac = {CKM_AES_CMAC, NULL, 0};
    assert_int_equal(st_op_new(ST_OP_SIGN, &cmac, short_aes, &op), CKR_KEY_TYPE_INCONSISTENT);
    st_object_unref(short_aes);
    st_object_unref(aes);
    st_object_unref(noenc);
    st_object_unref(rsa);
    st_object_unref(rsapub);
    st_object_unref(ed);
}

/* Multi-part in odd pieces (with a length query and a too-small buffer on the way) must equal
 * single-part, both directions. */
static size_t run_parts(enum st_op_type t, CK_MECHANISM *m, struct st_object *k,
                        const unsigned char *in, size_t inlen, unsigned char *out)
{
    static const size_t pieces[] = {1, 15, 17, 3, 32, 100};
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(t, m, k, &op), CKR_OK);
    size_t off = 0;
    size_t got = 0;
    for (size_t i = 0; off < inlen; i = (i + 1) % 6) {
        size_t p = pieces[i] < inlen - off ? pieces[i] : inlen - off;
        CK_ULONG need = 0;
        assert_int_equal(st_op_update(op, in + off, (CK_ULONG)p, NULL, &need), CKR_OK);
        if (need > 0) {
            CK_ULONG small = need - 1;
            assert_int_equal(st_op_update(op, in + off, (CK_ULONG)p, out + got, &small),
                             CKR_BUFFER_TOO_SMALL);
        }
        CK_ULONG len = need;
        assert_int_equal(st_op_update(op, in + off, (CK_ULONG)p, out + got, &len), CKR_OK);
        assert_true(len <= need);
        got += len;
        off += p;
    }
    CK_ULONG len = 0;
    assert_int_equal(st_op_final(op, NULL, &len), CKR_OK);
    assert_int_equal(st_op_final(op, out + got, &len), CKR_OK);
    st_op_free(op);
    return got + len;
}

static void roundtrip_cipher(CK_MECHANISM *m, struct st_object *k, size_t inlen)
{
    unsigned char in[300];
    unsigned char c1[400];
    unsigned char c2[400];
    unsigned char p[400];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)(i * 7);
    CK_ULONG l1 = sizeof(c1);
    assert_int_equal(oneshot(ST_OP_ENCRYPT, m, k, in, inlen, c1, &l1), CKR_OK);
    size_t l2 = run_parts(ST_OP_ENCRYPT, m, k, in, inlen, c2);
    assert_int_equal(l1, l2);
    assert_memory_equal(c1, c2, l1);
    size_t lp = run_parts(ST_OP_DECRYPT, m, k, c1, l1, p);
    assert_int_equal(lp, inlen);
    assert_memory_equal(p, in, inlen);
    CK_ULONG lo = sizeof(p);
    assert_int_equal(oneshot(ST_OP_DECRYPT, m, k, c1, l1, p, &lo), CKR_OK);
    assert_int_equal(lo, inlen);
    assert_memory_equal(p, in, inlen);
}

/* CKA_ALLOWED_MECHANISMS (§4.7.2): a non-empty list admits only its mechanisms; an empty one
 * restricts nothing. */
static void test_allowed_mechanisms(void **state)
{
    (void)state;
    struct st_op *op = NULL;
    CK_MECHANISM_TYPE only_ecb_cbc[] = {CKM_AES_ECB, CKM_AES_CBC};
    CK_ATTRIBUTE t[] = {
            TK_ATTR(CKA_ENCRYPT, tk_true),
            TK_ATTR(CKA_DECRYPT, tk_true),
            {CKA_ALLOWED_MECHANISMS, only_ecb_cbc, sizeof(only_ecb_cbc)},
    };
    struct st_object *restricted = NULL, *open = NULL;
    assert_int_equal(st_object_new_secret(u_secbuf_dup(k256, 32), CKK_AES, t, 3, ST_ORIGIN_UNWRAP,
                                          CK_UNAVAILABLE_INFORMATION, NULL, &restricted),
                     CKR_OK);
    t[2].ulValueLen = 0;
    assert_int_equal(st_object_new_secret(u_secbuf_dup(k256, 32), CKK_AES, t, 3, ST_ORIGIN_UNWRAP,
                                          CK_UNAVAILABLE_INFORMATION, NULL, &open),
                     CKR_OK);
    CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
    CK_MECHANISM cbc = {CKM_AES_CBC, (void *)(uintptr_t)iv16, 16};
    CK_MECHANISM cbc_pad = {CKM_AES_CBC_PAD, (void *)(uintptr_t)iv16, 16};
    assert_int_equal(st_op_new(ST_OP_ENCRYPT, &ecb, restricted, &op), CKR_OK);
    st_op_free(op);
    assert_int_equal(st_op_new(ST_OP_DECRYPT, &cbc, restricted, &op), CKR_OK);
    st_op_free(op);
    op = NULL;
    assert_int_equal(st_op_new(ST_OP_ENCRYPT, &cbc_pad, restricted, &op), CKR_MECHANISM_INVALID);
    assert_null(op);
    assert_int_equal(st_op_new(ST_OP_ENCRYPT, &cbc_pad, open, &op), CKR_OK);
    st_op_free(op);
    st_object_unref(restricted);
    st_object_unref(open);
}

static void test_aes_modes_multipart(void **state)
{
    (void)state;
    struct st_object *k = tk_secret(CKK_AES, k256, 32);
    CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
    roundtrip_cipher(&ecb, k, 256);
    CK_MECHANISM cbc = {CKM_AES_CBC, (void *)(uintptr_t)iv16, 16};
    roundtrip_cipher(&cbc, k, 256);
    CK_MECHANISM cbcpad = {CKM_AES_CBC_PAD, (void *)(uintptr_t)iv16, 16};
    roundtrip_cipher(&cbcpad, k, 255);
    roundtrip_cipher(&cbcpad, k, 256);
    roundtrip_cipher(&cbcpad, k, 1);
    CK_AES_CTR_PARAMS ctr = {128, {0}};
    memcpy(ctr.cb, iv16, 16);
    CK_MECHANISM ctrm = {CKM_AES_CTR, &ctr, sizeof(ctr)};
    roundtrip_cipher(&ctrm, k, 299);
    unsigned char gcmiv[12] = {9, 8, 7};
    unsigned char aad[5] = {1, 2, 3, 4, 5};
    CK_GCM_PARAMS gp = {gcmiv, 12, 96, aad, 5, 96};
    CK_MECHANISM gcm = {CKM_AES_GCM, &gp, sizeof(gp)};
    roundtrip_cipher(&gcm, k, 123);
    st_object_unref(k);
}

/* A 2-bit counter starting at 2 allows two blocks (PKCS#11 3.0 §2.14.5: the counter must not
 * wrap); the third block is CKR_DATA_LEN_RANGE, single- and multi-part. */
static void test_aes_ctr_counter_bits(void **state)
{
    (void)state;
    struct st_object *k = tk_secret(CKK_AES, k256, 16);
    CK_AES_CTR_PARAMS p = {2, {0}};
    p.cb[15] = 2;
    CK_MECHANISM m = {CKM_AES_CTR, &p, sizeof(p)};
    unsigned char in[48] = {0};
    unsigned char out[48];
    CK_ULONG len = sizeof(out);
    assert_int_equal(oneshot(ST_OP_ENCRYPT, &m, k, in, 32, out, &len), CKR_OK);
    len = sizeof(out);
    assert_int_equal(oneshot(ST_OP_ENCRYPT, &m, k, in, 33, out, &len), CKR_DATA_LEN_RANGE);
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_ENCRYPT, &m, k, &op), CKR_OK);
    len = sizeof(out);
    assert_int_equal(st_op_update(op, in, 20, out, &len), CKR_OK);
    len = sizeof(out);
    assert_int_equal(st_op_update(op, in, 12, out, &len), CKR_OK);
    len = sizeof(out);
    assert_int_equal(st_op_update(op, in, 1, out, &len), CKR_DATA_LEN_RANGE);
    st_op_free(op);
    st_object_unref(k);
}

/* CBC_PAD decryption into a buffer big enough for the plaintext but not the ciphertext. */
static void test_cbc_pad_exact_length(void **state)
{
    (void)state;
    struct st_object *k = tk_secret(CKK_AES, k256, 16);
    CK_MECHANISM m = {CKM_AES_CBC_PAD, (void *)(uintptr_t)iv16, 16};
    unsigned char c[32];
    CK_ULONG cl = sizeof(c);
    assert_int_equal(oneshot(ST_OP_ENCRYPT, &m, k, "0123456789", 10, c, &cl), CKR_OK);
    assert_int_equal(cl, 16);
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_DECRYPT, &m, k, &op), CKR_OK);
    unsigned char p[16];
    CK_ULONG pl = 9;
    assert_int_equal(st_op_oneshot(op, c, cl, p, &pl), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(pl, 10);
    assert_int_equal(st_op_oneshot(op, c, cl, p, &pl), CKR_OK);
    assert_memory_equal(p, "0123456789", 10);
    st_op_free(op);
    st_object_unref(k);
}

static void rsa_crypt(CK_MECHANISM *m, struct st_object *pub, struct st_object *priv, size_t inlen,
                      CK_RV want_enc)
{
    unsigned char in[256];
    memset(in, 0x5a, sizeof(in));
    in[0] = 0x01;
    unsigned char c[256];
    unsigned char p[256];
    CK_ULONG cl = sizeof(c);
    assert_int_equal(oneshot(ST_OP_ENCRYPT, m, pub, in, inlen, c, &cl), want_enc);
    if (want_enc != CKR_OK)
        return;
    CK_ULONG pl = sizeof(p);
    assert_int_equal(oneshot(ST_OP_DECRYPT, m, priv, c, cl, p, &pl), CKR_OK);
    assert_int_equal(pl, m->mechanism == CKM_RSA_X_509 ? 256 : inlen);
    assert_memory_equal(p + pl - inlen, in, inlen);
    c[5] ^= 1;
    pl = sizeof(p);
    if (m->mechanism != CKM_RSA_X_509)
        assert_int_equal(oneshot(ST_OP_DECRYPT, m, priv, c, cl, p, &pl),
                         CKR_ENCRYPTED_DATA_INVALID);
    assert_int_equal(oneshot(ST_OP_DECRYPT, m, priv, c, cl - 1, p, &pl),
                     CKR_ENCRYPTED_DATA_LEN_RANGE);
}

static void test_rsa_encrypt(void **state)
{
    (void)state;
    struct st_object *priv = tk_private("rsa2048.pem");
    struct st_object *pub = tk_public_of("rsa2048.pem");
    CK_MECHANISM pkcs = {CKM_RSA_PKCS, NULL, 0};
    rsa_crypt(&pkcs, pub, priv, 245, CKR_OK);
    rsa_crypt(&pkcs, pub, priv, 246, CKR_DATA_LEN_RANGE);
    char label[] = "label";
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, CKZ_DATA_SPECIFIED, label, 5};
    CK_MECHANISM om = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    rsa_crypt(&om, pub, priv, 190, CKR_OK);
    rsa_crypt(&om, pub, priv, 191, CKR_DATA_LEN_RANGE);
    CK_RSA_PKCS_OAEP_PARAMS oaep1 = {CKM_SHA_1, CKG_MGF1_SHA1, 0, NULL, 0};
    CK_MECHANISM om1 = {CKM_RSA_PKCS_OAEP, &oaep1, sizeof(oaep1)};
    rsa_crypt(&om1, pub, priv, 32, CKR_OK);
    CK_RSA_PKCS_OAEP_PARAMS oaep512 = {CKM_SHA512, CKG_MGF1_SHA512, 0, NULL, 0};
    CK_MECHANISM om512 = {CKM_RSA_PKCS_OAEP, &oaep512, sizeof(oaep512)};
    rsa_crypt(&om512, pub, priv, 20, CKR_OK);
    CK_MECHANISM x509 = {CKM_RSA_X_509, NULL, 0};
    rsa_crypt(&x509, pub, priv, 100, CKR_OK);
    st_object_unref(priv);
    st_object_unref(pub);
}

static void sign_verify(CK_MECHANISM *m, struct st_object *priv, struct st_object *pub,
                        const void *data, size_t len, CK_ULONG siglen)
{
    unsigned char sig[600];
    CK_ULONG sl = 0;
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_SIGN, m, priv, &op), CKR_OK);
    assert_int_equal(st_op_oneshot(op, data, (CK_ULONG)len, NULL, &sl), CKR_OK);
    assert_int_equal(sl, siglen);
    assert_int_equal(st_op_oneshot(op, data, (CK_ULONG)len, sig, &sl), CKR_OK);
    st_op_free(op);
    assert_int_equal(verify(m, pub, data, len, sig, sl), CKR_OK);
    sig[sl / 2] ^= 0x10;
    assert_int_equal(verify(m, pub, data, len, sig, sl), CKR_SIGNATURE_INVALID);
}

/* Multi-part sign verified single-part, and single-part verified multi-part. */
static void sign_verify_parts(CK_MECHANISM *m, struct st_object *priv, struct st_object *pub)
{
    const char *msg = "a message signed in three parts";
    struct st_op *op = NULL;
    unsigned char sig[600];
    CK_ULONG sl = sizeof(sig);
    assert_int_equal(st_op_new(ST_OP_SIGN, m, priv, &op), CKR_OK);
    assert_int_equal(st_op_update(op, (const CK_BYTE *)msg, 2, NULL, NULL), CKR_OK);
    assert_int_equal(st_op_update(op, (const CK_BYTE *)msg + 2, 10, NULL, NULL), CKR_OK);
    assert_int_equal(st_op_update(op, (const CK_BYTE *)msg + 12, 19, NULL, NULL), CKR_OK);
    assert_int_equal(st_op_final(op, sig, &sl), CKR_OK);
    st_op_free(op);
    assert_int_equal(verify(m, pub, msg, 31, sig, sl), CKR_OK);
    assert_int_equal(st_op_new(ST_OP_VERIFY, m, pub, &op), CKR_OK);
    assert_int_equal(st_op_update(op, (const CK_BYTE *)msg, 20, NULL, NULL), CKR_OK);
    assert_int_equal(st_op_update(op, (const CK_BYTE *)msg + 20, 11, NULL, NULL), CKR_OK);
    assert_int_equal(st_op_verify_final(op, sig, sl), CKR_OK);
    st_op_free(op);
}

static void test_rsa_sign(void **state)
{
    (void)state;
    struct st_object *priv = tk_private("rsa2048.pem");
    struct st_object *pub = tk_public_of("rsa2048.pem");
    static const CK_MECHANISM_TYPE hashed[] = {CKM_SHA1_RSA_PKCS, CKM_SHA224_RSA_PKCS,
                                               CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS,
                                               CKM_SHA512_RSA_PKCS};
    for (size_t i = 0; i < 5; i++) {
        CK_MECHANISM m = {hashed[i], NULL, 0};
        sign_verify(&m, priv, pub, "data", 4, 256);
        sign_verify_parts(&m, priv, pub);
    }
    CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
    CK_MECHANISM pm = {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)};
    sign_verify(&pm, priv, pub, "data", 4, 256);
    sign_verify_parts(&pm, priv, pub);
    CK_RSA_PKCS_PSS_PARAMS pss5 = {CKM_SHA512, CKG_MGF1_SHA512, 64};
    CK_MECHANISM pm5 = {CKM_SHA512_RSA_PKCS_PSS, &pss5, sizeof(pss5)};
    sign_verify_parts(&pm5, priv, pub);
    CK_MECHANISM raw_pss = {CKM_RSA_PKCS_PSS, &pss, sizeof(pss)};
    unsigned char h[32] = {1, 2, 3};
    sign_verify(&raw_pss, priv, pub, h, 32, 256);
    unsigned char sig[256];
    CK_ULONG sl = sizeof(sig);
    assert_int_equal(oneshot(ST_OP_SIGN, &raw_pss, priv, h, 31, sig, &sl), CKR_DATA_LEN_RANGE);
    CK_MECHANISM raw = {CKM_RSA_PKCS, NULL, 0};
    sign_verify(&raw, priv, pub, "digestinfo", 10, 256);
    CK_MECHANISM x509 = {CKM_RSA_X_509, NULL, 0};
    sign_verify(&x509, priv, pub, "raw", 3, 256);
    st_object_unref(priv);
    st_object_unref(pub);
}

static void test_ecdsa_eddsa(void **state)
{
    (void)state;
    const char *keys[] = {"ec-p256.pem", "ec-p384.pem"};
    const CK_ULONG siglen[] = {64, 96};
    for (size_t k = 0; k < 2; k++) {
        struct st_object *priv = tk_private(keys[k]);
        struct st_object *pub = tk_public_of(keys[k]);
        static const CK_MECHANISM_TYPE mechs[] = {CKM_ECDSA_SHA1, CKM_ECDSA_SHA224,
                                                  CKM_ECDSA_SHA256, CKM_ECDSA_SHA384,
                                                  CKM_ECDSA_SHA512};
        for (size_t i = 0; i < 5; i++) {
            CK_MECHANISM m = {mechs[i], NULL, 0};
            sign_verify(&m, priv, pub, "data", 4, siglen[k]);
            sign_verify_parts(&m, priv, pub);
        }
        CK_MECHANISM raw = {CKM_ECDSA, NULL, 0};
        unsigned char h[48] = {7};
        sign_verify(&raw, priv, pub, h, 48, siglen[k]);
        st_object_unref(priv);
        st_object_unref(pub);
    }
    struct st_object *priv = tk_private("ed25519.pem");
    struct st_object *pub = tk_public_of("ed25519.pem");
    CK_MECHANISM ed = {CKM_EDDSA, NULL, 0};
    sign_verify(&ed, priv, pub, "data", 4, 64);
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_SIGN, &ed, priv, &op), CKR_OK);
    assert_int_equal(st_op_update(op, (const CK_BYTE *)"x", 1, NULL, NULL),
                     CKR_FUNCTION_NOT_SUPPORTED);
    st_op_free(op);
    st_object_unref(priv);
    st_object_unref(pub);
}

/* Many P-256 signatures through the r||s <-> DER conversion: integers with leading zero bytes
 * (1 in 256) and with the high bit set (1 in 2) both occur; each must verify. */
static void test_ecdsa_rs_conversion(void **state)
{
    (void)state;
    struct st_object *priv = tk_private("ec-p256.pem");
    struct st_object *pub = tk_public_of("ec-p256.pem");
    CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
    unsigned char h[32] = {0};
    int zero = 0;
    for (int i = 0; i < 1000; i++) {
        memcpy(h, &i, sizeof(i));
        unsigned char sig[64];
        CK_ULONG sl = sizeof(sig);
        assert_int_equal(oneshot(ST_OP_SIGN, &m, priv, h, 32, sig, &sl), CKR_OK);
        assert_int_equal(sl, 64);
        zero += sig[0] == 0 || sig[32] == 0;
        assert_int_equal(verify(&m, pub, h, 32, sig, sl), CKR_OK);
    }
    (void)zero;
    st_object_unref(priv);
    st_object_unref(pub);
}

static void test_digest_key_and_random(void **state)
{
    (void)state;
    struct st_object *k = tk_secret(CKK_AES, k256, 32);
    struct st_object *rsa = tk_private("rsa2048.pem");
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_DIGEST, &m, NULL, &op), CKR_OK);
    assert_int_equal(st_op_digest_key(op, k), CKR_OK);
    unsigned char md[32];
    unsigned char want[32];
    CK_ULONG len = sizeof(md);
    assert_int_equal(st_op_final(op, md, &len), CKR_OK);
    st_op_free(op);
    EVP_Digest(k256, 32, want, NULL, EVP_sha256(), NULL);
    assert_memory_equal(md, want, 32);
    assert_int_equal(st_op_new(ST_OP_DIGEST, &m, NULL, &op), CKR_OK);
    assert_int_equal(st_op_digest_key(op, rsa), CKR_KEY_INDIGESTIBLE);
    st_op_free(op);
    unsigned char r1[32] = {0};
    unsigned char r2[32] = {0};
    assert_int_equal(st_random(r1, 32), CKR_OK);
    assert_int_equal(st_random(r2, 32), CKR_OK);
    assert_memory_not_equal(r1, r2, 32);
    st_object_unref(k);
    st_object_unref(rsa);
}

static void test_keygen(void **state)
{
    (void)state;
    CK_ULONG len = 32;
    CK_ATTRIBUTE t[] = {{CKA_VALUE_LEN, &len, sizeof(len)},
                        TK_ATTR(CKA_ENCRYPT, tk_true),
                        TK_ATTR(CKA_DECRYPT, tk_true)};
    CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
    struct st_object *k = NULL;
    assert_int_equal(st_key_generate(&m, t, 3, &k), CKR_OK);
    assert_int_equal(st_object_secret(k)->len, 32);
    CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
    roundtrip_cipher(&ecb, k, 64);
    st_object_unref(k);
    len = 20;
    assert_int_equal(st_key_generate(&m, t, 3, &k), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(st_key_generate(&m, t + 1, 2, &k), CKR_TEMPLATE_INCOMPLETE);
    CK_MECHANISM g = {CKM_GENERIC_SECRET_KEY_GEN, NULL, 0};
    assert_int_equal(st_key_generate(&g, t, 1, &k), CKR_OK);
    assert_int_equal(st_object_key_type(k), CKK_GENERIC_SECRET);
    st_object_unref(k);

    CK_ULONG bits = 2048;
    CK_BYTE e[] = {1, 0, 1};
    CK_ATTRIBUTE pubt[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                           {CKA_PUBLIC_EXPONENT, e, 3},
                           TK_ATTR(CKA_VERIFY, tk_true)};
    CK_ATTRIBUTE privt[] = {TK_ATTR(CKA_SIGN, tk_true)};
    CK_MECHANISM rg = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
    struct st_object *pub = NULL;
    struct st_object *priv = NULL;
    assert_int_equal(st_keypair_generate(&rg, pubt, 3, privt, 1, &pub, &priv), CKR_OK);
    CK_MECHANISM s = {CKM_SHA256_RSA_PKCS, NULL, 0};
    sign_verify(&s, priv, pub, "x", 1, 256);
    st_object_unref(pub);
    st_object_unref(priv);
    bits = 1024;
    assert_int_equal(st_keypair_generate(&rg, pubt, 3, privt, 1, &pub, &priv), CKR_KEY_SIZE_RANGE);

    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const CK_BYTE ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
                                      'd',  's',  '2', '5', '5', '1', '9'};
    CK_ATTRIBUTE ect[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)p256, sizeof(p256)},
                          TK_ATTR(CKA_VERIFY, tk_true)};
    CK_MECHANISM eg = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    assert_int_equal(st_keypair_generate(&eg, ect, 2, privt, 1, &pub, &priv), CKR_OK);
    CK_MECHANISM es = {CKM_ECDSA_SHA256, NULL, 0};
    sign_verify(&es, priv, pub, "x", 1, 64);
    st_object_unref(pub);
    st_object_unref(priv);
    CK_ATTRIBUTE edt[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)ed25519, sizeof(ed25519)},
                          TK_ATTR(CKA_VERIFY, tk_true)};
    assert_int_equal(st_keypair_generate(&eg, edt, 2, privt, 1, &pub, &priv),
                     CKR_CURVE_NOT_SUPPORTED);
    CK_MECHANISM edg = {CKM_EC_EDWARDS_KEY_PAIR_GEN, NULL, 0};
    assert_int_equal(st_keypair_generate(&edg, edt, 2, privt, 1, &pub, &priv), CKR_OK);
    CK_MECHANISM eds = {CKM_EDDSA, NULL, 0};
    sign_verify(&eds, priv, pub, "x", 1, 64);
    st_object_unref(pub);
    st_object_unref(priv);
    /* Ed448 by OID 1.3.101.113, P-521 by OID 1.3.132.0.35: the ends of the advertised ranges. */
    static const CK_BYTE ed448[] = {0x06, 0x03, 0x2b, 0x65, 0x71};
    CK_ATTRIBUTE e448t[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)ed448, sizeof(ed448)}};
    assert_int_equal(st_keypair_generate(&edg, e448t, 1, privt, 1, &pub, &priv), CKR_OK);
    sign_verify(&eds, priv, pub, "x", 1, 114);
    st_object_unref(pub);
    st_object_unref(priv);
    static const CK_BYTE p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
    CK_ATTRIBUTE p521t[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)p521, sizeof(p521)}};
    assert_int_equal(st_keypair_generate(&eg, p521t, 1, privt, 1, &pub, &priv), CKR_OK);
    CK_MECHANISM es512 = {CKM_ECDSA_SHA512, NULL, 0};
    sign_verify(&es512, priv, pub, "x", 1, 132);
    st_object_unref(pub);
    st_object_unref(priv);
    static const CK_BYTE k1[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a}; /* secp256k1 */
    CK_ATTRIBUTE k1t[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)k1, sizeof(k1)}};
    assert_int_equal(st_keypair_generate(&eg, k1t, 1, privt, 1, &pub, &priv),
                     CKR_CURVE_NOT_SUPPORTED);
}

static void test_wrap_unwrap(void **state)
{
    (void)state;
    struct st_object *kek = tk_secret(CKK_AES, k256, 32);
    struct st_object *target = tk_secret(CKK_AES, k256 + 8, 24);
    struct st_object *locked = tk_secret_deny(CKK_AES, k256, 16, CKA_EXTRACTABLE);
    struct st_object *nowrap = tk_secret_deny(CKK_AES, k256, 32, CKA_WRAP);
    CK_MECHANISM kw = {CKM_AES_KEY_WRAP, NULL, 0};
    unsigned char w[2048];
    CK_ULONG wl = 0;
    assert_int_equal(st_key_wrap(&kw, kek, target, NULL, &wl), CKR_OK);
    assert_int_equal(wl, 32);
    assert_int_equal(st_key_wrap(&kw, kek, target, w, &wl), CKR_OK);
    assert_int_equal(st_key_wrap(&kw, kek, locked, w, &wl), CKR_KEY_UNEXTRACTABLE);
    assert_int_equal(st_key_wrap(&kw, nowrap, target, w, &wl), CKR_KEY_FUNCTION_NOT_PERMITTED);
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_ATTRIBUTE t[] = {TK_ATTR(CKA_CLASS, sk), TK_ATTR(CKA_KEY_TYPE, aes),
                        TK_ATTR(CKA_ENCRYPT, tk_true)};
    struct st_object *u = NULL;
    assert_int_equal(st_key_unwrap(&kw, kek, w, wl, t, 3, &u), CKR_OK);
    assert_int_equal(st_object_secret(u)->len, 24);
    assert_memory_equal(st_object_secret(u)->data, k256 + 8, 24);
    st_object_unref(u);
    w[3] ^= 1;
    assert_int_equal(st_key_unwrap(&kw, kek, w, wl, t, 3, &u), CKR_WRAPPED_KEY_INVALID);

    /* An EC private key wrapped as PKCS#8 with KWP, unwrapped, signs for the original public. */
    struct st_object *ec = tk_private("ec-p256.pem");
    struct st_object *ecpub = tk_public_of("ec-p256.pem");
    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    wl = sizeof(w);
    assert_int_equal(st_key_wrap(&kwp, kek, ec, w, &wl), CKR_OK);
    CK_OBJECT_CLASS pk = CKO_PRIVATE_KEY;
    CK_KEY_TYPE ect = CKK_EC;
    CK_ATTRIBUTE pt[] = {TK_ATTR(CKA_CLASS, pk), TK_ATTR(CKA_KEY_TYPE, ect),
                         TK_ATTR(CKA_SIGN, tk_true)};
    assert_int_equal(st_key_unwrap(&kwp, kek, w, wl, pt, 3, &u), CKR_OK);
    CK_MECHANISM es = {CKM_ECDSA_SHA256, NULL, 0};
    sign_verify(&es, u, ecpub, "x", 1, 64);
    st_object_unref(u);

    /* RSA OAEP wrap of an AES key. */
    struct st_object *rsapub = tk_public_of("rsa2048.pem");
    struct st_object *rsa = tk_private("rsa2048.pem");
    CK_RSA_PKCS_OAEP_PARAMS oaep = {CKM_SHA256, CKG_MGF1_SHA256, 0, NULL, 0};
    CK_MECHANISM om = {CKM_RSA_PKCS_OAEP, &oaep, sizeof(oaep)};
    wl = sizeof(w);
    assert_int_equal(st_key_wrap(&om, rsapub, target, w, &wl), CKR_OK);
    assert_int_equal(st_key_unwrap(&om, rsa, w, wl, t, 3, &u), CKR_OK);
    assert_memory_equal(st_object_secret(u)->data, k256 + 8, 24);
    st_object_unref(u);
    CK_MECHANISM ecb = {CKM_AES_ECB, NULL, 0};
    assert_int_equal(st_key_wrap(&ecb, kek, target, w, &wl), CKR_MECHANISM_INVALID);
    st_object_unref(rsa);
    st_object_unref(rsapub);
    st_object_unref(ec);
    st_object_unref(ecpub);
    st_object_unref(kek);
    st_object_unref(target);
    st_object_unref(locked);
    st_object_unref(nowrap);
}

static unsigned char *ec_point(const char *file, size_t *len)
{
    EVP_PKEY *k = tk_read_pem(file, true);
    size_t n = 0;
    EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", NULL, 0, &n);
    unsigned char *p = malloc(n + 2);
    EVP_PKEY_get_octet_string_param(k, "encoded-pub-key", p + 2, n, &n);
    EVP_PKEY_free(k);
    p[0] = 0x04; /* DER OCTET STRING header in front, for the second form */
    p[1] = (unsigned char)n;
    *len = n;
    return p;
}

static void test_ecdh(void **state)
{
    (void)state;
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE gen = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE t[] = {TK_ATTR(CKA_CLASS, sk), TK_ATTR(CKA_KEY_TYPE, gen),
                        TK_ATTR(CKA_SENSITIVE, tk_false), TK_ATTR(CKA_EXTRACTABLE, tk_true)};
    struct st_object *a = tk_private("ec-p256.pem");
    CK_ULONG bits = 0;
    (void)bits;
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_ATTRIBUTE ect[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)p256, sizeof(p256)}};
    CK_ATTRIBUTE privt[] = {TK_ATTR(CKA_DERIVE, tk_true)};
    CK_MECHANISM eg = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    struct st_object *bpub = NULL;
    struct st_object *b = NULL;
    assert_int_equal(st_keypair_generate(&eg, ect, 1, privt, 1, &bpub, &b), CKR_OK);
    size_t alen;
    unsigned char *apt = ec_point("ec-p256.pem", &alen);
    size_t blen = 0;
    EVP_PKEY_get_octet_string_param(st_object_pkey(bpub), "encoded-pub-key", NULL, 0, &blen);
    unsigned char bpt[70];
    EVP_PKEY_get_octet_string_param(st_object_pkey(bpub), "encoded-pub-key", bpt, 70, &blen);

    CK_ECDH1_DERIVE_PARAMS pa = {CKD_NULL, 0, NULL, (CK_ULONG)blen, bpt};
    CK_MECHANISM ma = {CKM_ECDH1_DERIVE, &pa, sizeof(pa)};
    struct st_object *za = NULL;
    assert_int_equal(st_key_derive(&ma, a, t, 4, &za), CKR_OK);
    CK_ECDH1_DERIVE_PARAMS pb = {CKD_NULL, 0, NULL, (CK_ULONG)alen + 2, apt}; /* DER form */
    CK_MECHANISM mb = {CKM_ECDH1_DERIVE, &pb, sizeof(pb)};
    struct st_object *zb = NULL;
    assert_int_equal(st_key_derive(&mb, b, t, 4, &zb), CKR_OK);
    assert_int_equal(st_object_secret(za)->len, 32);
    assert_memory_equal(st_object_secret(za)->data, st_object_secret(zb)->data, 32);
    /* An AES-128 key from CKD_NULL: the trailing 16 bytes of Z (PKCS#11 3.0 §2.3.9). */
    CK_KEY_TYPE aes = CKK_AES;
    CK_ULONG l16 = 16;
    CK_ATTRIBUTE ta[] = {
            TK_ATTR(CKA_CLASS, sk), TK_ATTR(CKA_KEY_TYPE, aes), {CKA_VALUE_LEN, &l16, sizeof(l16)}};
    struct st_object *z16 = NULL;
    assert_int_equal(st_key_derive(&ma, a, ta, 3, &z16), CKR_OK);
    assert_int_equal(st_object_key_type(z16), CKK_AES);
    assert_memory_equal(st_object_secret(z16)->data, st_object_secret(za)->data + 16, 16);
    st_object_unref(z16);
    st_object_unref(za);
    st_object_unref(zb);

    unsigned char shared[4] = {1, 2, 3, 4};
    CK_ULONG vlen = 48;
    CK_ATTRIBUTE t2[] = {TK_ATTR(CKA_CLASS, sk),
                         TK_ATTR(CKA_KEY_TYPE, gen),
                         {CKA_VALUE_LEN, &vlen, sizeof(vlen)}};
    pa.kdf = CKD_SHA256_KDF;
    pa.pSharedData = shared;
    pa.ulSharedDataLen = 4;
    pb.kdf = CKD_SHA256_KDF;
    pb.pSharedData = shared;
    pb.ulSharedDataLen = 4;
    pb.pPublicData = apt + 2;
    pb.ulPublicDataLen = (CK_ULONG)alen;
    assert_int_equal(st_key_derive(&ma, a, t2, 3, &za), CKR_OK);
    assert_int_equal(st_key_derive(&mb, b, t2, 3, &zb), CKR_OK);
    assert_int_equal(st_object_secret(za)->len, 48);
    assert_memory_equal(st_object_secret(za)->data, st_object_secret(zb)->data, 48);
    st_object_unref(za);
    st_object_unref(zb);
    bpt[10] ^= 1; /* off the curve */
    pa.kdf = CKD_NULL;
    pa.pSharedData = NULL;
    pa.ulSharedDataLen = 0;
    assert_int_equal(st_key_derive(&ma, a, t, 4, &za), CKR_MECHANISM_PARAM_INVALID);
    free(apt);
    st_object_unref(a);
    st_object_unref(b);
    st_object_unref(bpub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_length_query_and_too_small_keep),
            cmocka_unit_test(test_error_ends_operation),
            cmocka_unit_test(test_init_checks),
            cmocka_unit_test(test_allowed_mechanisms),
            cmocka_unit_test(test_aes_modes_multipart),
            cmocka_unit_test(test_aes_ctr_counter_bits),
            cmocka_unit_test(test_cbc_pad_exact_length),
            cmocka_unit_test(test_rsa_encrypt),
            cmocka_unit_test(test_rsa_sign),
            cmocka_unit_test(test_ecdsa_eddsa),
            cmocka_unit_test(test_ecdsa_rs_conversion),
            cmocka_unit_test(test_digest_key_and_random),
            cmocka_unit_test(test_keygen),
            cmocka_unit_test(test_wrap_unwrap),
            cmocka_unit_test(test_ecdh),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
