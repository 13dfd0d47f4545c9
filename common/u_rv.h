/* SPDX-License-Identifier: Apache-2.0 */
/* CK_RV names for logs, and the spec's two-call output convention, implemented once. */
#ifndef SKR_COMMON_U_RV_H
#define SKR_COMMON_U_RV_H

#include <stddef.h>

#include "u_pkcs11.h"

/** Symbolic name of a CK_RV ("CKR_OK"), or "CKR_0x%lx" style in a static buffer per thread. */
const char *u_rv_name(CK_RV rv);

/** Symbolic name of a mechanism ("CKM_RSA_PKCS") or a hex string in a per-thread buffer. */
const char *u_mech_name(CK_MECHANISM_TYPE m);

/**
 * PKCS#11 §5.2 output convention. `out == NULL`: set *out_len = len, CKR_OK (length query).
 * *out_len < len: set *out_len = len, CKR_BUFFER_TOO_SMALL. Else copy, set *out_len, CKR_OK.
 * out_len must not be NULL (callers check and return CKR_ARGUMENTS_BAD).
 */
CK_RV u_copy_out(const void *src, size_t len, CK_BYTE_PTR out, CK_ULONG_PTR out_len);

/** Copy `s` into a fixed-width, blank-padded, not NUL-terminated Cryptoki string field. */
void u_pad_string(CK_UTF8CHAR *dst, size_t width, const char *s);

#endif /* SKR_COMMON_U_RV_H */
