/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry points (PKCS#11 3.0 §5.4): C_GetFunctionList, C_GetInterfaceList, C_GetInterface, the
 * only exported symbols (module.map, -fvisibility=hidden). Two interfaces named "PKCS 11" are
 * offered: 3.0 (CK_FUNCTION_LIST_3_0) first, then 2.40 (CK_FUNCTION_LIST, also what
 * C_GetFunctionList returns). Every slot of both lists is filled; what this token does not do
 * returns CKR_FUNCTION_NOT_SUPPORTED, after the CKR_CRYPTOKI_NOT_INITIALIZED check:
 * the message-based API, operation state, C_InitToken/InitPIN/SetPIN (the token is
 * write-protected, its PIN comes from the config), recover and dual-function calls, and
 * C_WaitForSlotEvent (slots never change). The legacy C_GetFunctionStatus/C_CancelFunction
 * return CKR_FUNCTION_NOT_PARALLEL as §5.16 prescribes.
 */
#include <string.h>

#include "mod_internal.h"
#include "u_macros.h"

static CK_RV not_supported(const char *fn)
{
    CK_RV rv = mod_ready();

    U_LOG_TRACE(MOD_SUBSYS, "%s()", fn);
    return mod_trace_ret(fn, rv != CKR_OK ? rv : CKR_FUNCTION_NOT_SUPPORTED);
}

static CK_RV not_parallel(const char *fn)
{
    CK_RV rv = mod_ready();

    U_LOG_TRACE(MOD_SUBSYS, "%s()", fn);
    return mod_trace_ret(fn, rv != CKR_OK ? rv : CKR_FUNCTION_NOT_PARALLEL);
}

static CK_RV ns_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                          CK_UTF8CHAR_PTR pLabel)
{
    (void)slotID;
    (void)pPin;
    (void)ulPinLen;
    (void)pLabel;
    return not_supported("C_InitToken");
}

static CK_RV ns_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    (void)hSession;
    (void)pPin;
    (void)ulPinLen;
    return not_supported("C_InitPIN");
}

static CK_RV ns_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
                       CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
    (void)hSession;
    (void)pOldPin;
    (void)ulOldLen;
    (void)pNewPin;
    (void)ulNewLen;
    return not_supported("C_SetPIN");
}

static CK_RV ns_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                  CK_ULONG_PTR pulOperationStateLen)
{
    (void)hSession;
    (void)pOperationState;
    (void)pulOperationStateLen;
    return not_supported("C_GetOperationState");
}

static CK_RV ns_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                  CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                                  CK_OBJECT_HANDLE hAuthenticationKey)
{
    (void)hSession;
    (void)pOperationState;
    (void)ulOperationStateLen;
    (void)hEncryptionKey;
    (void)hAuthenticationKey;
    return not_supported("C_SetOperationState");
}

static CK_RV ns_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                CK_OBJECT_HANDLE hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    return not_supported("C_SignRecoverInit");
}

static CK_RV ns_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                            CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    (void)hSession;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)pulSignatureLen;
    return not_supported("C_SignRecover");
}

static CK_RV ns_VerifyRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_OBJECT_HANDLE hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    return not_supported("C_VerifyRecoverInit");
}

static CK_RV ns_VerifyRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                              CK_ULONG ulSignatureLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
    (void)hSession;
    (void)pSignature;
    (void)ulSignatureLen;
    (void)pData;
    (void)pulDataLen;
    return not_supported("C_VerifyRecover");
}

static CK_RV ns_DigestEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
                                    CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
                                    CK_ULONG_PTR pulEncryptedPartLen)
{
    (void)hSession;
    (void)pPart;
    (void)ulPartLen;
    (void)pEncryptedPart;
    (void)pulEncryptedPartLen;
    return not_supported("C_DigestEncryptUpdate");
}

static CK_RV ns_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                    CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                    CK_ULONG_PTR pulPartLen)
{
    (void)hSession;
    (void)pEncryptedPart;
    (void)ulEncryptedPartLen;
    (void)pPart;
    (void)pulPartLen;
    return not_supported("C_DecryptDigestUpdate");
}

static CK_RV ns_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen,
                                  CK_BYTE_PTR pEncryptedPart, CK_ULONG_PTR pulEncryptedPartLen)
{
    (void)hSession;
    (void)pPart;
    (void)ulPartLen;
    (void)pEncryptedPart;
    (void)pulEncryptedPartLen;
    return not_supported("C_SignEncryptUpdate");
}

static CK_RV ns_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                    CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                    CK_ULONG_PTR pulPartLen)
{
    (void)hSession;
    (void)pEncryptedPart;
    (void)ulEncryptedPartLen;
    (void)pPart;
    (void)pulPartLen;
    return not_supported("C_DecryptVerifyUpdate");
}

static CK_RV ns_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
    (void)flags;
    (void)pSlot;
    (void)pReserved;
    return not_supported("C_WaitForSlotEvent");
}

static CK_RV ns_MessageEncryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                   CK_OBJECT_HANDLE hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    return not_supported("C_MessageEncryptInit");
}

static CK_RV ns_EncryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                               CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                               CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pPlaintext,
                               CK_ULONG ulPlaintextLen, CK_BYTE_PTR pCiphertext,
                               CK_ULONG_PTR pulCiphertextLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pAssociatedData;
    (void)ulAssociatedDataLen;
    (void)pPlaintext;
    (void)ulPlaintextLen;
    (void)pCiphertext;
    (void)pulCiphertextLen;
    return not_supported("C_EncryptMessage");
}

static CK_RV ns_EncryptMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                    CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                    CK_ULONG ulAssociatedDataLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pAssociatedData;
    (void)ulAssociatedDataLen;
    return not_supported("C_EncryptMessageBegin");
}

static CK_RV ns_EncryptMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                   CK_ULONG ulParameterLen, CK_BYTE_PTR pPlaintextPart,
                                   CK_ULONG ulPlaintextPartLen, CK_BYTE_PTR pCiphertextPart,
                                   CK_ULONG_PTR pulCiphertextPartLen, CK_FLAGS flags)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pPlaintextPart;
    (void)ulPlaintextPartLen;
    (void)pCiphertextPart;
    (void)pulCiphertextPartLen;
    (void)flags;
    return not_supported("C_EncryptMessageNext");
}

static CK_RV ns_MessageEncryptFinal(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    return not_supported("C_MessageEncryptFinal");
}

static CK_RV ns_MessageDecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                   CK_OBJECT_HANDLE hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    return not_supported("C_MessageDecryptInit");
}

static CK_RV ns_DecryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                               CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                               CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pCiphertext,
                               CK_ULONG ulCiphertextLen, CK_BYTE_PTR pPlaintext,
                               CK_ULONG_PTR pulPlaintextLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pAssociatedData;
    (void)ulAssociatedDataLen;
    (void)pCiphertext;
    (void)ulCiphertextLen;
    (void)pPlaintext;
    (void)pulPlaintextLen;
    return not_supported("C_DecryptMessage");
}

static CK_RV ns_DecryptMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                    CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                    CK_ULONG ulAssociatedDataLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pAssociatedData;
    (void)ulAssociatedDataLen;
    return not_supported("C_DecryptMessageBegin");
}

static CK_RV ns_DecryptMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                   CK_ULONG ulParameterLen, CK_BYTE_PTR pCiphertextPart,
                                   CK_ULONG ulCiphertextPartLen, CK_BYTE_PTR pPlaintextPart,
                                   CK_ULONG_PTR pulPlaintextPartLen, CK_FLAGS flags)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pCiphertextPart;
    (void)ulCiphertextPartLen;
    (void)pPlaintextPart;
    (void)pulPlaintextPartLen;
    (void)flags;
    return not_supported("C_DecryptMessageNext");
}

static CK_RV ns_MessageDecryptFinal(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    return not_supported("C_MessageDecryptFinal");
}

static CK_RV ns_MessageSignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                CK_OBJECT_HANDLE hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    return not_supported("C_MessageSignInit");
}

static CK_RV ns_SignMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                            CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                            CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)pulSignatureLen;
    return not_supported("C_SignMessage");
}

static CK_RV ns_SignMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                 CK_ULONG ulParameterLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    return not_supported("C_SignMessageBegin");
}

static CK_RV ns_SignMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                                CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)pulSignatureLen;
    return not_supported("C_SignMessageNext");
}

static CK_RV ns_MessageSignFinal(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    return not_supported("C_MessageSignFinal");
}

static CK_RV ns_MessageVerifyInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_OBJECT_HANDLE hKey)
{
    (void)hSession;
    (void)pMechanism;
    (void)hKey;
    return not_supported("C_MessageVerifyInit");
}

static CK_RV ns_VerifyMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                              CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                              CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)ulSignatureLen;
    return not_supported("C_VerifyMessage");
}

static CK_RV ns_VerifyMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                   CK_ULONG ulParameterLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    return not_supported("C_VerifyMessageBegin");
}

static CK_RV ns_VerifyMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                  CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                                  CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen)
{
    (void)hSession;
    (void)pParameter;
    (void)ulParameterLen;
    (void)pData;
    (void)ulDataLen;
    (void)pSignature;
    (void)ulSignatureLen;
    return not_supported("C_VerifyMessageNext");
}

static CK_RV ns_MessageVerifyFinal(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    return not_supported("C_MessageVerifyFinal");
}

static CK_RV ns_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    return not_parallel("C_GetFunctionStatus");
}

static CK_RV ns_CancelFunction(CK_SESSION_HANDLE hSession)
{
    (void)hSession;
    return not_parallel("C_CancelFunction");
}

/* The 2.40 members, shared by both lists; only C_GetInfo differs (it reports the list's
 * version). */
/* clang-format off */
#define MOD_FUNCTIONS_240(get_info) \
        .C_Initialize = C_Initialize,                    \
        .C_Finalize = C_Finalize,                        \
        .C_GetInfo = get_info,                           \
        .C_GetFunctionList = C_GetFunctionList,          \
        .C_GetSlotList = C_GetSlotList,                  \
        .C_GetSlotInfo = C_GetSlotInfo,                  \
        .C_GetTokenInfo = C_GetTokenInfo,                \
        .C_GetMechanismList = C_GetMechanismList,        \
        .C_GetMechanismInfo = C_GetMechanismInfo,        \
        .C_OpenSession = C_OpenSession,                  \
        .C_CloseSession = C_CloseSession,                \
        .C_CloseAllSessions = C_CloseAllSessions,        \
        .C_GetSessionInfo = C_GetSessionInfo,            \
        .C_Login = C_Login,                              \
        .C_Logout = C_Logout,                            \
        .C_CreateObject = C_CreateObject,                \
        .C_CopyObject = C_CopyObject,                    \
        .C_DestroyObject = C_DestroyObject,              \
        .C_GetObjectSize = C_GetObjectSize,              \
        .C_GetAttributeValue = C_GetAttributeValue,      \
        .C_SetAttributeValue = C_SetAttributeValue,      \
        .C_FindObjectsInit = C_FindObjectsInit,          \
        .C_FindObjects = C_FindObjects,                  \
        .C_FindObjectsFinal = C_FindObjectsFinal,        \
        .C_EncryptInit = C_EncryptInit,                  \
        .C_Encrypt = C_Encrypt,                          \
        .C_EncryptUpdate = C_EncryptUpdate,              \
        .C_EncryptFinal = C_EncryptFinal,                \
        .C_DecryptInit = C_DecryptInit,                  \
        .C_Decrypt = C_Decrypt,                          \
        .C_DecryptUpdate = C_DecryptUpdate,              \
        .C_DecryptFinal = C_DecryptFinal,                \
        .C_DigestInit = C_DigestInit,                    \
        .C_Digest = C_Digest,                            \
        .C_DigestUpdate = C_DigestUpdate,                \
        .C_DigestKey = C_DigestKey,                      \
        .C_DigestFinal = C_DigestFinal,                  \
        .C_SignInit = C_SignInit,                        \
        .C_Sign = C_Sign,                                \
        .C_SignUpdate = C_SignUpdate,                    \
        .C_SignFinal = C_SignFinal,                      \
        .C_VerifyInit = C_VerifyInit,                    \
        .C_Verify = C_Verify,                            \
        .C_VerifyUpdate = C_VerifyUpdate,                \
        .C_VerifyFinal = C_VerifyFinal,                  \
        .C_GenerateKey = C_GenerateKey,                  \
        .C_GenerateKeyPair = C_GenerateKeyPair,          \
        .C_WrapKey = C_WrapKey,                          \
        .C_UnwrapKey = C_UnwrapKey,                      \
        .C_DeriveKey = C_DeriveKey,                      \
        .C_SeedRandom = C_SeedRandom,                    \
        .C_GenerateRandom = C_GenerateRandom,            \
        .C_InitToken = ns_InitToken,                     \
        .C_InitPIN = ns_InitPIN,                         \
        .C_SetPIN = ns_SetPIN,                           \
        .C_GetOperationState = ns_GetOperationState,     \
        .C_SetOperationState = ns_SetOperationState,     \
        .C_SignRecoverInit = ns_SignRecoverInit,         \
        .C_SignRecover = ns_SignRecover,                 \
        .C_VerifyRecoverInit = ns_VerifyRecoverInit,     \
        .C_VerifyRecover = ns_VerifyRecover,             \
        .C_DigestEncryptUpdate = ns_DigestEncryptUpdate, \
        .C_DecryptDigestUpdate = ns_DecryptDigestUpdate, \
        .C_SignEncryptUpdate = ns_SignEncryptUpdate,     \
        .C_DecryptVerifyUpdate = ns_DecryptVerifyUpdate, \
        .C_GetFunctionStatus = ns_GetFunctionStatus,     \
        .C_CancelFunction = ns_CancelFunction,           \
        .C_WaitForSlotEvent = ns_WaitForSlotEvent
/* clang-format on */

static CK_FUNCTION_LIST g_list_240 = {
        .version = {2, 40},
        MOD_FUNCTIONS_240(mod_get_info_240),
};

static CK_FUNCTION_LIST_3_0 g_list_30 = {
        .version = {3, 0},
        MOD_FUNCTIONS_240(C_GetInfo),
        .C_GetInterfaceList = C_GetInterfaceList,
        .C_GetInterface = C_GetInterface,
        .C_LoginUser = C_LoginUser,
        .C_SessionCancel = C_SessionCancel,
        .C_MessageEncryptInit = ns_MessageEncryptInit,
        .C_EncryptMessage = ns_EncryptMessage,
        .C_EncryptMessageBegin = ns_EncryptMessageBegin,
        .C_EncryptMessageNext = ns_EncryptMessageNext,
        .C_MessageEncryptFinal = ns_MessageEncryptFinal,
        .C_MessageDecryptInit = ns_MessageDecryptInit,
        .C_DecryptMessage = ns_DecryptMessage,
        .C_DecryptMessageBegin = ns_DecryptMessageBegin,
        .C_DecryptMessageNext = ns_DecryptMessageNext,
        .C_MessageDecryptFinal = ns_MessageDecryptFinal,
        .C_MessageSignInit = ns_MessageSignInit,
        .C_SignMessage = ns_SignMessage,
        .C_SignMessageBegin = ns_SignMessageBegin,
        .C_SignMessageNext = ns_SignMessageNext,
        .C_MessageSignFinal = ns_MessageSignFinal,
        .C_MessageVerifyInit = ns_MessageVerifyInit,
        .C_VerifyMessage = ns_VerifyMessage,
        .C_VerifyMessageBegin = ns_VerifyMessageBegin,
        .C_VerifyMessageNext = ns_VerifyMessageNext,
        .C_MessageVerifyFinal = ns_MessageVerifyFinal,
};

static CK_INTERFACE g_ifaces[] = {
        {(CK_CHAR *)"PKCS 11", &g_list_30, 0},
        {(CK_CHAR *)"PKCS 11", &g_list_240, 0},
};

U_EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    MOD_TRACE_IN("C_GetFunctionList(out=%p)", (void *)ppFunctionList);
    if (ppFunctionList == NULL)
        MOD_RETURN(CKR_ARGUMENTS_BAD);
    *ppFunctionList = &g_list_240;
    MOD_RETURN(CKR_OK);
}

U_EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
    CK_ULONG n = U_ARRAY_SIZE(g_ifaces);

    MOD_TRACE_IN("C_GetInterfaceList(list=%p, count=%p)", (void *)pInterfacesList,
                 (void *)pulCount);
    if (pulCount == NULL)
        MOD_RETURN(CKR_ARGUMENTS_BAD);
    if (pInterfacesList == NULL) {
        *pulCount = n;
        MOD_RETURN(CKR_OK);
    }
    if (*pulCount < n) {
        *pulCount = n;
        MOD_RETURN(CKR_BUFFER_TOO_SMALL);
    }
    memcpy(pInterfacesList, g_ifaces, sizeof(g_ifaces));
    *pulCount = n;
    MOD_RETURN(CKR_OK);
}

/* §5.4.4: NULL name = the default ("PKCS 11"), NULL version = the newest; every requested flag
 * must be offered. No match is CKR_ARGUMENTS_BAD. */
static bool iface_matches(const CK_INTERFACE *i, const CK_UTF8CHAR *name, const CK_VERSION *v,
                          CK_FLAGS flags)
{
    const CK_VERSION *have = i->pFunctionList;

    if (name != NULL && strcmp((const char *)name, (const char *)i->pInterfaceName) != 0)
        return false;
    if (v != NULL && (v->major != have->major || v->minor != have->minor))
        return false;
    return (i->flags & flags) == flags;
}

U_EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                              CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
    size_t i;

    MOD_TRACE_IN("C_GetInterface(name=%s, version=%d.%d, flags=0x%lx)",
                 pInterfaceName ? (const char *)pInterfaceName : "(default)",
                 pVersion ? pVersion->major : -1, pVersion ? pVersion->minor : -1, flags);
    if (ppInterface == NULL)
        MOD_RETURN(CKR_ARGUMENTS_BAD);
    for (i = 0; i < U_ARRAY_SIZE(g_ifaces); i++) {
        if (iface_matches(&g_ifaces[i], pInterfaceName, pVersion, flags)) {
            *ppInterface = &g_ifaces[i];
            MOD_RETURN(CKR_OK);
        }
    }
    MOD_RETURN(CKR_ARGUMENTS_BAD);
}
