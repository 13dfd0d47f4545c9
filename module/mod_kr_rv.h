/* SPDX-License-Identifier: Apache-2.0 */
/* The one place keyrelease/ errors become CK_RVs (STYLE.md 2.3). */
#ifndef SKR_MODULE_MOD_KR_RV_H
#define SKR_MODULE_MOD_KR_RV_H

#include "kr_err.h"
#include "u_pkcs11.h"

/**
 * Map a kr_err to the CK_RV C_Initialize (through the key sink) reports: out of memory →
 * CKR_HOST_MEMORY; everything that means "Azure, the TPM or the attestation said no or could
 * not be reached" (network, HTTP, parse, verify, policy, not exportable, forbidden, not found,
 * auth, TPM, unwrap, mismatch) → CKR_DEVICE_ERROR; configuration and internal problems →
 * CKR_GENERAL_ERROR; unsupported → CKR_FUNCTION_FAILED. Does not log: the caller's one line
 * (mod_keysink_fail) carries the stage and reason.
 */
CK_RV kr_err_to_rv(enum kr_err err);

#endif /* SKR_MODULE_MOD_KR_RV_H */
