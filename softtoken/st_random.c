/* SPDX-License-Identifier: Apache-2.0 */
/* C_GenerateRandom from the DRBG of the private library context (thread-safe in OpenSSL 3). */
#include <limits.h>
#include <openssl/rand.h>

#include "st_mech.h"

CK_RV st_random(CK_BYTE_PTR buf, CK_ULONG len)
{
    if (len == 0)
        return CKR_OK;
    if (buf == NULL)
        return CKR_ARGUMENTS_BAD;
    if (st_libctx() == NULL)
        return CKR_GENERAL_ERROR;
    while (len > 0) {
        size_t chunk = len > INT_MAX ? (size_t)INT_MAX : (size_t)len;
        if (RAND_bytes_ex(st_libctx(), buf, chunk, 0) != 1)
            return st_ossl_err("RAND_bytes_ex", CKR_FUNCTION_FAILED);
        buf += chunk;
        len -= chunk;
    }
    return CKR_OK;
}
