/* SPDX-License-Identifier: Apache-2.0 */
/* Signing, MACing and verification (PKCS#11 3.0 §5.11, §5.13): entries into mod_op.c. */
#include "mod_internal.h"

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    MOD_TRACE_IN("C_SignInit(session=0x%lx, mech=%s, key=0x%lx)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL", hKey);
    MOD_RETURN(mod_op_init(hSession, ST_OP_SIGN, pMechanism, hKey));
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
             CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    struct mod_op_args a = {
            .in = pData, .inlen = ulDataLen, .out = pSignature, .outlen = pulSignatureLen};

    MOD_TRACE_IN("C_Sign(session=0x%lx, inlen=%lu, out=%p)", hSession, ulDataLen,
                 (void *)pSignature);
    MOD_RETURN(mod_op_call(hSession, ST_OP_SIGN, MOD_CALL_ONESHOT, &a));
}

CK_RV C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    struct mod_op_args a = {.in = pPart, .inlen = ulPartLen};

    MOD_TRACE_IN("C_SignUpdate(session=0x%lx, inlen=%lu)", hSession, ulPartLen);
    MOD_RETURN(mod_op_call(hSession, ST_OP_SIGN, MOD_CALL_UPDATE, &a));
}

CK_RV C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    struct mod_op_args a = {.out = pSignature, .outlen = pulSignatureLen};

    MOD_TRACE_IN("C_SignFinal(session=0x%lx, out=%p)", hSession, (void *)pSignature);
    MOD_RETURN(mod_op_call(hSession, ST_OP_SIGN, MOD_CALL_FINAL, &a));
}

CK_RV C_VerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    MOD_TRACE_IN("C_VerifyInit(session=0x%lx, mech=%s, key=0x%lx)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL", hKey);
    MOD_RETURN(mod_op_init(hSession, ST_OP_VERIFY, pMechanism, hKey));
}

CK_RV C_Verify(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
               CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    struct mod_op_args a = {
            .in = pData, .inlen = ulDataLen, .out = pSignature, .siglen = ulSignatureLen};

    MOD_TRACE_IN("C_Verify(session=0x%lx, inlen=%lu, siglen=%lu)", hSession, ulDataLen,
                 ulSignatureLen);
    MOD_RETURN(mod_op_call(hSession, ST_OP_VERIFY, MOD_CALL_VERIFY, &a));
}

CK_RV C_VerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
    struct mod_op_args a = {.in = pPart, .inlen = ulPartLen};

    MOD_TRACE_IN("C_VerifyUpdate(session=0x%lx, inlen=%lu)", hSession, ulPartLen);
    MOD_RETURN(mod_op_call(hSession, ST_OP_VERIFY, MOD_CALL_UPDATE, &a));
}

CK_RV C_VerifyFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    struct mod_op_args a = {.out = pSignature, .siglen = ulSignatureLen};

    MOD_TRACE_IN("C_VerifyFinal(session=0x%lx, siglen=%lu)", hSession, ulSignatureLen);
    MOD_RETURN(mod_op_call(hSession, ST_OP_VERIFY, MOD_CALL_VERIFY_FINAL, &a));
}
