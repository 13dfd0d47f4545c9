/* SPDX-License-Identifier: Apache-2.0 */
/* Random number generation (PKCS#11 3.0 §5.15). */
#include "mod_internal.h"

static CK_RV generate_random(CK_SESSION_HANDLE h, CK_BYTE_PTR out, CK_ULONG len)
{
    struct mod_session *s = NULL;
    CK_RV rv = mod_session_acquire(h, &s);

    if (rv != CKR_OK)
        return rv;
    /* No session state is used: release before the DRBG runs. */
    mod_session_release(s);
    if (out == NULL && len > 0)
        return CKR_ARGUMENTS_BAD;
    return len == 0 ? CKR_OK : st_random(out, len);
}

CK_RV C_GenerateRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen)
{
    MOD_TRACE_IN("C_GenerateRandom(session=0x%lx, len=%lu)", hSession, ulRandomLen);
    MOD_RETURN(generate_random(hSession, RandomData, ulRandomLen));
}

/* The DRBG is seeded by OpenSSL from the OS; application seed is refused (§5.15.1). */
static CK_RV seed_random(CK_SESSION_HANDLE h, CK_BYTE_PTR seed, CK_ULONG len)
{
    struct mod_session *s = NULL;
    CK_RV rv = mod_session_acquire(h, &s);

    if (rv != CKR_OK)
        return rv;
    mod_session_release(s);
    if (seed == NULL && len > 0)
        return CKR_ARGUMENTS_BAD;
    return CKR_RANDOM_SEED_NOT_SUPPORTED;
}

CK_RV C_SeedRandom(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen)
{
    MOD_TRACE_IN("C_SeedRandom(session=0x%lx, len=%lu)", hSession, ulSeedLen);
    MOD_RETURN(seed_random(hSession, pSeed, ulSeedLen));
}
