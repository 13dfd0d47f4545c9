/* SPDX-License-Identifier: Apache-2.0 */
/* Encryption and decryption (PKCS#11 3.0 §5.8, §5.9): thin entries into mod_op.c. */
#include "mod_internal.h"

static CK_RV call(CK_SESSION_HANDLE h, enum st_op_type t, enum mod_call c, CK_BYTE_PTR in,
                  CK_ULONG inlen, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
    struct mod_op_args a = {.in = in, .inlen = inlen, .out = out, .outlen = outlen};

    return mod_op_call(h, t, c, &a);
}

CK_RV C_EncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    MOD_TRACE_IN("C_EncryptInit(session=0x%lx, mech=%s, key=0x%lx)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL", hKey);
    MOD_RETURN(mod_op_init(hSession, ST_OP_ENCRYPT, pMechanism, hKey));
}

CK_RV C_Encrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                CK_BYTE_PTR pEncryptedData, CK_ULONG_PTR pulEncryptedDataLen)
{
    MOD_TRACE_IN("C_Encrypt(session=0x%lx, inlen=%lu, out=%p)", hSession, ulDataLen,
                 (void *)pEncryptedData);
    MOD_RETURN(call(hSession, ST_OP_ENCRYPT, MOD_CALL_ONESHOT, pData, ulDataLen, pEncryptedData,
                    pulEncryptedDataLen));
}

CK_RV C_EncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                      CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    MOD_TRACE_IN("C_EncryptUpdate(session=0x%lx, inlen=%lu, out=%p)", hSession, ulPartLen,
                 (void *)pEncryptedPart);
    MOD_RETURN(call(hSession, ST_OP_ENCRYPT, MOD_CALL_UPDATE, pPart, ulPartLen, pEncryptedPart,
                    pulEncryptedPartLen));
}

CK_RV C_EncryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastEncryptedPart,
                     CK_ULONG_PTR pulLastEncryptedPartLen)
{
    MOD_TRACE_IN("C_EncryptFinal(session=0x%lx, out=%p)", hSession, (void *)pLastEncryptedPart);
    MOD_RETURN(call(hSession, ST_OP_ENCRYPT, MOD_CALL_FINAL, NULL, 0, pLastEncryptedPart,
                    pulLastEncryptedPartLen));
}

CK_RV C_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    MOD_TRACE_IN("C_DecryptInit(session=0x%lx, mech=%s, key=0x%lx)", hSession,
                 pMechanism ? u_mech_name(pMechanism->mechanism) : "NULL", hKey);
    MOD_RETURN(mod_op_init(hSession, ST_OP_DECRYPT, pMechanism, hKey));
}

CK_RV C_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData, CK_ULONG ulEncryptedDataLen,
                CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    MOD_TRACE_IN("C_Decrypt(session=0x%lx, inlen=%lu, out=%p)", hSession, ulEncryptedDataLen,
                 (void *)pData);
    MOD_RETURN(call(hSession, ST_OP_DECRYPT, MOD_CALL_ONESHOT, pEncryptedData, ulEncryptedDataLen,
                    pData, pulDataLen));
}

CK_RV C_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen)
{
    MOD_TRACE_IN("C_DecryptUpdate(session=0x%lx, inlen=%lu, out=%p)", hSession, ulEncryptedPartLen,
                 (void *)pPart);
    MOD_RETURN(call(hSession, ST_OP_DECRYPT, MOD_CALL_UPDATE, pEncryptedPart, ulEncryptedPartLen,
                    pPart, pulPartLen));
}

CK_RV C_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen)
{
    MOD_TRACE_IN("C_DecryptFinal(session=0x%lx, out=%p)", hSession, (void *)pLastPart);
    MOD_RETURN(call(hSession, ST_OP_DECRYPT, MOD_CALL_FINAL, NULL, 0, pLastPart, pulLastPartLen));
}
