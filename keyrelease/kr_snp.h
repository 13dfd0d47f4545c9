/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AMD SEV-SNP ATTESTATION_REPORT (AZURE-SKR.md §h.2): parsing, signature verification with a
 * VCEK (ECDSA P-384 / SHA-384 over bytes 0x000-0x29F, r and s little-endian, 72 bytes each),
 * and the VCEK ← ASK ← ARK chain check of a THIM response. Used by `skr-tool verify`/`doctor`
 * and the tests; the module itself lets MAA verify the report.
 */
#ifndef SKR_KEYRELEASE_KR_SNP_H
#define SKR_KEYRELEASE_KR_SNP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kr_err.h"

#define KR_SNP_REPORT_SIZE 1184u
#define KR_SNP_SIGNED_LEN  0x2A0u

struct kr_snp_report {
    uint32_t version;
    uint32_t guest_svn;
    uint64_t policy; /* bit 16 SMT allowed, 18 migration agent, 19 debug */
    unsigned char family_id[16];
    unsigned char image_id[16];
    uint32_t vmpl;
    uint32_t signature_algo; /* 1 = ECDSA P-384 with SHA-384 */
    uint64_t current_tcb;
    uint64_t platform_info;
    uint32_t author_key_en;
    unsigned char report_data[64];
    unsigned char measurement[48];
    unsigned char host_data[32];
    unsigned char id_key_digest[48];
    unsigned char author_key_digest[48];
    unsigned char report_id[32];
    unsigned char report_id_ma[32];
    uint64_t reported_tcb; /* selects the VCEK; THIM tcbm = hex of it */
    unsigned char chip_id[64];
    uint64_t committed_tcb;
    uint64_t launch_tcb;
    unsigned char sig_r[72]; /* little-endian, zero-padded */
    unsigned char sig_s[72];
};

/** Parse exactly KR_SNP_REPORT_SIZE bytes (longer input: the rest is ignored).
 *  KR_OK or KR_ERR_PARSE (short input, signature_algo != 1, version < 2). */
enum kr_err kr_snp_parse(const unsigned char *buf, size_t len, struct kr_snp_report *out);

/**
 * Verify the report's signature with the VCEK certificate `vcek_pem` (PEM text, the first
 * certificate is used). KR_OK, KR_ERR_VERIFY (bad signature / not a P-384 key),
 * KR_ERR_PARSE (bad report or PEM), KR_ERR_NOMEM, KR_ERR_INTERNAL.
 */
enum kr_err kr_snp_verify(const unsigned char *buf, size_t len, const char *vcek_pem);

/**
 * Verify the THIM chain: ARK self-signed, ASK signed by ARK, VCEK signed by ASK (RSA-PSS).
 * `chain_pem` is ASK PEM followed by ARK PEM (THIM certificateChain). Does not check dates
 * against a trusted ARK (no AMD root is pinned): the caller decides what the chain is worth.
 * KR_OK, KR_ERR_VERIFY, KR_ERR_PARSE, KR_ERR_NOMEM.
 */
enum kr_err kr_snp_verify_chain(const char *vcek_pem, const char *chain_pem);

/** True when THIM's `tcbm` (16 hex digits) names the report's reported_tcb (§d.8). */
bool kr_snp_tcbm_matches(const struct kr_snp_report *r, const char *tcbm);

/**
 * The report as JSON claims named like MAA's x-ms-sevsnpvm-* (§h.2 mapping), compact text,
 * malloc'd into *out. KR_OK or KR_ERR_NOMEM.
 */
enum kr_err kr_snp_claims_json(const struct kr_snp_report *r, char **out);

#endif /* SKR_KEYRELEASE_KR_SNP_H */
