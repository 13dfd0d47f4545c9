/* SPDX-License-Identifier: Apache-2.0 */
/* kr_err → CK_RV, in exactly one place. */
#include "mod_kr_rv.h"

CK_RV kr_err_to_rv(enum kr_err err)
{
    switch (err) {
    case KR_OK:
        return CKR_OK;
    case KR_ERR_NOMEM:
        return CKR_HOST_MEMORY;
    case KR_ERR_NETWORK:
    case KR_ERR_HTTP:
    case KR_ERR_PARSE:
    case KR_ERR_VERIFY:
    case KR_ERR_POLICY:
    case KR_ERR_NOT_EXPORTABLE:
    case KR_ERR_FORBIDDEN:
    case KR_ERR_NOT_FOUND:
    case KR_ERR_AUTH:
    case KR_ERR_TPM:
    case KR_ERR_UNWRAP:
    case KR_ERR_MISMATCH:
        return CKR_DEVICE_ERROR;
    case KR_ERR_UNSUPPORTED:
        return CKR_FUNCTION_FAILED;
    case KR_ERR_CONFIG:
    case KR_ERR_INVALID:
    case KR_ERR_INTERNAL:
        break;
    }
    return CKR_GENERAL_ERROR;
}
