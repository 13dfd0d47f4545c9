/* SPDX-License-Identifier: Apache-2.0 */
/* kr_snp: the real SNP report verifies with the real THIM VCEK; tampering fails; chain checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kr_snp.h"

static unsigned char *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/fixtures/azure/%s", SKR_SHARED_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = calloc(1, 16384);
    assert_non_null(buf);
    *len = fread(buf, 1, 16383, f);
    fclose(f);
    return buf;
}

struct thim {
    json_t *root;
    const char *vcek;
    const char *chain;
    const char *tcbm;
};

static void load_thim(struct thim *t)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/fixtures/azure/uvm_host_amd_certificate.json", SKR_SHARED_DIR);
    t->root = json_load_file(path, 0, NULL);
    assert_non_null(t->root);
    t->vcek = json_string_value(json_object_get(t->root, "vcekCert"));
    t->chain = json_string_value(json_object_get(t->root, "certificateChain"));
    t->tcbm = json_string_value(json_object_get(t->root, "tcbm"));
    assert_non_null(t->vcek);
    assert_non_null(t->chain);
    assert_non_null(t->tcbm);
}

static void test_parse(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *b = read_fixture("snp_report.bin", &len);
    assert_int_equal(len, KR_SNP_REPORT_SIZE);
    struct kr_snp_report r;
    assert_int_equal(kr_snp_parse(b, len, &r), KR_OK);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.vmpl, 0);
    assert_int_equal(r.signature_algo, 1);
    assert_true(r.current_tcb == 0x7308000000000003ull);
    struct thim t;
    load_thim(&t);
    assert_true(kr_snp_tcbm_matches(&r, t.tcbm));
    assert_false(kr_snp_tcbm_matches(&r, "7308000000000004"));
    char *claims = NULL;
    assert_int_equal(kr_snp_claims_json(&r, &claims), KR_OK);
    assert_non_null(strstr(claims, "\"x-ms-sevsnpvm-vmpl\":0"));
    assert_non_null(strstr(claims, "\"x-ms-sevsnpvm-microcode-svn\":115"));
    free(claims);
    assert_int_equal(kr_snp_parse(b, len - 1, &r), KR_ERR_PARSE);
    json_decref(t.root);
    free(b);
}

static void test_verify_real(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *b = read_fixture("snp_report.bin", &len);
    struct thim t;
    load_thim(&t);
    assert_int_equal(kr_snp_verify(b, len, t.vcek), KR_OK);
    /* a tampered signed byte (measurement) and a tampered signature both fail */
    b[0x90] ^= 1;
    assert_int_equal(kr_snp_verify(b, len, t.vcek), KR_ERR_VERIFY);
    b[0x90] ^= 1;
    b[0x2A0] ^= 1;
    assert_int_equal(kr_snp_verify(b, len, t.vcek), KR_ERR_VERIFY);
    b[0x2A0] ^= 1;
    /* bytes after the signed range and signature are not covered */
    assert_int_equal(kr_snp_verify(b, len, t.vcek), KR_OK);
    /* the ASK (RSA) is not a VCEK */
    assert_int_equal(kr_snp_verify(b, len, t.chain), KR_ERR_VERIFY);
    assert_int_equal(kr_snp_verify(b, len, "not a pem"), KR_ERR_PARSE);
    json_decref(t.root);
    free(b);
}

static void test_chain(void **state)
{
    (void)state;
    struct thim t;
    load_thim(&t);
    assert_int_equal(kr_snp_verify_chain(t.vcek, t.chain), KR_OK);
    /* swapped roles fail */
    assert_int_equal(kr_snp_verify_chain(t.vcek, t.vcek), KR_ERR_PARSE);
    json_decref(t.root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse),
            cmocka_unit_test(test_verify_real),
            cmocka_unit_test(test_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
