/* SPDX-License-Identifier: Apache-2.0 */
/* SEV-SNP attestation report: parse, verify with the VCEK, check the THIM chain (§h.2, §d.8). */
#include "kr_snp.h"

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "u_log.h"

#define SNP_SIG_OFFSET 0x2A0u
#define SNP_SIG_COMP   72u

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void parse_body(const unsigned char *b, struct kr_snp_report *r)
{
    r->version = le32(b);
    r->guest_svn = le32(b + 0x04);
    r->policy = le64(b + 0x08);
    memcpy(r->family_id, b + 0x10, 16);
    memcpy(r->image_id, b + 0x20, 16);
    r->vmpl = le32(b + 0x30);
    r->signature_algo = le32(b + 0x34);
    r->current_tcb = le64(b + 0x38);
    r->platform_info = le64(b + 0x40);
    r->author_key_en = le32(b + 0x48);
    memcpy(r->report_data, b + 0x50, 64);
    memcpy(r->measurement, b + 0x90, 48);
    memcpy(r->host_data, b + 0xC0, 32);
    memcpy(r->id_key_digest, b + 0xE0, 48);
    memcpy(r->author_key_digest, b + 0x110, 48);
    memcpy(r->report_id, b + 0x140, 32);
    memcpy(r->report_id_ma, b + 0x160, 32);
    r->reported_tcb = le64(b + 0x180);
    memcpy(r->chip_id, b + 0x1A0, 64);
    r->committed_tcb = le64(b + 0x1E0);
    r->launch_tcb = le64(b + 0x1F8);
    memcpy(r->sig_r, b + SNP_SIG_OFFSET, SNP_SIG_COMP);
    memcpy(r->sig_s, b + SNP_SIG_OFFSET + SNP_SIG_COMP, SNP_SIG_COMP);
}

enum kr_err kr_snp_parse(const unsigned char *buf, size_t len, struct kr_snp_report *out)
{
    if (buf == NULL || out == NULL || len < KR_SNP_REPORT_SIZE) {
        U_LOG_DBG("kr", "SNP report: shorter than %u bytes", KR_SNP_REPORT_SIZE);
        return KR_ERR_PARSE;
    }
    struct kr_snp_report r;
    memset(&r, 0, sizeof(r));
    parse_body(buf, &r);
    if (r.version < 2 || r.signature_algo != 1) {
        U_LOG_DBG("kr", "SNP report: version %u / signature algorithm %u not supported", r.version,
                  r.signature_algo);
        return KR_ERR_PARSE;
    }
    *out = r;
    return KR_OK;
}

static X509 *pem_cert(const char *pem, BIO **rest)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL)
        return NULL;
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (rest != NULL && x != NULL)
        *rest = bio;
    else
        BIO_free(bio);
    return x;
}

/* DER ECDSA-Sig-Value from the report's little-endian r and s. */
static unsigned char *report_sig_der(const struct kr_snp_report *r, int *der_len)
{
    unsigned char *der = NULL;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *br = BN_lebin2bn(r->sig_r, SNP_SIG_COMP, NULL);
    BIGNUM *bs = BN_lebin2bn(r->sig_s, SNP_SIG_COMP, NULL);
    if (sig == NULL || br == NULL || bs == NULL || ECDSA_SIG_set0(sig, br, bs) != 1)
        goto out;
    br = NULL;
    bs = NULL;
    *der_len = i2d_ECDSA_SIG(sig, &der);
    if (*der_len <= 0)
        der = NULL;
out:
    BN_free(br);
    BN_free(bs);
    ECDSA_SIG_free(sig);
    return der;
}

static enum kr_err verify_with_key(const unsigned char *buf, const struct kr_snp_report *r,
                                   EVP_PKEY *pkey)
{
    enum kr_err err = KR_ERR_VERIFY;
    int der_len = 0;
    unsigned char *der = NULL;
    EVP_MD_CTX *md = NULL;

    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC || EVP_PKEY_get_bits(pkey) != 384) {
        U_LOG_DBG("kr", "SNP report: the VCEK is not an EC P-384 key");
        goto out;
    }
    der = report_sig_der(r, &der_len);
    md = EVP_MD_CTX_new();
    if (der == NULL || md == NULL) {
        err = KR_ERR_NOMEM;
        goto out;
    }
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha384(), NULL, pkey) != 1) {
        err = KR_ERR_INTERNAL;
        goto out;
    }
    if (EVP_DigestVerify(md, der, (size_t)der_len, buf, KR_SNP_SIGNED_LEN) != 1) {
        U_LOG_DBG("kr", "SNP report: signature does not verify with the VCEK");
        goto out;
    }
    err = KR_OK;
out:
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    return err;
}

enum kr_err kr_snp_verify(const unsigned char *buf, size_t len, const char *vcek_pem)
{
    if (vcek_pem == NULL)
        return KR_ERR_PARSE;
    struct kr_snp_report r;
    enum kr_err err = kr_snp_parse(buf, len, &r);
    if (err != KR_OK)
        return err;
    X509 *vcek = pem_cert(vcek_pem, NULL);
    if (vcek == NULL) {
        U_LOG_DBG("kr", "SNP report: VCEK PEM does not parse");
        return KR_ERR_PARSE;
    }
    EVP_PKEY *pkey = X509_get0_pubkey(vcek);
    err = pkey != NULL ? verify_with_key(buf, &r, pkey) : KR_ERR_PARSE;
    X509_free(vcek);
    return err;
}

static bool signed_by(X509 *cert, X509 *issuer)
{
    EVP_PKEY *k = X509_get0_pubkey(issuer);
    return k != NULL && X509_verify(cert, k) == 1 &&
           X509_NAME_cmp(X509_get_issuer_name(cert), X509_get_subject_name(issuer)) == 0;
}

enum kr_err kr_snp_verify_chain(const char *vcek_pem, const char *chain_pem)
{
    if (vcek_pem == NULL || chain_pem == NULL)
        return KR_ERR_PARSE;
    enum kr_err err = KR_ERR_PARSE;
    BIO *rest = NULL;
    X509 *vcek = pem_cert(vcek_pem, NULL);
    X509 *ask = pem_cert(chain_pem, &rest);
    X509 *ark = rest != NULL ? PEM_read_bio_X509(rest, NULL, NULL, NULL) : NULL;
    if (vcek == NULL || ask == NULL || ark == NULL) {
        U_LOG_DBG("kr", "THIM chain: expected VCEK, ASK and ARK PEM certificates");
        goto out;
    }
    err = KR_ERR_VERIFY;
    if (!signed_by(ark, ark) || !signed_by(ask, ark) || !signed_by(vcek, ask)) {
        U_LOG_DBG("kr", "THIM chain: VCEK <- ASK <- ARK signatures do not verify");
        goto out;
    }
    err = KR_OK;
out:
    X509_free(vcek);
    X509_free(ask);
    X509_free(ark);
    BIO_free(rest);
    return err;
}

bool kr_snp_tcbm_matches(const struct kr_snp_report *r, const char *tcbm)
{
    char want[17];
    if (r == NULL || tcbm == NULL || strlen(tcbm) != 16)
        return false;
    snprintf(want, sizeof(want), "%016llX", (unsigned long long)r->reported_tcb);
    return strcasecmp(want, tcbm) == 0;
}

static json_t *hex_json(const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[2 * 64 + 1];
    if (n > 64)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        buf[2 * i] = digits[p[i] >> 4];
        buf[2 * i + 1] = digits[p[i] & 15];
    }
    buf[2 * n] = '\0';
    return json_string(buf);
}

enum kr_err kr_snp_claims_json(const struct kr_snp_report *r, char **out)
{
    unsigned char tcb[8];
    for (int i = 0; i < 8; i++)
        tcb[i] = (unsigned char)(r->reported_tcb >> (8 * i));
    json_t *o = json_pack(
            "{s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:b,s:b,s:I,s:o,s:o,s:I,s:I,s:I,s:I}",
            "x-ms-sevsnpvm-authorkeydigest", hex_json(r->author_key_digest, 48),
            "x-ms-sevsnpvm-guestsvn", (json_int_t)r->guest_svn, "x-ms-sevsnpvm-familyId",
            hex_json(r->family_id, 16), "x-ms-sevsnpvm-hostdata", hex_json(r->host_data, 32),
            "x-ms-sevsnpvm-idkeydigest", hex_json(r->id_key_digest, 48), "x-ms-sevsnpvm-imageId",
            hex_json(r->image_id, 16), "x-ms-sevsnpvm-launchmeasurement",
            hex_json(r->measurement, 48), "x-ms-sevsnpvm-reportdata", hex_json(r->report_data, 64),
            "x-ms-sevsnpvm-is-debuggable", (int)((r->policy >> 19) & 1),
            "x-ms-sevsnpvm-migration-allowed", (int)((r->policy >> 18) & 1),
            "x-ms-sevsnpvm-smt-allowed", (int)((r->policy >> 16) & 1), "x-ms-sevsnpvm-vmpl",
            (json_int_t)r->vmpl, "x-ms-sevsnpvm-reportid", hex_json(r->report_id, 32),
            "x-ms-sevsnpvm-chipid", hex_json(r->chip_id, 64), "x-ms-sevsnpvm-bootloader-svn",
            (json_int_t)tcb[0], "x-ms-sevsnpvm-tee-svn", (json_int_t)tcb[1],
            "x-ms-sevsnpvm-snpfw-svn", (json_int_t)tcb[6], "x-ms-sevsnpvm-microcode-svn",
            (json_int_t)tcb[7]);
    if (o == NULL)
        return KR_ERR_NOMEM;
    *out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return *out != NULL ? KR_OK : KR_ERR_NOMEM;
}
