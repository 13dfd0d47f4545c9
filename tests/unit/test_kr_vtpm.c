/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kr_vtpm against a swtpm this test starts and provisions itself: chunked NV reads, AK public,
 * PCRs, quote verified with the AK in OpenSSL, the ephemeral key (deterministic, certified by
 * the AK), RSAES/OAEP decryption round trips under the PCR policy, and the policy failing after
 * a PCR extend.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <tss2/tss2_mu.h>

#include "kr_swtpm.h"
#include "kr_vtpm.h"

#define MASK_0_7 0xFFu

static struct kr_swtpm g_tpm;
static unsigned char g_nv_hcl[1500];
static unsigned char g_nv_cert[1100];

static int setup(void **state)
{
    (void)state;
    if (swtpm_start(&g_tpm) != 0)
        return -1;
    for (size_t i = 0; i < sizeof(g_nv_hcl); i++)
        g_nv_hcl[i] = (unsigned char)(i * 7 + 3);
    for (size_t i = 0; i < sizeof(g_nv_cert); i++)
        g_nv_cert[i] = (unsigned char)(i * 13 + 1);
    if (swtpm_write_file(&g_tpm, "hcl.bin", g_nv_hcl, sizeof(g_nv_hcl)) != 0 ||
        swtpm_write_file(&g_tpm, "cert.bin", g_nv_cert, sizeof(g_nv_cert)) != 0 ||
        swtpm_provision_ak(&g_tpm) != 0 ||
        swtpm_provision_nv(&g_tpm, KR_VTPM_NV_HCL_REPORT, "hcl.bin", sizeof(g_nv_hcl)) != 0 ||
        swtpm_provision_nv(&g_tpm, KR_VTPM_NV_AK_CERT, "cert.bin", sizeof(g_nv_cert)) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    swtpm_stop(&g_tpm);
    return 0;
}

static EVP_PKEY *rsa_pub(const unsigned char *n, size_t nlen, uint32_t e)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *be = BN_new();
    assert_true(b && bn && be && BN_set_word(be, e ? e : 65537));
    assert_true(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn));
    assert_true(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be));
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    EVP_PKEY *k = NULL;
    assert_true(EVP_PKEY_fromdata_init(c) == 1);
    assert_true(EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) == 1);
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(p);
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    return k;
}

static EVP_PKEY *ak_key(struct kr_vtpm *t)
{
    struct kr_blob pub = {0};
    assert_int_equal(kr_vtpm_read_public(t, KR_VTPM_AK_HANDLE, &pub), KR_OK);
    TPM2B_PUBLIC p;
    size_t off = 0;
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub.data, pub.len, &off, &p), 0);
    assert_int_equal(off, pub.len);
    assert_int_equal(p.publicArea.type, TPM2_ALG_RSA);
    kr_blob_clear(&pub);
    return rsa_pub(p.publicArea.unique.rsa.buffer, p.publicArea.unique.rsa.size,
                   p.publicArea.parameters.rsaDetail.exponent);
}

static void verify_rsassa(EVP_PKEY *k, const unsigned char *msg, size_t len,
                          const unsigned char *sig, size_t sig_len)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_true(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k) == 1);
    assert_int_equal(EVP_DigestVerify(md, sig, sig_len, msg, len), 1);
    EVP_MD_CTX_free(md);
}

static void test_nv_and_ak(void **state)
{
    (void)state;
    struct kr_vtpm *t = NULL;
    assert_int_equal(kr_vtpm_open(g_tpm.tcti, &t), KR_OK);
    struct kr_blob b = {0};
    assert_int_equal(kr_vtpm_nv_read(t, KR_VTPM_NV_HCL_REPORT, &b), KR_OK);
    assert_int_equal(b.len, sizeof(g_nv_hcl));
    assert_memory_equal(b.data, g_nv_hcl, b.len);
    kr_blob_clear(&b);
    assert_int_equal(kr_vtpm_nv_read(t, KR_VTPM_NV_AK_CERT, &b), KR_OK);
    assert_int_equal(b.len, sizeof(g_nv_cert));
    assert_memory_equal(b.data, g_nv_cert, b.len);
    kr_blob_clear(&b);
    assert_int_equal(kr_vtpm_nv_read(t, 0x01400099, &b), KR_ERR_TPM);
    assert_int_equal(kr_vtpm_read_public(t, 0x81000077, &b), KR_ERR_TPM);
    EVP_PKEY *ak = ak_key(t);
    EVP_PKEY_free(ak);
    kr_vtpm_close(t);
}

static void test_quote(void **state)
{
    (void)state;
    struct kr_vtpm *t = NULL;
    unsigned char pcrs[KR_VTPM_MAX_PCRS][32];
    assert_int_equal(kr_vtpm_open(g_tpm.tcti, &t), KR_OK);
    /* 10 PCRs: two PCR_Read calls */
    assert_int_equal(kr_vtpm_pcr_read(t, 0x3FFu, pcrs), KR_OK);
    assert_int_equal(kr_vtpm_pcr_read(t, 0, pcrs), KR_ERR_INVALID);
    struct kr_blob att = {0}, sig = {0};
    assert_int_equal(kr_vtpm_quote(t, KR_VTPM_AK_HANDLE, MASK_0_7, &att, &sig), KR_OK);

    TPM2B_ATTEST q;
    TPMT_SIGNATURE s;
    size_t off = 0;
    assert_int_equal(Tss2_MU_TPM2B_ATTEST_Unmarshal(att.data, att.len, &off, &q), 0);
    assert_int_equal(off, att.len);
    off = 0;
    assert_int_equal(Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig.data, sig.len, &off, &s), 0);
    assert_int_equal(s.sigAlg, TPM2_ALG_RSASSA);
    TPMS_ATTEST a;
    off = 0;
    assert_int_equal(Tss2_MU_TPMS_ATTEST_Unmarshal(q.attestationData, q.size, &off, &a), 0);
    assert_int_equal(a.magic, TPM2_GENERATED_VALUE);
    assert_int_equal(a.type, TPM2_ST_ATTEST_QUOTE);
    assert_int_equal(a.extraData.size, 0);
    /* pcrDigest = SHA-256 of PCR 0..7 values */
    unsigned char cat[8 * 32], dig[32];
    for (int i = 0; i < 8; i++)
        memcpy(cat + 32 * i, pcrs[i], 32);
    SHA256(cat, sizeof(cat), dig);
    assert_int_equal(a.attested.quote.pcrDigest.size, 32);
    assert_memory_equal(a.attested.quote.pcrDigest.buffer, dig, 32);
    EVP_PKEY *ak = ak_key(t);
    verify_rsassa(ak, q.attestationData, q.size, s.signature.rsassa.sig.buffer,
                  s.signature.rsassa.sig.size);
    EVP_PKEY_free(ak);
    kr_blob_clear(&att);
    kr_blob_clear(&sig);
    kr_vtpm_close(t);
}

static void encrypt_to(EVP_PKEY *k, int pad, const EVP_MD *md, const unsigned char *in, size_t len,
                       unsigned char out[256])
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(k, NULL);
    size_t olen = 256;
    assert_true(EVP_PKEY_encrypt_init(c) == 1);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(c, pad) == 1);
    if (md != NULL) {
        assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(c, md) == 1);
        assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) == 1);
    }
    assert_true(EVP_PKEY_encrypt(c, out, &olen, in, len) == 1);
    assert_int_equal(olen, 256);
    EVP_PKEY_CTX_free(c);
}

static struct kr_vtpm_key *make_key(struct kr_vtpm *t)
{
    unsigned char pcrs[KR_VTPM_MAX_PCRS][32], policy[32];
    struct kr_vtpm_key *k = NULL;
    assert_int_equal(kr_vtpm_pcr_read(t, MASK_0_7, pcrs), KR_OK);
    assert_int_equal(kr_vtpm_policy_pcr(MASK_0_7, pcrs, policy), KR_OK);
    assert_int_equal(kr_vtpm_key_create(t, policy, &k), KR_OK);
    return k;
}

static void test_ephemeral(void **state)
{
    (void)state;
    struct kr_vtpm *t = NULL;
    assert_int_equal(kr_vtpm_open(g_tpm.tcti, &t), KR_OK);
    struct kr_vtpm_key *k = make_key(t);
    size_t nlen = 0;
    const unsigned char *n = kr_vtpm_key_modulus(k, &nlen);
    assert_int_equal(nlen, 256);
    unsigned char n1[256];
    memcpy(n1, n, 256);

    /* the template is §i: attributes 0x00020432, SHA-256, RSA-2048, NULL schemes */
    TPM2B_PUBLIC p;
    size_t off = 0;
    const struct kr_blob *pub = kr_vtpm_key_public(k);
    assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Unmarshal(pub->data, pub->len, &off, &p), 0);
    assert_int_equal(p.publicArea.objectAttributes, 0x00020432);
    assert_int_equal(p.publicArea.nameAlg, TPM2_ALG_SHA256);
    assert_int_equal(p.publicArea.parameters.rsaDetail.keyBits, 2048);
    assert_int_equal(p.publicArea.parameters.rsaDetail.scheme.scheme, TPM2_ALG_NULL);
    assert_int_equal(p.publicArea.authPolicy.size, 32);

    /* certify names the key and verifies with the AK */
    struct kr_blob info = {0}, sig = {0};
    assert_int_equal(kr_vtpm_certify(t, k, KR_VTPM_AK_HANDLE, &info, &sig), KR_OK);
    TPMS_ATTEST a;
    off = 0;
    assert_int_equal(Tss2_MU_TPMS_ATTEST_Unmarshal(info.data, info.len, &off, &a), 0);
    assert_int_equal(a.type, TPM2_ST_ATTEST_CERTIFY);
    const struct kr_blob *name = kr_vtpm_key_name(k);
    assert_int_equal(a.attested.certify.name.size, name->len);
    assert_memory_equal(a.attested.certify.name.name, name->data, name->len);
    EVP_PKEY *ak = ak_key(t);
    verify_rsassa(ak, info.data, info.len, sig.data, sig.len);
    EVP_PKEY_free(ak);
    kr_blob_clear(&info);
    kr_blob_clear(&sig);

    /* decrypt round trips: RSAES and OAEP with SHA-1/256/384 (MGF1 same hash) */
    EVP_PKEY *ek = rsa_pub(n, nlen, 0);
    unsigned char secret[32], ct[256];
    RAND_bytes(secret, sizeof(secret));
    static const struct {
        enum kr_vtpm_scheme s;
        int pad;
        const char *md;
    } cases[] = {{KR_VTPM_RSAES, RSA_PKCS1_PADDING, NULL},
                 {KR_VTPM_OAEP_SHA1, RSA_PKCS1_OAEP_PADDING, "SHA1"},
                 {KR_VTPM_OAEP_SHA256, RSA_PKCS1_OAEP_PADDING, "SHA256"},
                 {KR_VTPM_OAEP_SHA384, RSA_PKCS1_OAEP_PADDING, "SHA384"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        encrypt_to(ek, cases[i].pad, cases[i].md ? EVP_get_digestbyname(cases[i].md) : NULL, secret,
                   sizeof(secret), ct);
        struct u_secbuf *pt = NULL;
        assert_int_equal(
                kr_vtpm_decrypt(t, k, MASK_0_7, cases[i].s, ct, sizeof(ct), KR_STAGE_UNWRAP, &pt),
                KR_OK);
        assert_int_equal(pt->len, sizeof(secret));
        assert_memory_equal(pt->data, secret, sizeof(secret));
        u_secbuf_free(pt);
    }
    /* wrong hash fails */
    struct u_secbuf *pt = NULL;
    encrypt_to(ek, RSA_PKCS1_OAEP_PADDING, EVP_sha256(), secret, sizeof(secret), ct);
    assert_int_equal(
            kr_vtpm_decrypt(t, k, MASK_0_7, KR_VTPM_OAEP_SHA1, ct, 256, KR_STAGE_UNWRAP, &pt),
            KR_ERR_TPM);
    assert_int_equal(
            kr_vtpm_decrypt(t, k, MASK_0_7, KR_VTPM_OAEP_SHA256, ct, 255, KR_STAGE_UNWRAP, &pt),
            KR_ERR_INVALID);
    kr_vtpm_key_free(t, k);

    /* CreatePrimary is deterministic: same template + PCRs = same key */
    k = make_key(t);
    n = kr_vtpm_key_modulus(k, &nlen);
    assert_memory_equal(n, n1, 256);
    kr_vtpm_key_free(t, k);
    kr_vtpm_close(t);

    /* after a PCR extend, the key created with the old policy no longer decrypts */
    assert_int_equal(swtpm_run(&g_tpm, "tpm2_pcrextend 7:sha256=" /* 32 bytes of 0x11 */
                                       "1111111111111111111111111111111111111111111111111111111"
                                       "111111111"),
                     0);
    assert_int_equal(kr_vtpm_open(g_tpm.tcti, &t), KR_OK);
    unsigned char zero_pcrs[KR_VTPM_MAX_PCRS][32], policy[32];
    memset(zero_pcrs, 0, sizeof(zero_pcrs));
    assert_int_equal(kr_vtpm_policy_pcr(MASK_0_7, zero_pcrs, policy), KR_OK);
    assert_int_equal(kr_vtpm_key_create(t, policy, &k), KR_OK);
    n = kr_vtpm_key_modulus(k, &nlen);
    assert_memory_equal(n, n1, 256); /* fresh swtpm: PCRs 0-7 were zero */
    encrypt_to(ek, RSA_PKCS1_OAEP_PADDING, EVP_sha256(), secret, sizeof(secret), ct);
    assert_int_equal(
            kr_vtpm_decrypt(t, k, MASK_0_7, KR_VTPM_OAEP_SHA256, ct, 256, KR_STAGE_UNWRAP, &pt),
            KR_ERR_TPM);
    kr_vtpm_key_free(t, k);
    kr_vtpm_close(t);
    EVP_PKEY_free(ek);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_nv_and_ak),
            cmocka_unit_test(test_quote),
            cmocka_unit_test(test_ephemeral),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
