/* SPDX-License-Identifier: Apache-2.0 */
/* Message digesting (PKCS#11 3.0 §5.10): entries into mod_op.c. */
#include "mod_internal.h"

CK_RV C_DigestInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism)
{
    MOD_TRACE_IN("C_DigestInit(session=0x%lx, mech=%s)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL");
    MOD_RETURN(mod_op_init(hSession, ST_OP_DIGEST, pMechanism, CK_INVALID_HANDLE));
}

CK_RV C_Digest(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    struct mod_op_args a = {
            .in = pData, .inlen = ulDataLen, .out = pDigest, .outlen = pulDigestLen};

    MOD_TRACE_IN("C_Digest(session=0x%lx, inlen=%lu, out=%p)", hSession, ulDataLen,
                 (void *)pDigest);
    MOD_RETURN(mod_op_call(hSession, ST_OP_DIGEST, MOD_CALL_ONESHOT, &a));
}

CK_RV C_DigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    struct mod_op_args a = {.in = pPart, .inlen = ulPartLen};

    MOD_TRACE_IN("C_DigestUpdate(session=0x%lx, inlen=%lu)", hSession, ulPartLen);
    MOD_RETURN(mod_op_call(hSession, ST_OP_DIGEST, MOD_CALL_UPDATE, &a));
}

CK_RV C_DigestKey(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hKey)
{
    MOD_TRACE_IN("C_DigestKey(session=0x%lx, key=0x%lx)", hSession, hKey);
    MOD_RETURN(mod_op_digest_key(hSession, hKey));
}

CK_RV C_DigestFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen)
{
    struct mod_op_args a = {.out = pDigest, .outlen = pulDigestLen};

    MOD_TRACE_IN("C_DigestFinal(session=0x%lx, out=%p)", hSession, (void *)pDigest);
    MOD_RETURN(mod_op_call(hSession, ST_OP_DIGEST, MOD_CALL_FINAL, &a));
}
