/* SPDX-License-Identifier: Apache-2.0 */
/* kr_hcl: the real TDX HCL report parses and binds; a synthetic SNP one too; tampering fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "kr_hcl.h"

static unsigned char *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/fixtures/azure/%s", SKR_SHARED_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(8192);
    assert_non_null(buf);
    *len = fread(buf, 1, 8192, f);
    fclose(f);
    return buf;
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A simulated SNP HCL report like the emulator's: < 2048 bytes, SHA-256 binding at 0x20+0x50. */
static unsigned char *make_snp_report(size_t *len)
{
    static const char var[] = "{\"keys\":[],\"vm-configuration\":{\"tpm-enabled\":true}}";
    size_t vlen = sizeof(var) - 1;
    size_t total = KR_HCL_VAR_OFFSET + vlen;
    unsigned char *b = calloc(1, total + 16);
    assert_non_null(b);
    memcpy(b, "HCLA", 4);
    put32(b + 4, 2);
    put32(b + 8, (uint32_t)total);
    put32(b + 12, 2);
    put32(b + 0x20, 2);        /* SNP report version */
    put32(b + 0x20 + 0x34, 1); /* signature algo */
    put32(b + 0x4C0, (uint32_t)(20 + vlen));
    put32(b + 0x4C4, 1);
    put32(b + 0x4C8, 2);
    put32(b + 0x4CC, 1);
    put32(b + 0x4D0, (uint32_t)vlen);
    memcpy(b + KR_HCL_VAR_OFFSET, var, vlen);
    SHA256((const unsigned char *)var, vlen, b + 0x20 + 0x50);
    *len = total + 16;
    return b;
}

static void test_real_tdx(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *buf = read_fixture("snp_hcl_report.bin", &len);
    assert_int_equal(len, 2600);
    struct kr_hcl_report r;
    assert_int_equal(kr_hcl_parse(buf, len, &r), KR_OK);
    assert_int_equal(r.version, 2);
    assert_int_equal(r.report_size, 2418);
    assert_int_equal(r.request_type, 2);
    assert_int_equal(r.type, KR_HCL_TYPE_TDX);
    assert_int_equal(r.hw_len, 1024);
    assert_int_equal(r.hw[0], 0x81); /* REPORTMACSTRUCT type TDX */
    assert_int_equal(r.hash_type, 1);
    assert_int_equal(r.var_len, 1182);
    assert_memory_equal(r.var_data, "{\"keys\":[{\"kid\":\"HCLAkPub\"", 26);
    assert_string_equal(kr_hcl_isolation_type(&r), "Tdx");
    assert_int_equal(kr_hcl_check_binding(&r), KR_OK);

    buf[KR_HCL_VAR_OFFSET + 100] ^= 1; /* runtime data changed */
    assert_int_equal(kr_hcl_check_binding(&r), KR_ERR_VERIFY);
    buf[KR_HCL_VAR_OFFSET + 100] ^= 1;
    buf[0x20 + 128 + 40] = 1; /* non-zero byte after the hash */
    assert_int_equal(kr_hcl_check_binding(&r), KR_ERR_VERIFY);
    free(buf);
}

static void test_synthetic_snp(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *b = make_snp_report(&len);
    struct kr_hcl_report r;
    assert_int_equal(kr_hcl_parse(b, len, &r), KR_OK);
    assert_int_equal(r.type, KR_HCL_TYPE_SNP);
    assert_int_equal(r.hw_len, 1184);
    assert_ptr_equal(r.report_data, b + 0x70);
    assert_string_equal(kr_hcl_isolation_type(&r), "SevSnp");
    assert_int_equal(kr_hcl_check_binding(&r), KR_OK);
    b[0x70] ^= 0xff;
    assert_int_equal(kr_hcl_check_binding(&r), KR_ERR_VERIFY);
    free(b);
}

static void test_malformed(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *b = make_snp_report(&len);
    struct kr_hcl_report r;
    /* every truncation fails cleanly */
    for (size_t n = 0; n < KR_HCL_VAR_OFFSET + 10; n += 7)
        assert_int_equal(kr_hcl_parse(b, n, &r), KR_ERR_PARSE);
    b[0] = 'X';
    assert_int_equal(kr_hcl_parse(b, len, &r), KR_ERR_PARSE);
    b[0] = 'H';
    put32(b + 0x4D0, 0xFFFFFFF0u); /* VariableDataSize overflow */
    put32(b + 0x4C0, 0xFFFFFFF0u + 20u);
    assert_int_equal(kr_hcl_parse(b, len, &r), KR_ERR_PARSE);
    put32(b + 0x4D0, 4);
    put32(b + 0x4C0, 24);
    put32(b + 0x4C8, 3); /* TVM: no hardware report */
    assert_int_equal(kr_hcl_parse(b, len, &r), KR_ERR_PARSE);
    put32(b + 0x4C8, 2);
    put32(b + 8, (uint32_t)len + 1); /* ReportSize beyond the buffer */
    assert_int_equal(kr_hcl_parse(b, len, &r), KR_ERR_PARSE);
    put32(b + 8, (uint32_t)len);
    put32(b + 0x4CC, 9);
    assert_int_equal(kr_hcl_parse(b, len, &r), KR_OK);
    assert_int_equal(kr_hcl_check_binding(&r), KR_ERR_PARSE);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_real_tdx),
            cmocka_unit_test(test_synthetic_snp),
            cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
