/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mechanism table: sorted and unique, every flag backed by an operation slot and every slot
 * announced by a flag, sane key sizes, the two-call C_GetMechanismList, and every mechanism the
 * token issue requires present.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "st_mech.h"

static void test_sorted_unique(void **state)
{
    (void)state;
    const struct st_mech_desc *const *rows = NULL;
    size_t n = st_mech_rows(&rows);
    assert_true(n > 40);
    for (size_t i = 1; i < n; i++)
        assert_true(rows[i - 1]->type < rows[i]->type);
    /* Each family's own array is written in type order too. */
    const struct {
        const struct st_mech_desc *r;
        size_t n;
    } fam[] = {
            {st_mech_rsa_rows, st_mech_rsa_count},     {st_mech_ec_rows, st_mech_ec_count},
            {st_mech_eddsa_rows, st_mech_eddsa_count}, {st_mech_aes_rows, st_mech_aes_count},
            {st_mech_hmac_rows, st_mech_hmac_count},   {st_mech_digest_rows, st_mech_digest_count},
    };
    size_t total = 0;
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        total += fam[f].n;
        for (size_t i = 1; i < fam[f].n; i++)
            assert_true(fam[f].r[i - 1].type < fam[f].r[i].type);
    }
    assert_int_equal(total, n); /* nothing dropped by the merge */
}

static void check_flag(CK_FLAGS flags, CK_FLAGS f, const void *slot, CK_MECHANISM_TYPE t)
{
    bool has_flag = (flags & f) != 0;
    bool has_slot = slot != NULL;
    if (has_flag != has_slot)
        fail_msg("mechanism 0x%lx: flag 0x%lx=%d but slot=%d", t, f, has_flag, has_slot);
}

static void test_flags_match_ops(void **state)
{
    (void)state;
    const struct st_mech_desc *const *rows = NULL;
    size_t n = st_mech_rows(&rows);
    for (size_t i = 0; i < n; i++) {
        const struct st_mech_desc *d = rows[i];
        const struct st_mech_ops *o = d->ops;
        CK_FLAGS f = d->info.flags;
        assert_non_null(o);
        check_flag(f, CKF_SIGN, (const void *)o->sign, d->type);
        check_flag(f, CKF_VERIFY, (const void *)o->verify, d->type);
        check_flag(f, CKF_ENCRYPT, (const void *)o->encrypt, d->type);
        check_flag(f, CKF_DECRYPT, (const void *)o->decrypt, d->type);
        check_flag(f, CKF_DIGEST, (const void *)o->digest, d->type);
        check_flag(f, CKF_WRAP, (const void *)o->wrap, d->type);
        check_flag(f, CKF_UNWRAP, (const void *)o->unwrap, d->type);
        check_flag(f, CKF_DERIVE, (const void *)o->derive, d->type);
        check_flag(f, CKF_GENERATE, (const void *)o->keygen, d->type);
        check_flag(f, CKF_GENERATE_KEY_PAIR, (const void *)o->keypair_gen, d->type);
        bool has_op = o->sign || o->verify || o->encrypt || o->decrypt || o->digest;
        assert_true(has_op == (o->init != NULL));
        /* Multi-part slots come in complete sets. */
        assert_true((o->sign_update == NULL) == (o->sign_final == NULL));
        assert_true((o->verify_update == NULL) == (o->verify_final == NULL));
        assert_true((o->encrypt_update == NULL) == (o->encrypt_final == NULL));
        assert_true((o->decrypt_update == NULL) == (o->decrypt_final == NULL));
        assert_true((o->digest_update == NULL) == (o->digest_final == NULL));
        assert_true(d->info.ulMinKeySize <= d->info.ulMaxKeySize);
    }
}

static void test_list_and_info(void **state)
{
    (void)state;
    CK_ULONG count = 0;
    assert_int_equal(st_mech_list(NULL, &count), CKR_OK);
    assert_true(count > 40);
    CK_MECHANISM_TYPE small[2];
    CK_ULONG two = 2;
    assert_int_equal(st_mech_list(small, &two), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(two, count);
    CK_MECHANISM_TYPE *list = calloc(count, sizeof(*list));
    assert_int_equal(st_mech_list(list, &count), CKR_OK);
    for (CK_ULONG i = 0; i < count; i++) {
        CK_MECHANISM_INFO info;
        assert_int_equal(st_mech_info(list[i], &info), CKR_OK);
        assert_ptr_equal(st_mech_find(list[i]), st_mech_find(list[i]));
    }
    free(list);
    CK_MECHANISM_INFO info;
    assert_int_equal(st_mech_info(CKM_DES3_CBC, &info), CKR_MECHANISM_INVALID);
    assert_int_equal(st_mech_info(CKM_RSA_PKCS_KEY_PAIR_GEN, &info), CKR_OK);
    assert_int_equal(info.ulMinKeySize, 2048);
    assert_int_equal(info.ulMaxKeySize, 4096);
    assert_int_equal(st_mech_info(CKM_AES_KEY_GEN, &info), CKR_OK);
    assert_int_equal(info.ulMinKeySize, 16);
    assert_int_equal(info.ulMaxKeySize, 32);
}

static void test_required_present(void **state)
{
    (void)state;
    static const CK_MECHANISM_TYPE required[] = {
            CKM_RSA_PKCS,
            CKM_RSA_PKCS_PSS,
            CKM_RSA_PKCS_OAEP,
            CKM_RSA_X_509,
            CKM_SHA1_RSA_PKCS,
            CKM_SHA224_RSA_PKCS,
            CKM_SHA256_RSA_PKCS,
            CKM_SHA384_RSA_PKCS,
            CKM_SHA512_RSA_PKCS,
            CKM_SHA1_RSA_PKCS_PSS,
            CKM_SHA224_RSA_PKCS_PSS,
            CKM_SHA256_RSA_PKCS_PSS,
            CKM_SHA384_RSA_PKCS_PSS,
            CKM_SHA512_RSA_PKCS_PSS,
            CKM_RSA_PKCS_KEY_PAIR_GEN,
            CKM_ECDSA,
            CKM_ECDSA_SHA1,
            CKM_ECDSA_SHA224,
            CKM_ECDSA_SHA256,
            CKM_ECDSA_SHA384,
            CKM_ECDSA_SHA512,
            CKM_ECDH1_DERIVE,
            CKM_EC_KEY_PAIR_GEN,
            CKM_EDDSA,
            CKM_EC_EDWARDS_KEY_PAIR_GEN,
            CKM_AES_ECB,
            CKM_AES_CBC,
            CKM_AES_CBC_PAD,
            CKM_AES_CTR,
            CKM_AES_GCM,
            CKM_AES_KEY_WRAP,
            CKM_AES_KEY_WRAP_KWP,
            CKM_AES_CMAC,
            CKM_AES_KEY_GEN,
            CKM_SHA_1_HMAC,
            CKM_SHA224_HMAC,
            CKM_SHA256_HMAC,
            CKM_SHA384_HMAC,
            CKM_SHA512_HMAC,
            CKM_GENERIC_SECRET_KEY_GEN,
            CKM_SHA_1,
            CKM_SHA224,
            CKM_SHA256,
            CKM_SHA384,
            CKM_SHA512,
    };
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        if (st_mech_find(required[i]) == NULL)
            fail_msg("missing mechanism 0x%lx", required[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sorted_unique),
            cmocka_unit_test(test_flags_match_ops),
            cmocka_unit_test(test_list_and_info),
            cmocka_unit_test(test_required_present),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
