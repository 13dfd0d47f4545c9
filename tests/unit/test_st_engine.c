/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The softtoken inside a process that loaded libp11's PKCS#11 engine through OPENSSL_CONF and
 * made it the default for every algorithm (what `openssl -engine pkcs11`, nginx with
 * ssl_engine and libcurl's initialisation do). OpenSSL 3.0 then builds RSA/EC keys decoded the
 * legacy way (d2i_PUBKEY_ex, EVP_PKCS82PKEY_ex's fallback, "EC"/"RSA" by name) as ENGINE keys,
 * which the provider code cannot export: demo-ec's public object could not be made. Every key
 * the softtoken makes here (imported, public halves, generated, unwrapped, ECDH peers) must be
 * a provider key of its own library context, with no ENGINE, and must work.
 * Skipped (77) when libp11's engine is not installed.
 */
#define _POSIX_C_SOURCE             200809L
#define OPENSSL_SUPPRESS_DEPRECATED /* ENGINE_*, EVP_PKEY_get0_RSA: what the test observes */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>
#include <openssl/engine.h>
#include <openssl/rsa.h>

#include "st_object_test.h" /* ot_read */
#include "st_test_util.h"

/* The metadata a key source gives an imported key. */
static const struct st_key_meta meta = {
        .label = "engine-key", .id = NULL, .id_len = 0, .token = true, .private_ = true};

/* A key of the softtoken's library context: made by a provider, no ENGINE anywhere. */
static void assert_provider_key(const EVP_PKEY *k)
{
    assert_non_null(k);
    assert_null(EVP_PKEY_get0_engine(k));
    assert_non_null(EVP_PKEY_get0_provider(k));
}

/* Released RSA private keys are legacy RSA objects by design (u_pkcs8.h: secure-heap BIGNUMs,
 * no Montgomery cache), but with OpenSSL's own method, never the engine's. */
static void assert_no_engine(const EVP_PKEY *k)
{
    assert_non_null(k);
    assert_null(EVP_PKEY_get0_engine(k));
    if (EVP_PKEY_get0_provider(k) == NULL) {
        const RSA *rsa = EVP_PKEY_get0_RSA(k);
        assert_non_null(rsa);
        assert_null(RSA_get0_engine(rsa));
    }
}

static void sign_verify(CK_MECHANISM_TYPE mech, struct st_object *priv, struct st_object *pub)
{
    CK_MECHANISM m = {mech, NULL, 0};
    const char *msg = "signed while libp11's engine is the default";
    unsigned char sig[600];
    CK_ULONG sl = sizeof(sig);
    struct st_op *op = NULL;
    assert_int_equal(st_op_new(ST_OP_SIGN, &m, priv, &op), CKR_OK);
    assert_int_equal(st_op_oneshot(op, (const CK_BYTE *)msg, strlen(msg), sig, &sl), CKR_OK);
    st_op_free(op);
    assert_int_equal(st_op_new(ST_OP_VERIFY, &m, pub, &op), CKR_OK);
    assert_int_equal(st_op_verify(op, (const CK_BYTE *)msg, strlen(msg), sig, sl), CKR_OK);
    st_op_free(op);
    sig[sl / 2] ^= 0x10;
    assert_int_equal(st_op_new(ST_OP_VERIFY, &m, pub, &op), CKR_OK);
    assert_int_equal(st_op_verify(op, (const CK_BYTE *)msg, strlen(msg), sig, sl),
                     CKR_SIGNATURE_INVALID);
    st_op_free(op);
}

static const struct {
    const char *p8, *spki;
    CK_MECHANISM_TYPE sign;
} fixtures[] = {
        {"ec256.p8.der", "ec256.spki.der", CKM_ECDSA_SHA256},
        {"ec384.p8.der", NULL, CKM_ECDSA_SHA384},
        {"ec521.p8.der", NULL, CKM_ECDSA_SHA512},
        {"rsa2048.p8.der", "rsa2048.spki.der", CKM_SHA256_RSA_PKCS},
        {"ed25519.p8.der", "ed25519.spki.der", CKM_EDDSA},
        {"ed448.p8.der", NULL, CKM_EDDSA},
};

/* A released key (PKCS#8) with its public object, as the module imports demo-ec and demo-rsa. */
static void test_import_pkcs8(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        size_t len;
        unsigned char *der = ot_read(fixtures[i].p8, &len);
        struct st_object *priv = NULL, *pub = NULL;
        CK_RV rv = st_import_private_pkcs8(der, len, &meta, &priv, &pub);
        OPENSSL_cleanse(der, len);
        free(der);
        if (rv != CKR_OK)
            fail_msg("%s: st_import_private_pkcs8 returned 0x%lx", fixtures[i].p8, rv);
        assert_provider_key(st_object_pkey(pub));
        assert_no_engine(st_object_pkey(priv));
        sign_verify(fixtures[i].sign, priv, pub);
        st_object_unref(priv);
        st_object_unref(pub);
    }
}

/* Public keys from a key source (SubjectPublicKeyInfo) and certificates. */
static void test_import_spki_and_certificate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
        if (fixtures[i].spki == NULL)
            continue;
        size_t len;
        unsigned char *der = ot_read(fixtures[i].spki, &len);
        struct st_object *pub = NULL;
        CK_RV rv = st_import_public_spki(der, len, &meta, &pub);
        free(der);
        if (rv != CKR_OK)
            fail_msg("%s: st_import_public_spki returned 0x%lx", fixtures[i].spki, rv);
        assert_provider_key(st_object_pkey(pub));
        st_object_unref(pub);
    }
    static const char *const certs[] = {"ec256.cert.der", "rsa2048.cert.der", "ed25519.cert.der"};
    for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
        size_t len;
        unsigned char *der = ot_read(certs[i], &len);
        struct st_object *c = NULL;
        CK_RV rv = st_import_certificate(der, len, &meta, &c);
        free(der);
        if (rv != CKR_OK)
            fail_msg("%s: st_import_certificate returned 0x%lx", certs[i], rv);
        st_object_unref(c);
    }
}

/* C_GenerateKeyPair for EC and EdDSA: both halves provider keys. */
static void test_generate(void **state)
{
    (void)state;
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const CK_BYTE ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
    CK_ATTRIBUTE privt[] = {TK_ATTR(CKA_SIGN, tk_true)};
    struct {
        CK_MECHANISM_TYPE gen, sign;
        const CK_BYTE *params;
        CK_ULONG plen;
    } kinds[] = {
            {CKM_EC_KEY_PAIR_GEN, CKM_ECDSA_SHA256, p256, sizeof(p256)},
            {CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA, ed25519, sizeof(ed25519)},
    };
    for (size_t i = 0; i < 2; i++) {
        CK_MECHANISM g = {kinds[i].gen, NULL, 0};
        CK_ATTRIBUTE pubt[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)kinds[i].params, kinds[i].plen},
                               TK_ATTR(CKA_VERIFY, tk_true)};
        struct st_object *pub = NULL, *priv = NULL;
        assert_int_equal(st_keypair_generate(&g, pubt, 2, privt, 1, &pub, &priv), CKR_OK);
        assert_provider_key(st_object_pkey(pub));
        assert_provider_key(st_object_pkey(priv));
        sign_verify(kinds[i].sign, priv, pub);
        st_object_unref(pub);
        st_object_unref(priv);
    }
}

/* C_UnwrapKey of a PKCS#8 EC key, and ECDH with a peer point: the unwrapped key and the peer key
 * the derivation builds are provider keys (the derivation fails otherwise). */
static void test_unwrap_and_ecdh(void **state)
{
    (void)state;
    static const unsigned char kek_bytes[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    struct st_object *kek = tk_secret(CKK_AES, kek_bytes, sizeof(kek_bytes));
    assert_non_null(kek);
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    CK_ATTRIBUTE pubt[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)p256, sizeof(p256)}};
    CK_ATTRIBUTE gent[] = {TK_ATTR(CKA_DERIVE, tk_true), TK_ATTR(CKA_SENSITIVE, tk_false),
                           TK_ATTR(CKA_EXTRACTABLE, tk_true)};
    CK_MECHANISM eg = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
    struct st_object *apub = NULL, *a = NULL, *bpub = NULL, *b = NULL;
    assert_int_equal(st_keypair_generate(&eg, pubt, 1, gent, 3, &apub, &a), CKR_OK);
    assert_int_equal(st_keypair_generate(&eg, pubt, 1, gent, 3, &bpub, &b), CKR_OK);

    CK_MECHANISM kwp = {CKM_AES_KEY_WRAP_KWP, NULL, 0};
    unsigned char w[1024];
    CK_ULONG wl = sizeof(w);
    assert_int_equal(st_key_wrap(&kwp, kek, a, w, &wl), CKR_OK);
    CK_OBJECT_CLASS pk = CKO_PRIVATE_KEY;
    CK_KEY_TYPE ect = CKK_EC;
    CK_ATTRIBUTE ut[] = {TK_ATTR(CKA_CLASS, pk), TK_ATTR(CKA_KEY_TYPE, ect),
                         TK_ATTR(CKA_SIGN, tk_true), TK_ATTR(CKA_DERIVE, tk_true)};
    struct st_object *u = NULL;
    assert_int_equal(st_key_unwrap(&kwp, kek, w, wl, ut, 4, &u), CKR_OK);
    assert_provider_key(st_object_pkey(u));
    sign_verify(CKM_ECDSA_SHA256, u, apub);

    unsigned char apt[70], bpt[70];
    size_t alen = 0, blen = 0;
    assert_true(EVP_PKEY_get_octet_string_param(st_object_pkey(apub), "encoded-pub-key", apt,
                                                sizeof(apt), &alen));
    assert_true(EVP_PKEY_get_octet_string_param(st_object_pkey(bpub), "encoded-pub-key", bpt,
                                                sizeof(bpt), &blen));
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE gen = CKK_GENERIC_SECRET;
    CK_ATTRIBUTE st[] = {TK_ATTR(CKA_CLASS, sk), TK_ATTR(CKA_KEY_TYPE, gen),
                         TK_ATTR(CKA_SENSITIVE, tk_false), TK_ATTR(CKA_EXTRACTABLE, tk_true)};
    CK_ECDH1_DERIVE_PARAMS pu = {CKD_NULL, 0, NULL, (CK_ULONG)blen, bpt};
    CK_ECDH1_DERIVE_PARAMS pb = {CKD_NULL, 0, NULL, (CK_ULONG)alen, apt};
    CK_MECHANISM mu = {CKM_ECDH1_DERIVE, &pu, sizeof(pu)};
    CK_MECHANISM mb = {CKM_ECDH1_DERIVE, &pb, sizeof(pb)};
    struct st_object *zu = NULL, *zb = NULL;
    assert_int_equal(st_key_derive(&mu, u, st, 4, &zu), CKR_OK);
    assert_int_equal(st_key_derive(&mb, b, st, 4, &zb), CKR_OK);
    assert_int_equal(st_object_secret(zu)->len, 32);
    assert_memory_equal(st_object_secret(zu)->data, st_object_secret(zb)->data, 32);
    st_object_unref(zu);
    st_object_unref(zb);
    st_object_unref(u);
    st_object_unref(a);
    st_object_unref(apub);
    st_object_unref(b);
    st_object_unref(bpub);
    st_object_unref(kek);
}

/* OPENSSL_CONF loading libp11's engine and making it the default for everything. */
static int load_engine(const char *so)
{
    char dir[] = "/tmp/skr-st-engine.XXXXXX";
    char conf[sizeof(dir) + 16];
    if (mkdtemp(dir) == NULL)
        return -1;
    snprintf(conf, sizeof(conf), "%s/engine.cnf", dir);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "openssl_conf = openssl_init\n[openssl_init]\nengines = engine_section\n"
            "[engine_section]\npkcs11 = pkcs11_section\n[pkcs11_section]\n"
            "engine_id = pkcs11\ndynamic_path = %s\ndefault_algorithms = ALL\n",
            so);
    fclose(f);
    setenv("OPENSSL_CONF", conf, 1);
    int r = OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
    unlink(conf);
    rmdir(dir);
    if (r != 1)
        return -1;
    /* The condition of the bug: an ENGINE now claims EC keys and their methods. */
    ENGINE *e = ENGINE_get_pkey_meth_engine(EVP_PKEY_EC);
    ENGINE *d = ENGINE_get_default_EC();
    int claimed = e != NULL && d != NULL;
    ENGINE_finish(e);
    ENGINE_finish(d);
    return claimed ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    return st_init() == CKR_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    st_cleanup();
    return 0;
}

int main(void)
{
    const char *so = SKR_ENGINES_DIR "/pkcs11.so";
    if (access(so, R_OK) != 0) {
        printf("SKIP: libp11's engine is not installed (%s)\n", so);
        return 77;
    }
    if (load_engine(so) != 0) {
        fprintf(stderr, "libp11's engine (%s) did not become the default for EC\n", so);
        return 1;
    }
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_import_pkcs8),
            cmocka_unit_test(test_import_spki_and_certificate),
            cmocka_unit_test(test_generate),
            cmocka_unit_test(test_unwrap_and_ecdh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
