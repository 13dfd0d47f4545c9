/* SPDX-License-Identifier: Apache-2.0 */
/* HCL report parser, runtime-data binding, TD quote header (AZURE-SKR.md §h.1, §h.2, §h.5). */
#include "kr_hcl.h"

#include <openssl/evp.h>
#include <string.h>

#include "u_log.h"

#define HCL_SIGNATURE      0x414C4348u /* "HCLA" little-endian */
#define HCL_FIXED_DATA_LEN 20u         /* HclData header before VariableData */
#define SNP_REPORT_DATA    0x50u       /* §h.2 */
#define TD_REPORT_DATA     128u        /* §h.5 REPORTMACSTRUCT.ReportData */
#define REPORT_DATA_LEN    64u

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static enum kr_err parse_fail(const char *why)
{
    U_LOG_DBG("kr", "HCL report: %s", why);
    return KR_ERR_PARSE;
}

static enum kr_err parse_header(const unsigned char *buf, size_t len, struct kr_hcl_report *r)
{
    if (len < KR_HCL_VAR_OFFSET)
        return parse_fail("shorter than the fixed part");
    if (le32(buf) != HCL_SIGNATURE)
        return parse_fail("signature is not HCLA");
    r->version = le32(buf + 4);
    r->report_size = le32(buf + 8);
    r->request_type = le32(buf + 12);
    if (r->version < 1 || r->version > 2)
        return parse_fail("unsupported version");
    if (r->report_size < KR_HCL_VAR_OFFSET || r->report_size > len)
        return parse_fail("ReportSize out of range");
    return KR_OK;
}

static enum kr_err parse_hcl_data(const unsigned char *buf, struct kr_hcl_report *r)
{
    const unsigned char *d = buf + KR_HCL_DATA_OFFSET;
    uint32_t data_size = le32(d);
    uint32_t data_version = le32(d + 4);
    uint32_t type = le32(d + 8);
    uint32_t var_size = le32(d + 16);

    if (data_version != 1)
        return parse_fail("HclData version is not 1");
    if (data_size < HCL_FIXED_DATA_LEN || data_size - HCL_FIXED_DATA_LEN != var_size)
        return parse_fail("HclData.DataSize != 20 + VariableDataSize");
    if (var_size > r->report_size - KR_HCL_VAR_OFFSET)
        return parse_fail("VariableData exceeds ReportSize");
    r->hash_type = le32(d + 12);
    r->var_data = buf + KR_HCL_VAR_OFFSET;
    r->var_len = var_size;
    r->hw = buf + KR_HCL_HW_OFFSET;
    if (type == KR_HCL_TYPE_SNP) {
        r->type = KR_HCL_TYPE_SNP;
        r->hw_len = KR_HCL_SNP_SIZE;
        r->report_data = r->hw + SNP_REPORT_DATA;
    } else if (type == KR_HCL_TYPE_TDX) {
        r->type = KR_HCL_TYPE_TDX;
        r->hw_len = KR_HCL_TD_SIZE;
        r->report_data = r->hw + TD_REPORT_DATA;
    } else {
        return parse_fail("ReportType is neither SNP (2) nor TDX (4)");
    }
    return KR_OK;
}

enum kr_err kr_hcl_parse(const unsigned char *buf, size_t len, struct kr_hcl_report *out)
{
    if (buf == NULL || out == NULL)
        return KR_ERR_PARSE;

    struct kr_hcl_report r;
    memset(&r, 0, sizeof(r));
    enum kr_err err = parse_header(buf, len, &r);
    if (err != KR_OK)
        return err;
    err = parse_hcl_data(buf, &r);
    if (err != KR_OK)
        return err;
    *out = r;
    return KR_OK;
}

static const EVP_MD *hash_md(uint32_t hash_type)
{
    switch (hash_type) {
    case 1:
        return EVP_sha256();
    case 2:
        return EVP_sha384();
    case 3:
        return EVP_sha512();
    default:
        return NULL;
    }
}

enum kr_err kr_hcl_check_binding(const struct kr_hcl_report *r)
{
    if (r == NULL || r->report_data == NULL)
        return KR_ERR_PARSE;
    const EVP_MD *md = hash_md(r->hash_type);
    if (md == NULL)
        return parse_fail("unknown ReportDataHashType");

    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (EVP_Digest(r->var_data, r->var_len, digest, &dlen, md, NULL) != 1 || dlen > REPORT_DATA_LEN)
        return KR_ERR_INTERNAL;
    if (memcmp(r->report_data, digest, dlen) != 0) {
        U_LOG_DBG("kr", "HCL report: report_data does not bind the runtime data");
        return KR_ERR_VERIFY;
    }
    for (size_t i = dlen; i < REPORT_DATA_LEN; i++) {
        if (r->report_data[i] != 0) {
            U_LOG_DBG("kr", "HCL report: report_data not zero after the hash");
            return KR_ERR_VERIFY;
        }
    }
    return KR_OK;
}

const char *kr_hcl_isolation_type(const struct kr_hcl_report *r)
{
    return (r != NULL && r->type == KR_HCL_TYPE_TDX) ? "Tdx" : "SevSnp";
}

/* ---- TD quote (IMDS /acc/tdquote) ---------------------------------------------------------- */

#define TDQUOTE_BODY_V4       584u /* sgx_report2_body_t */
#define TDQUOTE_BODY_V15      648u /* sgx_report2_body_v1_5_t */
#define TDQUOTE_BODY_DESC_LEN 6u   /* v5: type u16, size u32 */
#define TDQUOTE_MRTD          136u
#define TDQUOTE_REPORT_DATA   520u

static uint16_t le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static enum kr_err tdquote_fail(const char *why)
{
    U_LOG_DBG("kr", "TD quote: %s", why);
    return KR_ERR_PARSE;
}

enum kr_err kr_tdquote_parse(const unsigned char *quote, size_t len, struct kr_tdquote *out)
{
    if (quote == NULL || out == NULL)
        return KR_ERR_PARSE;
    if (len < KR_TDQUOTE_HEADER_SIZE)
        return tdquote_fail("shorter than the header");

    struct kr_tdquote q;
    memset(&q, 0, sizeof(q));
    q.version = le16(quote);
    q.att_key_type = le16(quote + 2);
    if (le32(quote + 4) != KR_TDQUOTE_TEE_TDX)
        return tdquote_fail("TEE type is not TDX (0x81)");
    size_t off = KR_TDQUOTE_HEADER_SIZE;
    if (q.version == 4) {
        q.body_len = TDQUOTE_BODY_V4;
    } else if (q.version == 5) {
        if (len < off + TDQUOTE_BODY_DESC_LEN)
            return tdquote_fail("truncated body descriptor");
        uint16_t type = le16(quote + off);
        uint32_t size = le32(quote + off + 2);
        if (!(type == 2 && size == TDQUOTE_BODY_V4) && !(type == 3 && size == TDQUOTE_BODY_V15))
            return tdquote_fail("v5 body is neither a TDX 1.0 nor a TDX 1.5 report");
        q.body_len = size;
        off += TDQUOTE_BODY_DESC_LEN;
    } else {
        return tdquote_fail("version is neither 4 nor 5");
    }
    if (len - off < q.body_len)
        return tdquote_fail("truncated TD quote body");
    q.body = quote + off;
    q.mrtd = q.body + TDQUOTE_MRTD;
    q.report_data = q.body + TDQUOTE_REPORT_DATA;
    *out = q;
    return KR_OK;
}
