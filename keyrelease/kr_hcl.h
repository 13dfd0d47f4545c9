/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Azure HCL report read from vTPM NV index 0x01400001 (AZURE-SKR.md §h.1): header "HCLA",
 * the hardware report (SEV-SNP ATTESTATION_REPORT or Intel TD report), HclData and the
 * VariableData (runtime JSON with HCLAkPub/HCLEkPub), and the binding
 * hw.report_data[0:hashlen] == HASH(VariableData) with the remaining bytes zero.
 * Pure parsing, bounds-checked everywhere (fuzzed); no TPM, no network.
 */
#ifndef SKR_KEYRELEASE_KR_HCL_H
#define SKR_KEYRELEASE_KR_HCL_H

#include <stddef.h>
#include <stdint.h>

#include "kr_err.h"

#define KR_HCL_HW_OFFSET   0x20u  /* hardware report union */
#define KR_HCL_HW_SIZE     1184u  /* union size (SNP report size) */
#define KR_HCL_DATA_OFFSET 0x4C0u /* HclData */
#define KR_HCL_VAR_OFFSET  0x4D4u /* VariableData */
#define KR_HCL_SNP_SIZE    1184u
#define KR_HCL_TD_SIZE     1024u

/* IGVM ReportType values of HclData.ReportType. */
enum kr_hcl_type {
    KR_HCL_TYPE_SNP = 2, /* SnpVmReport */
    KR_HCL_TYPE_TVM = 3, /* TvmReport (no hardware report; refused) */
    KR_HCL_TYPE_TDX = 4, /* TdxVmReport */
};

/* A parsed report. Every pointer borrows from the buffer given to kr_hcl_parse. */
struct kr_hcl_report {
    uint32_t version;      /* 1 or 2 */
    uint32_t report_size;  /* ReportSize: meaningful bytes (the NV index may be larger) */
    uint32_t request_type; /* IGVM_REQUEST_TYPE */
    enum kr_hcl_type type;
    uint32_t hash_type;      /* 1 SHA-256, 2 SHA-384, 3 SHA-512 */
    const unsigned char *hw; /* SNP report (1184 B) or TD report (1024 B) */
    size_t hw_len;
    const unsigned char *report_data; /* 64 bytes inside hw */
    const unsigned char *var_data;    /* runtime-data JSON (not NUL-terminated) */
    size_t var_len;
};

/**
 * Parse `buf[0..len)` into *out (pointers borrow from buf). Checks the signature, sizes and
 * type; does not check the binding. Returns KR_OK or KR_ERR_PARSE (one debug line says why).
 */
enum kr_err kr_hcl_parse(const unsigned char *buf, size_t len, struct kr_hcl_report *out);

/**
 * Check report_data[0:hashlen] == HASH(VariableData) and report_data[hashlen:64] == 0.
 * Returns KR_OK, KR_ERR_VERIFY (mismatch), or KR_ERR_PARSE (unknown hash type).
 */
enum kr_err kr_hcl_check_binding(const struct kr_hcl_report *r);

/** "SevSnp" or "Tdx": the AzureGuest IsolationInfo.Type for this report (§a'). */
const char *kr_hcl_isolation_type(const struct kr_hcl_report *r);

/* An Intel TDX quote as IMDS /acc/tdquote returns it (AZURE-SKR.md §a', §h.5): header (48 B:
 * version, attestation key type, TEE type 0x81, ...), then the TD quote body. Version 4 has the
 * 584-byte body right after the header; version 5 has a body descriptor (type u16: 2 = TDX 1.0,
 * 3 = TDX 1.5; size u32) first. REPORTDATA is at body offset 520 in both. */
#define KR_TDQUOTE_HEADER_SIZE 48u
#define KR_TDQUOTE_TEE_TDX     0x81u

struct kr_tdquote {
    uint16_t version;                 /* 4 or 5 */
    uint16_t att_key_type;            /* 2 = ECDSA-256-with-P-256 */
    const unsigned char *body;        /* TD quote body (borrows) */
    size_t body_len;                  /* 584 (TDX 1.0) or 648 (TDX 1.5) */
    const unsigned char *mrtd;        /* 48 bytes inside body */
    const unsigned char *report_data; /* 64 bytes inside body */
};

/**
 * Parse the header and locate the TD quote body of `quote[0..len)` (pointers borrow). Does not
 * verify the signature (that is MAA's job); the module uses it to check that the quote IMDS
 * returned carries the REPORTDATA of the TD report it sent. KR_OK or KR_ERR_PARSE (one debug
 * line says why).
 */
enum kr_err kr_tdquote_parse(const unsigned char *quote, size_t len, struct kr_tdquote *out);

#endif /* SKR_KEYRELEASE_KR_HCL_H */
