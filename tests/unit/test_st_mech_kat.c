/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Known-answer tests of the softtoken mechanisms against published vectors:
 *   SHA-1/2: FIPS 180-2 Appendix A-C ("abc", the 448-bit two-block message);
 *   HMAC: RFC 4231 §4.2/§4.3 (test cases 1 and 2), RFC 2202 §3 (HMAC-SHA-1 case 2);
 *   AES-GCM: McGrew & Viega, "The Galois/Counter Mode of Operation", test cases 3, 4, 16;
 *   AES-KW: RFC 3394 §4.1 and §4.6; AES-KWP: RFC 5649 §6;
 *   CMAC: RFC 4493 §4 (= NIST SP 800-38B D.1) examples 1, 2, 4;
 *   Ed25519: RFC 8032 §7.1 TEST 1 and TEST 2 (sign is deterministic: exact signature);
 *   RSA PKCS#1 v1.5 SHA-256 and ECDSA P-256 SHA-256: fixed signatures made once with the
 *   openssl command and committed in tests/data/softtoken (see its README.md).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/hmac.h>

#include "st_test_util.h"

/* One single-part operation; compares with `expect_hex`. */
static void run_oneshot(enum st_op_type type, CK_MECHANISM *m, struct st_object *key,
                        const unsigned char *in, size_t inlen, const char *expect_hex)
{
    size_t elen;
    unsigned char *expect = tk_hex(expect_hex, &elen);
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(type, m, key, &op), CKR_OK);
    unsigned char out[512];
    CK_ULONG outlen = sizeof(out);
    assert_int_equal(st_op_oneshot(op, in, inlen, out, &outlen), CKR_OK);
    assert_int_equal(outlen, elen);
    assert_memory_equal(out, expect, elen);
    st_op_free(op);
    free(expect);
}

static void run_oneshot_hex(enum st_op_type type, CK_MECHANISM *m, struct st_object *key,
                            const char *in_hex, const char *expect_hex)
{
    size_t inlen;
    unsigned char *in = tk_hex(in_hex, &inlen);
    run_oneshot(type, m, key, in, inlen, expect_hex);
    free(in);
}

static void run_verify(CK_MECHANISM *m, struct st_object *key, const unsigned char *data,
                       size_t len, const unsigned char *sig, size_t siglen, CK_RV want)
{
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_VERIFY, m, key, &op), CKR_OK);
    assert_int_equal(st_op_verify(op, data, len, sig, siglen), want);
    st_op_free(op);
}

static int setup(void **state)
{
    (void)state;
    return st_init() == CKR_OK ? 0 : -1;
}

static void test_sha(void **state)
{
    (void)state;
    static const struct {
        CK_MECHANISM_TYPE m;
        const char *md;
    } v[] = {
            {CKM_SHA_1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
            {CKM_SHA224, "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"},
            {CKM_SHA256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
            {CKM_SHA384, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
                         "8086072ba1e7cc2358baeca134c825a7"},
            {CKM_SHA512, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                         "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        CK_MECHANISM m = {v[i].m, NULL, 0};
        run_oneshot(ST_OP_DIGEST, &m, NULL, (const unsigned char *)"abc", 3, v[i].md);
    }
}

/* FIPS 180-2 §B.2, fed in uneven pieces through update/final. */
static void test_sha256_multipart(void **state)
{
    (void)state;
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    size_t elen;
    unsigned char *expect =
            tk_hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1", &elen);
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_DIGEST, &m, NULL, &op), CKR_OK);
    assert_int_equal(st_op_update(op, (const CK_BYTE *)msg, 5, NULL, NULL), CKR_OK);
    assert_int_equal(st_op_update(op, (const CK_BYTE *)msg + 5, 51, NULL, NULL), CKR_OK);
    assert_true(st_op_in_multipart(op));
    unsigned char out[32];
    CK_ULONG outlen = 0;
    assert_int_equal(st_op_final(op, NULL, &outlen), CKR_OK);
    assert_int_equal(outlen, 32);
    outlen = 31;
    assert_int_equal(st_op_final(op, out, &outlen), CKR_BUFFER_TOO_SMALL);
    outlen = 32;
    assert_int_equal(st_op_final(op, out, &outlen), CKR_OK);
    assert_memory_equal(out, expect, 32);
    st_op_free(op);
    free(expect);
}

static void test_hmac(void **state)
{
    (void)state;
    static const struct {
        CK_MECHANISM_TYPE m;
        const char *mac;
    } v[] = {
            {CKM_SHA_1_HMAC, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
            {CKM_SHA224_HMAC, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44"},
            {CKM_SHA256_HMAC, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
            {CKM_SHA384_HMAC, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
                              "8e2240ca5e69e2c78b3239ecfab21649"},
            {CKM_SHA512_HMAC, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                              "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    };
    const char *data = "what do ya want for nothing?";
    struct st_object *key = tk_secret(CKK_GENERIC_SECRET, (const unsigned char *)"Jefe", 4);
    assert_non_null(key);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        CK_MECHANISM m = {v[i].m, NULL, 0};
        run_oneshot(ST_OP_SIGN, &m, key, (const unsigned char *)data, strlen(data), v[i].mac);
        size_t len;
        unsigned char *mac = tk_hex(v[i].mac, &len);
        run_verify(&m, key, (const unsigned char *)data, strlen(data), mac, len, CKR_OK);
        mac[0] ^= 1;
        run_verify(&m, key, (const unsigned char *)data, strlen(data), mac, len,
                   CKR_SIGNATURE_INVALID);
        run_verify(&m, key, (const unsigned char *)data, strlen(data), mac, len - 1,
                   CKR_SIGNATURE_LEN_RANGE);
        free(mac);
    }
    st_object_unref(key);
}

/* RFC 4231 test case 1 through _GENERAL (truncated to 16 bytes); and HMAC accepts an AES-typed
 * key (no published vector has a 16/24/32-byte key: compared with OpenSSL's HMAC()). */
static void test_hmac_general_and_aes_key(void **state)
{
    (void)state;
    struct st_object *key =
            tk_secret_hex(CKK_GENERIC_SECRET, "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
    CK_ULONG len = 16;
    CK_MECHANISM m = {CKM_SHA256_HMAC_GENERAL, &len, sizeof(len)};
    run_oneshot(ST_OP_SIGN, &m, key, (const unsigned char *)"Hi There", 8,
                "b0344c61d8db38535ca8afceaf0bf12b");
    CK_MECHANISM full = {CKM_SHA256_HMAC, NULL, 0};
    run_oneshot(ST_OP_SIGN, &full, key, (const unsigned char *)"Hi There", 8,
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    st_object_unref(key);

    unsigned char k[32];
    memset(k, 0x0b, sizeof(k));
    unsigned char md[32];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), k, sizeof(k), (const unsigned char *)"Hi There", 8, md, &mdlen);
    char hex[65];
    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    key = tk_secret(CKK_AES, k, sizeof(k));
    assert_non_null(key);
    run_oneshot(ST_OP_SIGN, &full, key, (const unsigned char *)"Hi There", 8, hex);
    st_object_unref(key);
}

static void gcm_case(const char *k, const char *iv_hex, const char *aad_hex, const char *p,
                     const char *c_and_tag)
{
    size_t ivlen;
    size_t aadlen;
    unsigned char *iv = tk_hex(iv_hex, &ivlen);
    unsigned char *aad = tk_hex(aad_hex, &aadlen);
    struct st_object *key = tk_secret_hex(CKK_AES, k);
    assert_non_null(key);
    CK_GCM_PARAMS gp = {iv, ivlen, ivlen * 8, aadlen ? aad : NULL, aadlen, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    run_oneshot_hex(ST_OP_ENCRYPT, &m, key, p, c_and_tag);
    run_oneshot_hex(ST_OP_DECRYPT, &m, key, c_and_tag, p);
    st_object_unref(key);
    free(iv);
    free(aad);
}

static void test_aes_gcm(void **state)
{
    (void)state;
    const char *p = "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
    const char *aad = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
    /* Test case 3: no AAD, 64 bytes. */
    gcm_case("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", "",
             "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
             "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
             "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
             "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
             "4d5c2af327cd64a62cf35abd2ba6fab4");
    /* Test case 4: AAD, 60 bytes. */
    gcm_case("feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888", aad, p,
             "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
             "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
             "5bc94fbc3221a5db94fae95ae7121a47");
    /* Test case 16: AES-256, AAD. */
    gcm_case("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
             "cafebabefacedbaddecaf888", aad, p,
             "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
             "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
             "76fc6ece0f4e1768cddf8853bb2d551b");
}

static void test_aes_gcm_tamper(void **state)
{
    (void)state;
    struct st_object *key = tk_secret_hex(CKK_AES, "feffe9928665731c6d6a8f9467308308");
    unsigned char iv[12] = {0};
    CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
    CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
    size_t clen;
    unsigned char *c =
            tk_hex("42831ec2217774244b7221b784d0d49c4d5c2af327cd64a62cf35abd2ba6fab4", &clen);
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_DECRYPT, &m, key, &op), CKR_OK);
    unsigned char out[64];
    CK_ULONG outlen = sizeof(out);
    assert_int_equal(st_op_oneshot(op, c, clen, out, &outlen), CKR_ENCRYPTED_DATA_INVALID);
    st_op_free(op);
    free(c);
    st_object_unref(key);
}

static void test_aes_kw(void **state)
{
    (void)state;
    CK_MECHANISM kw = {CKM_AES_KEY_WRAP, NULL, 0};
    struct st_object *kek = tk_secret_hex(CKK_AES, "000102030405060708090A0B0C0D0E0F");
    run_oneshot_hex(ST_OP_ENCRYPT, &kw, kek, "00112233445566778899AABBCCDDEEFF",
                    "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");
    run_oneshot_hex(ST_OP_DECRYPT, &kw, kek, "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5",
                    "00112233445566778899AABBCCDDEEFF");
    st_object_unref(kek);
    kek = tk_secret_hex(CKK_AES,
                        "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
    run_oneshot_hex(ST_OP_ENCRYPT, &kw, kek,
                    "00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
                    "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43B"
                    "FB988B9B7A02DD21");
    st_object_unref(kek);

    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    kek = tk_secret_hex(CKK_AES, "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
    run_oneshot_hex(ST_OP_ENCRYPT, &kwp, kek, "c37b7e6492584340bed12207808941155068f738",
                    "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
    run_oneshot_hex(ST_OP_ENCRYPT, &kwp, kek, "466f7250617369", "afbeb0f07dfbf5419200f2ccb50bb24f");
    run_oneshot_hex(ST_OP_DECRYPT, &kwp, kek, "afbeb0f07dfbf5419200f2ccb50bb24f", "466f7250617369");
    st_object_unref(kek);
}

static void test_aes_cmac(void **state)
{
    (void)state;
    struct st_object *key = tk_secret_hex(CKK_AES, "2b7e151628aed2a6abf7158809cf4f3c");
    CK_MECHANISM m = {CKM_AES_CMAC, NULL, 0};
    run_oneshot_hex(ST_OP_SIGN, &m, key, "", "bb1d6929e95937287fa37d129b756746");
    run_oneshot_hex(ST_OP_SIGN, &m, key, "6bc1bee22e409f96e93d7e117393172a",
                    "070a16b46b4d4144f79bdd9dd04a287c");
    run_oneshot_hex(ST_OP_SIGN, &m, key,
                    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
                    "51f0bebf7e3b9d92fc49741779363cfe");
    CK_ULONG len = 8;
    CK_MECHANISM g = {CKM_AES_CMAC_GENERAL, &len, sizeof(len)};
    run_oneshot_hex(ST_OP_SIGN, &g, key, "6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144");
    st_object_unref(key);
}

static void ed25519_case(const char *sk_hex, const char *msg_hex, const char *sig_hex)
{
    size_t sklen;
    unsigned char *sk = tk_hex(sk_hex, &sklen);
    EVP_PKEY *pk = EVP_PKEY_new_raw_private_key_ex(st_libctx(), "ED25519", NULL, sk, sklen);
    assert_non_null(pk);
    struct st_object *pub = tk_public_from(st_pkey_public_dup(pk));
    struct st_object *priv = tk_private_from(pk);
    assert_non_null(priv);
    assert_non_null(pub);
    CK_MECHANISM m = {CKM_EDDSA, NULL, 0};
    run_oneshot_hex(ST_OP_SIGN, &m, priv, msg_hex, sig_hex);
    size_t mlen;
    size_t slen;
    unsigned char *msg = tk_hex(msg_hex, &mlen);
    unsigned char *sig = tk_hex(sig_hex, &slen);
    run_verify(&m, pub, msg, mlen, sig, slen, CKR_OK);
    sig[10] ^= 0x40;
    run_verify(&m, pub, msg, mlen, sig, slen, CKR_SIGNATURE_INVALID);
    free(msg);
    free(sig);
    free(sk);
    st_object_unref(pub);
    st_object_unref(priv);
}

static void test_ed25519(void **state)
{
    (void)state;
    ed25519_case("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "",
                 "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33b"
                 "acc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    ed25519_case("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "72",
                 "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e1599"
                 "6e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

static unsigned char *read_file(const char *name, size_t *len)
{
    FILE *f = fopen(tk_path(name), "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(4096);
    *len = fread(buf, 1, 4096, f);
    fclose(f);
    return buf;
}

static void test_rsa_known_signature(void **state)
{
    (void)state;
    size_t mlen;
    size_t slen;
    unsigned char *msg = read_file("kat-msg.bin", &mlen);
    unsigned char *sig = read_file("rsa2048-sha256.sig", &slen);
    struct st_object *pub = tk_public_from(tk_read_pem("rsa2048-pub.pem", false));
    assert_non_null(pub);
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    run_verify(&m, pub, msg, mlen, sig, slen, CKR_OK);
    msg[0] ^= 1;
    run_verify(&m, pub, msg, mlen, sig, slen, CKR_SIGNATURE_INVALID);
    run_verify(&m, pub, msg, mlen, sig, slen - 1, CKR_SIGNATURE_LEN_RANGE);
    free(msg);
    free(sig);
    st_object_unref(pub);
}

static void test_ecdsa_known_signature(void **state)
{
    (void)state;
    size_t mlen;
    size_t slen;
    unsigned char *msg = read_file("kat-msg.bin", &mlen);
    unsigned char *sig = tk_hex("1DDFC3423CE6EEB307F569949DA18335CDA02EC559F09E7FA7F4C2FB37B28394"
                                "70D222199CEAAB7FA9C89374937CD9F4E33795BF6C33CC932CA7288D9E9D084F",
                                &slen);
    struct st_object *pub = tk_public_from(tk_read_pem("ec-p256-pub.pem", false));
    assert_non_null(pub);
    CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
    run_verify(&m, pub, msg, mlen, sig, slen, CKR_OK);
    /* CKM_ECDSA over the SHA-256 of the message: the same signature. */
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(msg, mlen, md, &mdlen, EVP_sha256(), NULL);
    CK_MECHANISM raw = {CKM_ECDSA, NULL, 0};
    run_verify(&raw, pub, md, mdlen, sig, slen, CKR_OK);
    sig[63] ^= 1;
    run_verify(&m, pub, msg, mlen, sig, slen, CKR_SIGNATURE_INVALID);
    run_verify(&m, pub, msg, mlen, sig, 70, CKR_SIGNATURE_LEN_RANGE);
    free(msg);
    free(sig);
    st_object_unref(pub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sha),
            cmocka_unit_test(test_sha256_multipart),
            cmocka_unit_test(test_hmac),
            cmocka_unit_test(test_hmac_general_and_aes_key),
            cmocka_unit_test(test_aes_gcm),
            cmocka_unit_test(test_aes_gcm_tamper),
            cmocka_unit_test(test_aes_kw),
            cmocka_unit_test(test_aes_cmac),
            cmocka_unit_test(test_ed25519),
            cmocka_unit_test(test_rsa_known_signature),
            cmocka_unit_test(test_ecdsa_known_signature),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
