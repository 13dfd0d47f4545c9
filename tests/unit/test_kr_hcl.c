/* SPDX-License-Identifier: Apache-2.0 */
/* kr_hcl: the real TDX HCL report parses and binds; a synthetic SNP one too; tampering fails.
 * kr_tdquote: the real TD quote v4 (IMDS /acc/tdquote) parses; v5 framing; malformed quotes. */
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

static void hex_equal(const unsigned char *p, const char *hex)
{
    char got[2 * 64 + 1];
    size_t n = strlen(hex) / 2;
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        snprintf(got + 2 * i, 3, "%02x", p[i]);
    assert_string_equal(got, hex);
}

/* The real 5006-byte quote v4 from an Azure TDX CVM (cvm-attestation-tools test data). */
static void test_real_td_quote(void **state)
{
    (void)state;
    size_t len = 0;
    unsigned char *q = read_fixture("td_quote_v4.dat", &len);
    assert_int_equal(len, 5006);
    struct kr_tdquote t;
    assert_int_equal(kr_tdquote_parse(q, len, &t), KR_OK);
    assert_int_equal(t.version, 4);
    assert_int_equal(t.att_key_type, 2);
    assert_ptr_equal(t.body, q + KR_TDQUOTE_HEADER_SIZE);
    assert_int_equal(t.body_len, 584);
    assert_ptr_equal(t.report_data, q + 568); /* spec §h.5: 48 + 520 */
    /* SHA-256 binding of the VM's runtime data, then 32 zero bytes */
    hex_equal(t.report_data, "e771caa11b55b340c5e0b6220adb4b8dcbf7a4bccb030f84ae088bd582aba4ac"
                             "00000000000000000000000000000000000000000000000000000000000000"
                             "00");
    hex_equal(t.mrtd, "888b31b57a1cad6a358ce8c6a08f40198fa171596e01f70d5f360ee4798150983e55d2f8"
                      "9d804c3bfec06a44220c91b2");
    /* truncated anywhere inside header or body: refused */
    assert_int_equal(kr_tdquote_parse(q, KR_TDQUOTE_HEADER_SIZE + 583, &t), KR_ERR_PARSE);
    assert_int_equal(kr_tdquote_parse(q, 47, &t), KR_ERR_PARSE);
    assert_int_equal(kr_tdquote_parse(NULL, len, &t), KR_ERR_PARSE);
    /* just header + body is enough (the signature is MAA's business) */
    assert_int_equal(kr_tdquote_parse(q, KR_TDQUOTE_HEADER_SIZE + 584, &t), KR_OK);
    q[4] = 0x00; /* TEE type SGX */
    assert_int_equal(kr_tdquote_parse(q, len, &t), KR_ERR_PARSE);
    q[4] = 0x81;
    q[0] = 3; /* SGX-era quote version */
    assert_int_equal(kr_tdquote_parse(q, len, &t), KR_ERR_PARSE);
    free(q);
}

/* Quote v5: header, body descriptor (type, size), then a TDX 1.0 (584) or 1.5 (648) body. */
static void test_td_quote_v5(void **state)
{
    (void)state;
    size_t len = 48 + 6 + 648 + 4;
    unsigned char *q = calloc(1, len);
    assert_non_null(q);
    q[0] = 5;
    q[2] = 2;
    put32(q + 4, 0x81);
    q[48] = 3; /* TDX 1.5 body */
    put32(q + 50, 648);
    memset(q + 54 + 520, 0xAB, 64);
    struct kr_tdquote t;
    assert_int_equal(kr_tdquote_parse(q, len, &t), KR_OK);
    assert_int_equal(t.version, 5);
    assert_int_equal(t.body_len, 648);
    assert_ptr_equal(t.body, q + 54);
    assert_ptr_equal(t.report_data, q + 54 + 520);
    assert_int_equal(t.report_data[63], 0xAB);
    q[48] = 2; /* TDX 1.0 type with a 1.5 size: inconsistent */
    assert_int_equal(kr_tdquote_parse(q, len, &t), KR_ERR_PARSE);
    put32(q + 50, 584);
    assert_int_equal(kr_tdquote_parse(q, len, &t), KR_OK);
    assert_int_equal(t.body_len, 584);
    q[48] = 1; /* SGX enclave report body */
    assert_int_equal(kr_tdquote_parse(q, len, &t), KR_ERR_PARSE);
    q[48] = 3;
    put32(q + 50, 648);
    assert_int_equal(kr_tdquote_parse(q, 48 + 6 + 647, &t), KR_ERR_PARSE); /* truncated body */
    assert_int_equal(kr_tdquote_parse(q, 50, &t), KR_ERR_PARSE);           /* no descriptor */
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_real_tdx),    cmocka_unit_test(test_synthetic_snp),
            cmocka_unit_test(test_malformed),   cmocka_unit_test(test_real_td_quote),
            cmocka_unit_test(test_td_quote_v5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
