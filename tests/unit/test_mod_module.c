/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The module through its C ABI, loaded with dlopen like any application: C_Initialize rules,
 * CKR_CRYPTOKI_NOT_INITIALIZED everywhere, the 3.0 and 2.40 interfaces, slots and token flags,
 * login and private-object hiding, sessions, searches, attribute rules, the operation state
 * machine, bad input (NULL pointers, stale and foreign handles, unknown mechanisms), parallel
 * signing and fork (children re-initialize and sign while a parent thread keeps signing).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "mod_test_util.h"

static CK_FUNCTION_LIST_3_0_PTR F;
static CK_FUNCTION_LIST_PTR F2;
static char g_conf[64] = "/tmp/skr-mod-test-XXXXXX";
static char g_dir[80];

struct ctx {
    CK_SESSION_HANDLE s;    /* RO session on slot 0 (demo, no PIN) */
    CK_SESSION_HANDLE rw;   /* RW session on slot 0 */
    CK_SESSION_HANDLE ssec; /* RO session on slot 1 (sec, PIN) */
};

static int init_fx(void **state)
{
    static struct ctx c;

    if (F->C_Initialize(NULL) != CKR_OK)
        return -1;
    if (F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &c.s) != CKR_OK ||
        F->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &c.rw) != CKR_OK ||
        F->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &c.ssec) != CKR_OK)
        return -1;
    *state = &c;
    return 0;
}

static int fini_fx(void **state)
{
    (void)state;
    return F->C_Finalize(NULL) == CKR_OK ? 0 : -1;
}

/* ---- interfaces -------------------------------------------------------------------------- */

static void test_interfaces(void **state)
{
    CK_INTERFACE list[4];
    CK_ULONG n = 0;
    CK_INTERFACE_PTR i = NULL;
    CK_VERSION v240 = {2, 40}, v30 = {3, 0}, v99 = {9, 9};
    CK_C_GetInterfaceList gil = F->C_GetInterfaceList;
    void **fp;
    size_t k;

    (void)state;
    assert_int_equal(gil(NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(gil(NULL, &n), CKR_OK);
    assert_int_equal(n, 2);
    n = 1;
    assert_int_equal(gil(list, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 2);
    assert_int_equal(gil(list, &n), CKR_OK);
    assert_string_equal((char *)list[0].pInterfaceName, "PKCS 11");
    assert_string_equal((char *)list[1].pInterfaceName, "PKCS 11");
    assert_int_equal(((CK_VERSION *)list[0].pFunctionList)->major, 3);
    assert_int_equal(((CK_VERSION *)list[1].pFunctionList)->minor, 40);
    assert_int_equal(F->C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &i, 0), CKR_OK);
    assert_ptr_equal(i->pFunctionList, F2);
    assert_int_equal(F->C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &i, 0), CKR_OK);
    assert_ptr_equal(i->pFunctionList, F);
    assert_int_equal(F->C_GetInterface((CK_UTF8CHAR_PTR) "PKCS 11", &v99, &i, 0),
                     CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_GetInterface((CK_UTF8CHAR_PTR) "Vendor", NULL, &i, 0), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_GetInterface(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_GetInterface(NULL, NULL, &i, CKF_INTERFACE_FORK_SAFE), CKR_ARGUMENTS_BAD);
    assert_int_equal(F2->version.major, 2);
    /* Every slot of the 3.0 list is filled. */
    fp = (void **)((char *)F + offsetof(CK_FUNCTION_LIST_3_0, C_Initialize));
    for (k = 0; k < (sizeof(*F) - offsetof(CK_FUNCTION_LIST_3_0, C_Initialize)) / sizeof(void *);
         k++)
        assert_non_null(fp[k]);
}

/* ---- not initialized --------------------------------------------------------------------- */

static void test_not_initialized(void **state)
{
    const CK_RV NI = CKR_CRYPTOKI_NOT_INITIALIZED;
    CK_INFO info;
    CK_ULONG n = 0;
    CK_SESSION_HANDLE s = 0;
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    CK_BYTE b[8];
    CK_OBJECT_HANDLE o = 0;

    (void)state;
    assert_int_equal(F->C_Finalize(NULL), NI);
    assert_int_equal(F->C_GetInfo(&info), NI);
    assert_int_equal(F2->C_GetInfo(&info), NI);
    assert_int_equal(F->C_GetSlotList(CK_FALSE, NULL, &n), NI);
    assert_int_equal(F->C_GetSlotInfo(0, NULL), NI);
    assert_int_equal(F->C_GetTokenInfo(0, NULL), NI);
    assert_int_equal(F->C_GetMechanismList(0, NULL, &n), NI);
    assert_int_equal(F->C_GetMechanismInfo(0, CKM_SHA256, NULL), NI);
    assert_int_equal(F->C_InitToken(0, NULL, 0, NULL), NI);
    assert_int_equal(F->C_InitPIN(1, NULL, 0), NI);
    assert_int_equal(F->C_SetPIN(1, NULL, 0, NULL, 0), NI);
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s), NI);
    assert_int_equal(F->C_CloseSession(1), NI);
    assert_int_equal(F->C_CloseAllSessions(0), NI);
    assert_int_equal(F->C_GetSessionInfo(1, NULL), NI);
    assert_int_equal(F->C_GetOperationState(1, NULL, &n), NI);
    assert_int_equal(F->C_SetOperationState(1, b, 1, 0, 0), NI);
    assert_int_equal(F->C_Login(1, CKU_USER, NULL, 0), NI);
    assert_int_equal(F->C_LoginUser(1, CKU_USER, NULL, 0, NULL, 0), NI);
    assert_int_equal(F->C_Logout(1), NI);
    assert_int_equal(F->C_CreateObject(1, NULL, 0, &o), NI);
    assert_int_equal(F->C_CopyObject(1, 1, NULL, 0, &o), NI);
    assert_int_equal(F->C_DestroyObject(1, 1), NI);
    assert_int_equal(F->C_GetObjectSize(1, 1, &n), NI);
    assert_int_equal(F->C_GetAttributeValue(1, 1, NULL, 0), NI);
    assert_int_equal(F->C_SetAttributeValue(1, 1, NULL, 0), NI);
    assert_int_equal(F->C_FindObjectsInit(1, NULL, 0), NI);
    assert_int_equal(F->C_FindObjects(1, &o, 1, &n), NI);
    assert_int_equal(F->C_FindObjectsFinal(1), NI);
    assert_int_equal(F->C_EncryptInit(1, &m, 1), NI);
    assert_int_equal(F->C_Encrypt(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_EncryptUpdate(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_EncryptFinal(1, b, &n), NI);
    assert_int_equal(F->C_DecryptInit(1, &m, 1), NI);
    assert_int_equal(F->C_Decrypt(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_DecryptUpdate(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_DecryptFinal(1, b, &n), NI);
    assert_int_equal(F->C_DigestInit(1, &m), NI);
    assert_int_equal(F->C_Digest(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_DigestUpdate(1, b, 1), NI);
    assert_int_equal(F->C_DigestKey(1, 1), NI);
    assert_int_equal(F->C_DigestFinal(1, b, &n), NI);
    assert_int_equal(F->C_SignInit(1, &m, 1), NI);
    assert_int_equal(F->C_Sign(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_SignUpdate(1, b, 1), NI);
    assert_int_equal(F->C_SignFinal(1, b, &n), NI);
    assert_int_equal(F->C_SignRecoverInit(1, &m, 1), NI);
    assert_int_equal(F->C_SignRecover(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_VerifyInit(1, &m, 1), NI);
    assert_int_equal(F->C_Verify(1, b, 1, b, 1), NI);
    assert_int_equal(F->C_VerifyUpdate(1, b, 1), NI);
    assert_int_equal(F->C_VerifyFinal(1, b, 1), NI);
    assert_int_equal(F->C_VerifyRecoverInit(1, &m, 1), NI);
    assert_int_equal(F->C_VerifyRecover(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_DigestEncryptUpdate(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_DecryptDigestUpdate(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_SignEncryptUpdate(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_DecryptVerifyUpdate(1, b, 1, b, &n), NI);
    assert_int_equal(F->C_GenerateKey(1, &m, NULL, 0, &o), NI);
    assert_int_equal(F->C_GenerateKeyPair(1, &m, NULL, 0, NULL, 0, &o, &o), NI);
    assert_int_equal(F->C_WrapKey(1, &m, 1, 1, b, &n), NI);
    assert_int_equal(F->C_UnwrapKey(1, &m, 1, b, 1, NULL, 0, &o), NI);
    assert_int_equal(F->C_DeriveKey(1, &m, 1, NULL, 0, &o), NI);
    assert_int_equal(F->C_SeedRandom(1, b, 1), NI);
    assert_int_equal(F->C_GenerateRandom(1, b, 1), NI);
    assert_int_equal(F->C_GetFunctionStatus(1), NI);
    assert_int_equal(F->C_CancelFunction(1), NI);
    assert_int_equal(F->C_WaitForSlotEvent(0, NULL, NULL), NI);
    assert_int_equal(F->C_SessionCancel(1, 0), NI);
    assert_int_equal(F->C_MessageEncryptInit(1, &m, 1), NI);
    assert_int_equal(F->C_EncryptMessage(1, NULL, 0, NULL, 0, b, 1, b, &n), NI);
    assert_int_equal(F->C_MessageSignInit(1, &m, 1), NI);
    assert_int_equal(F->C_SignMessage(1, NULL, 0, b, 1, b, &n), NI);
    assert_int_equal(F->C_MessageVerifyFinal(1), NI);
}

/* ---- C_Initialize ------------------------------------------------------------------------ */

static int g_mutexes, g_locks;

static CK_RV app_create(CK_VOID_PTR_PTR m)
{
    pthread_mutex_t *mx = malloc(sizeof(*mx));

    if (mx == NULL)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(mx, NULL);
    *m = mx;
    __atomic_fetch_add(&g_mutexes, 1, __ATOMIC_SEQ_CST);
    return CKR_OK;
}
static CK_RV app_destroy(CK_VOID_PTR m)
{
    pthread_mutex_destroy(m);
    free(m);
    __atomic_fetch_sub(&g_mutexes, 1, __ATOMIC_SEQ_CST);
    return CKR_OK;
}
static CK_RV app_lock(CK_VOID_PTR m)
{
    __atomic_fetch_add(&g_locks, 1, __ATOMIC_SEQ_CST);
    return pthread_mutex_lock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}
static CK_RV app_unlock(CK_VOID_PTR m)
{
    return pthread_mutex_unlock(m) == 0 ? CKR_OK : CKR_GENERAL_ERROR;
}

static CK_RV init_with_conf(const char *extra_or_text, bool whole)
{
    char path[96];
    FILE *f;
    CK_RV rv;

    snprintf(path, sizeof(path), "%s/alt.conf", g_dir);
    if (whole) {
        f = fopen(path, "w");
        fputs(extra_or_text, f);
        fclose(f);
    } else {
        mt_write_conf(path, extra_or_text);
    }
    setenv("SKR_PKCS11_CONF", path, 1);
    rv = F->C_Initialize(NULL);
    setenv("SKR_PKCS11_CONF", g_conf, 1);
    if (rv == CKR_OK)
        F->C_Finalize(NULL);
    return rv;
}

static void test_initialize(void **state)
{
    CK_C_INITIALIZE_ARGS a = {0};
    CK_SESSION_HANDLE s;
    char reserved[128];
    CK_ULONG n = 0;

    (void)state;
    a.CreateMutex = app_create; /* only some callbacks */
    assert_int_equal(F->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a = (CK_C_INITIALIZE_ARGS){0};
    a.flags = 0x80; /* unknown flag */
    assert_int_equal(F->C_Initialize(&a), CKR_ARGUMENTS_BAD);
    a.flags = CKF_OS_LOCKING_OK;
    assert_int_equal(F->C_Initialize(&a), CKR_OK);
    assert_int_equal(F->C_Initialize(&a), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    assert_int_equal(F->C_Finalize((void *)1), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);

    /* Application callbacks without CKF_OS_LOCKING_OK: the module must use them. */
    a = (CK_C_INITIALIZE_ARGS){app_create, app_destroy, app_lock, app_unlock, 0, NULL};
    assert_int_equal(F->C_Initialize(&a), CKR_OK);
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
    assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_true(g_mutexes > 0);
    assert_true(g_locks > 0);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    assert_int_equal(g_mutexes, 0);

    /* config=PATH in pReserved (p11-kit x-init-reserved) when SKR_PKCS11_CONF is unset. */
    unsetenv("SKR_PKCS11_CONF");
    snprintf(reserved, sizeof(reserved), "foo=bar config=%s", g_conf);
    a = (CK_C_INITIALIZE_ARGS){0};
    a.pReserved = reserved;
    assert_int_equal(F->C_Initialize(&a), CKR_OK);
    assert_int_equal(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
    setenv("SKR_PKCS11_CONF", g_conf, 1);
}

/* Config errors: precise codes, documented in docs/module.md. */
static void test_initialize_config_errors(void **state)
{
    char missing[96];

    (void)state;
    snprintf(missing, sizeof(missing), "%s/none.conf", g_dir);
    setenv("SKR_PKCS11_CONF", missing, 1);
    assert_int_equal(F->C_Initialize(NULL), CKR_GENERAL_ERROR);
    setenv("SKR_PKCS11_CONF", g_conf, 1);
    assert_int_equal(init_with_conf("[module]\nbogus-key = 1\n", true), CKR_FUNCTION_FAILED);
    assert_int_equal(init_with_conf("[token t]\nsource = file\n[key k]\ntoken = t\n"
                                    "file = /nonexistent/key.pem\n",
                                    true),
                     CKR_DEVICE_ERROR);
    /* A key that is not required may fail: the token comes up without it. */
    assert_int_equal(init_with_conf("[token t]\nsource = file\n[key k]\ntoken = t\nrequired = no\n"
                                    "file = /nonexistent/key.pem\n",
                                    true),
                     CKR_OK);
    /* Still works after all those failures. */
    assert_int_equal(F->C_Initialize(NULL), CKR_OK);
    assert_int_equal(F->C_Finalize(NULL), CKR_OK);
}

/* ---- slots and tokens -------------------------------------------------------------------- */

static void test_slots(void **state)
{
    CK_SLOT_ID ids[4];
    CK_ULONG n = 1;
    CK_TOKEN_INFO ti;
    CK_SLOT_INFO si;
    CK_INFO info;
    CK_MECHANISM_INFO mi;

    (void)state;
    assert_int_equal(F->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.major, 3);
    assert_int_equal(F2->C_GetInfo(&info), CKR_OK);
    assert_int_equal(info.cryptokiVersion.minor, 40);
    assert_memory_equal(info.manufacturerID, "skr-pkcs11 ", 11);
    assert_int_equal(F->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_GetSlotList(CK_TRUE, ids, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 2);
    assert_int_equal(F->C_GetSlotList(CK_TRUE, ids, &n), CKR_OK);
    assert_int_equal(F->C_GetSlotList(CK_TRUE, ids, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_GetSlotInfo(ids[0], &si), CKR_OK);
    assert_true(si.flags & CKF_TOKEN_PRESENT);
    assert_int_equal(F->C_GetTokenInfo(ids[0], &ti), CKR_OK);
    assert_memory_equal(ti.label, "demo    ", 8);
    assert_memory_equal(ti.manufacturerID, "skr-pkcs11", 10);
    assert_memory_equal(ti.serialNumber, "0001            ", 16);
    assert_int_equal(ti.flags, CKF_TOKEN_INITIALIZED | CKF_WRITE_PROTECTED | CKF_RNG);
    assert_int_equal(F->C_GetTokenInfo(ids[1], &ti), CKR_OK);
    assert_int_equal(ti.flags, CKF_TOKEN_INITIALIZED | CKF_WRITE_PROTECTED | CKF_RNG |
                                       CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED);
    assert_false(ti.flags & CKF_PROTECTED_AUTHENTICATION_PATH);
    assert_int_equal(F->C_GetTokenInfo(7, &ti), CKR_SLOT_ID_INVALID);
    assert_int_equal(F->C_GetTokenInfo(0, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_GetMechanismList(0, NULL, &n), CKR_OK);
    assert_true(n > 10);
    assert_int_equal(F->C_GetMechanismInfo(0, CKM_SHA256, &mi), CKR_OK);
    assert_true(mi.flags & CKF_DIGEST);
    assert_int_equal(F->C_GetMechanismInfo(0, 0x7fffff00UL, &mi), CKR_MECHANISM_INVALID);
    assert_int_equal(F->C_GetMechanismInfo(9, CKM_SHA256, &mi), CKR_SLOT_ID_INVALID);
    assert_int_equal(F->C_WaitForSlotEvent(0, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    assert_int_equal(F->C_InitToken(0, NULL, 0, NULL), CKR_FUNCTION_NOT_SUPPORTED);
}

/* ---- sessions and login ------------------------------------------------------------------ */

static void test_sessions(void **state)
{
    struct ctx *c = *state;
    CK_SESSION_HANDLE s, s2;
    CK_SESSION_INFO si;
    CK_TOKEN_INFO ti;

    assert_int_equal(F->C_OpenSession(0, 0, NULL, NULL, &s), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_OpenSession(5, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_SLOT_ID_INVALID);
    assert_int_equal(F->C_GetSessionInfo(c->s, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_PUBLIC_SESSION);
    assert_int_equal(F->C_GetSessionInfo(c->rw, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RW_PUBLIC_SESSION);
    assert_true(si.flags & CKF_RW_SESSION);
    assert_int_equal(F->C_GetSessionInfo(c->s, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s), CKR_OK);
    assert_int_equal(F->C_GetTokenInfo(0, &ti), CKR_OK);
    assert_int_equal(ti.ulSessionCount, 3);
    assert_int_equal(ti.ulRwSessionCount, 1);
    assert_int_equal(F->C_CloseSession(s), CKR_OK);
    assert_int_equal(F->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(F->C_GetSessionInfo(s, &si), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s2), CKR_OK);
    assert_int_not_equal(s2, s); /* reused entry, new generation: the stale handle stays dead */
    assert_int_equal(F->C_GetSessionInfo(s, &si), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(F->C_GetSessionInfo(0, &si), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(F->C_GetSessionInfo(0xdeadbeef12345678UL, &si), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(F->C_SessionCancel(s2, CKF_SIGN), CKR_OK);
    assert_int_equal(F->C_CloseAllSessions(9), CKR_SLOT_ID_INVALID);
    assert_int_equal(F->C_CloseAllSessions(0), CKR_OK);
    assert_int_equal(F->C_GetSessionInfo(s2, &si), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(F->C_GetSessionInfo(c->s, &si), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(F->C_GetSessionInfo(c->ssec, &si), CKR_OK); /* other slot untouched */
}

static void test_login(void **state)
{
    struct ctx *c = *state;
    CK_OBJECT_CLASS priv = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &priv, sizeof(priv)}};
    CK_SESSION_INFO si;
    CK_OBJECT_HANDLE k;
    CK_BBOOL tru = CK_TRUE;
    CK_ATTRIBUTE pt[] = {{CKA_PRIVATE, &tru, sizeof(tru)}};

    assert_int_equal(mt_count(F, c->ssec, t, 1), 0); /* hidden before login */
    assert_int_equal(mt_count(F, c->ssec, pt, 1), 0);
    assert_int_equal(F->C_Logout(c->ssec), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(F->C_Login(c->ssec, CKU_USER, (CK_UTF8CHAR_PTR) "9999", 4), CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(c->ssec, CKU_USER, (CK_UTF8CHAR_PTR) "123", 3), CKR_PIN_INCORRECT);
    assert_int_equal(F->C_Login(c->ssec, CKU_USER, NULL, 4), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_Login(c->ssec, CKU_SO, (CK_UTF8CHAR_PTR)MT_PIN, 4),
                     CKR_USER_TYPE_INVALID);
    assert_int_equal(F->C_Login(c->ssec, 77, (CK_UTF8CHAR_PTR)MT_PIN, 4), CKR_USER_TYPE_INVALID);
    assert_int_equal(F->C_Login(c->ssec, CKU_USER, (CK_UTF8CHAR_PTR)MT_PIN, 4), CKR_OK);
    assert_int_equal(F->C_Login(c->ssec, CKU_USER, (CK_UTF8CHAR_PTR)MT_PIN, 4),
                     CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(F->C_GetSessionInfo(c->ssec, &si), CKR_OK);
    assert_int_equal(si.state, CKS_RO_USER_FUNCTIONS);
    assert_int_equal(mt_count(F, c->ssec, t, 1), 1);
    k = mt_find(F, c->ssec, CKO_PRIVATE_KEY, "sec-ec");
    assert_int_not_equal(k, CK_INVALID_HANDLE);
    assert_int_equal(F->C_Logout(c->ssec), CKR_OK);
    assert_int_equal(mt_count(F, c->ssec, t, 1), 0);
    /* §5.6.10: handles to private objects are invalid after logout, even after a new login. */
    assert_int_equal(F->C_Login(c->ssec, CKU_USER, (CK_UTF8CHAR_PTR)MT_PIN, 4), CKR_OK);
    assert_int_equal(F->C_GetObjectSize(c->ssec, k, &(CK_ULONG){0}), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(F->C_LoginUser(c->ssec, CKU_USER, (CK_UTF8CHAR_PTR)MT_PIN, 4, NULL, 0),
                     CKR_USER_ALREADY_LOGGED_IN);
    assert_int_equal(F->C_Logout(c->ssec), CKR_OK);
    assert_int_equal(
            F->C_LoginUser(c->ssec, CKU_USER, (CK_UTF8CHAR_PTR)MT_PIN, 4, (CK_UTF8CHAR_PTR) "x", 1),
            CKR_OK);
    assert_int_equal(F->C_Logout(c->ssec), CKR_OK);
    /* A token without a PIN: C_Login is accepted (docs/module.md). */
    assert_int_equal(F->C_Login(c->s, CKU_USER, NULL, 0), CKR_OK);
    assert_int_equal(F->C_Logout(c->s), CKR_OK);
}

/* ---- objects, attributes, searches ------------------------------------------------------- */

static void test_find(void **state)
{
    struct ctx *c = *state;
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY, pub = CKO_PUBLIC_KEY, cert = CKO_CERTIFICATE;
    CK_KEY_TYPE ec = CKK_EC, aes = CKK_AES;
    CK_BYTE id[] = {0x0e, 0x01};
    CK_ATTRIBUTE by_class[] = {{CKA_CLASS, &cls, sizeof(cls)}};
    CK_ATTRIBUTE by_id[] = {{CKA_ID, id, sizeof(id)}};
    CK_ATTRIBUTE by_label[] = {{CKA_LABEL, "demo-rsa", 8}};
    CK_ATTRIBUTE by_kt[] = {{CKA_KEY_TYPE, &ec, sizeof(ec)}};
    CK_ATTRIBUTE by_aes[] = {{CKA_KEY_TYPE, &aes, sizeof(aes)}};
    CK_ATTRIBUTE pub_ec[] = {{CKA_CLASS, &pub, sizeof(pub)}, {CKA_KEY_TYPE, &ec, sizeof(ec)}};
    CK_ATTRIBUTE by_cert[] = {{CKA_CLASS, &cert, sizeof(cert)}};
    CK_ATTRIBUTE none[] = {{CKA_LABEL, "no-such-label", 13}};
    CK_OBJECT_HANDLE h[4];
    CK_ULONG n;

    assert_int_equal(mt_count(F, c->s, by_class, 1), 3); /* rsa, ec, ed */
    assert_int_equal(mt_count(F, c->s, by_id, 1), 2);    /* ec private + public */
    assert_int_equal(mt_count(F, c->s, by_label, 1), 3); /* private, public, certificate */
    assert_int_equal(mt_count(F, c->s, by_kt, 1), 2);
    assert_int_equal(mt_count(F, c->s, by_aes, 1), 1);
    assert_int_equal(mt_count(F, c->s, pub_ec, 2), 1);
    assert_int_equal(mt_count(F, c->s, by_cert, 1), 1);
    assert_int_equal(mt_count(F, c->s, none, 1), 0);
    assert_int_equal(mt_count(F, c->s, NULL, 0), 8);
    assert_int_equal(F->C_FindObjects(c->s, h, 4, &n), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_FindObjectsFinal(c->s), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_FindObjectsInit(c->s, NULL, 1), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_FindObjectsInit(c->s, by_class, 1), CKR_OK);
    assert_int_equal(F->C_FindObjectsInit(c->s, by_class, 1), CKR_OPERATION_ACTIVE);
    assert_int_equal(F->C_FindObjects(c->s, NULL, 4, &n), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_FindObjects(c->s, h, 2, &n), CKR_OK);
    assert_int_equal(n, 2);
    assert_int_equal(F->C_FindObjects(c->s, h, 2, &n), CKR_OK);
    assert_int_equal(n, 1);
    assert_int_equal(F->C_FindObjects(c->s, h, 2, &n), CKR_OK);
    assert_int_equal(n, 0);
    assert_int_equal(F->C_FindObjectsFinal(c->s), CKR_OK);
}

static void test_attributes(void **state)
{
    struct ctx *c = *state;
    CK_OBJECT_HANDLE k = mt_find(F, c->s, CKO_PRIVATE_KEY, "demo-rsa");
    CK_OBJECT_HANDLE pubk = mt_find(F, c->s, CKO_PUBLIC_KEY, "demo-rsa");
    CK_OBJECT_HANDLE certh = mt_find(F, c->s, CKO_CERTIFICATE, "demo-rsa");
    CK_BYTE buf[512], id1[64], id2[64], id3[64];
    CK_BBOOL b = CK_TRUE, f = CK_FALSE;
    CK_ATTRIBUTE sens[] = {{CKA_PRIVATE_EXPONENT, buf, sizeof(buf)}, {CKA_SENSITIVE, &b, 1}};
    CK_ATTRIBUTE ids[] = {{CKA_ID, id1, sizeof(id1)}};
    CK_ATTRIBUTE flags[] = {{CKA_EXTRACTABLE, &b, 1}, {CKA_DESTROYABLE, &b, 1}};
    CK_ATTRIBUTE lab[] = {{CKA_LABEL, "x", 1}};
    CK_ATTRIBUTE bad[] = {{0x7fff1234UL, buf, 4}};
    CK_ULONG idlen;

    assert_int_not_equal(k, CK_INVALID_HANDLE);
    assert_int_not_equal(pubk, CK_INVALID_HANDLE);
    assert_int_not_equal(certh, CK_INVALID_HANDLE);
    assert_int_equal(F->C_GetAttributeValue(c->s, k, sens, 2), CKR_ATTRIBUTE_SENSITIVE);
    assert_int_equal(sens[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
    assert_int_equal(b, CK_TRUE);
    assert_int_equal(F->C_GetAttributeValue(c->s, k, flags, 2), CKR_OK);
    assert_int_equal(*(CK_BBOOL *)flags[0].pValue, CK_FALSE);
    assert_int_equal(*(CK_BBOOL *)flags[1].pValue, CK_FALSE);
    assert_int_equal(F->C_GetAttributeValue(c->s, k, bad, 1), CKR_ATTRIBUTE_TYPE_INVALID);
    assert_int_equal(F->C_GetAttributeValue(c->s, k, NULL, 1), CKR_ARGUMENTS_BAD);
    /* The private key, public key and certificate share CKA_ID (≤ 20 bytes). */
    assert_int_equal(F->C_GetAttributeValue(c->s, k, ids, 1), CKR_OK);
    idlen = ids[0].ulValueLen;
    assert_true(idlen > 0 && idlen <= 20);
    ids[0].pValue = id2;
    ids[0].ulValueLen = sizeof(id2);
    assert_int_equal(F->C_GetAttributeValue(c->s, pubk, ids, 1), CKR_OK);
    assert_memory_equal(id1, id2, idlen);
    ids[0].pValue = id3;
    ids[0].ulValueLen = sizeof(id3);
    assert_int_equal(F->C_GetAttributeValue(c->s, certh, ids, 1), CKR_OK);
    assert_memory_equal(id1, id3, idlen);
    /* Length query, then too small. */
    ids[0].pValue = NULL;
    assert_int_equal(F->C_GetAttributeValue(c->s, k, ids, 1), CKR_OK);
    assert_int_equal(ids[0].ulValueLen, idlen);
    ids[0].pValue = id1;
    ids[0].ulValueLen = 1;
    assert_int_equal(F->C_GetAttributeValue(c->s, k, ids, 1), CKR_BUFFER_TOO_SMALL);
    /* Token objects are write-protected. */
    assert_int_equal(F->C_SetAttributeValue(c->rw, pubk, lab, 1), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(F->C_SetAttributeValue(c->s, pubk, lab, 1), CKR_SESSION_READ_ONLY);
    assert_int_equal(F->C_DestroyObject(c->rw, k), CKR_ACTION_PROHIBITED);
    assert_int_equal(F->C_GetObjectSize(c->s, k, NULL), CKR_ARGUMENTS_BAD);
    (void)f;
}

static void test_session_objects(void **state)
{
    struct ctx *c = *state;
    CK_OBJECT_CLASS data = CKO_DATA, sk = CKO_SECRET_KEY;
    CK_KEY_TYPE gen = CKK_GENERIC_SECRET;
    CK_BBOOL tru = CK_TRUE, fls = CK_FALSE;
    CK_BYTE val[16] = {1, 2, 3};
    CK_ATTRIBUTE tok[] = {{CKA_CLASS, &data, sizeof(data)}, {CKA_TOKEN, &tru, 1}};
    CK_ATTRIBUTE badtok[] = {{CKA_CLASS, &data, sizeof(data)}, {CKA_TOKEN, &tru, 4}};
    CK_ATTRIBUTE d[] = {{CKA_CLASS, &data, sizeof(data)},
                        {CKA_TOKEN, &fls, 1},
                        {CKA_LABEL, "mydata", 6},
                        {CKA_VALUE, val, sizeof(val)}};
    CK_ATTRIBUTE priv[] = {{CKA_CLASS, &data, sizeof(data)}, {CKA_PRIVATE, &tru, 1}};
    CK_ATTRIBUTE secret[] = {{CKA_CLASS, &sk, sizeof(sk)},
                             {CKA_KEY_TYPE, &gen, sizeof(gen)},
                             {CKA_VALUE, val, sizeof(val)}};
    CK_ATTRIBUTE relabel[] = {{CKA_LABEL, "renamed", 7}};
    CK_ATTRIBUTE by_label[] = {{CKA_LABEL, "renamed", 7}};
    CK_OBJECT_HANDLE o, o2, o3;
    CK_SESSION_HANDLE tmp;

    assert_int_equal(F->C_CreateObject(c->rw, tok, 2, &o), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(F->C_CreateObject(c->rw, badtok, 2, &o), CKR_ATTRIBUTE_VALUE_INVALID);
    assert_int_equal(F->C_CreateObject(c->rw, NULL, 2, &o), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_CreateObject(c->rw, d, 4, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_CreateObject(c->ssec, priv, 2, &o), CKR_USER_NOT_LOGGED_IN);
    assert_int_equal(F->C_CreateObject(c->s, d, 4, &o), CKR_OK); /* session object, RO ok */
    assert_int_equal(F->C_CopyObject(c->s, o, tok + 1, 1, &o2), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(F->C_CopyObject(c->s, o, NULL, 0, &o2), CKR_OK);
    assert_int_equal(F->C_SetAttributeValue(c->s, o2, relabel, 1), CKR_OK);
    assert_int_equal(mt_count(F, c->rw, by_label, 1), 1); /* index follows the new label */
    assert_int_equal(F->C_DestroyObject(c->s, o2), CKR_OK);
    assert_int_equal(F->C_DestroyObject(c->s, o2), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(mt_count(F, c->rw, by_label, 1), 0);
    /* Foreign handle: an object of slot 0 used on slot 1. */
    assert_int_equal(F->C_DestroyObject(c->ssec, o), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(F->C_GetObjectSize(c->s, o, &(CK_ULONG){0}), CKR_OK);
    /* A session's objects go with it. */
    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &tmp), CKR_OK);
    assert_int_equal(F->C_CreateObject(tmp, secret, 3, &o3), CKR_OK);
    assert_int_equal(F->C_GetObjectSize(c->s, o3, &(CK_ULONG){0}), CKR_OK);
    assert_int_equal(F->C_CloseSession(tmp), CKR_OK);
    assert_int_equal(F->C_GetObjectSize(c->s, o3, &(CK_ULONG){0}), CKR_OBJECT_HANDLE_INVALID);
    assert_int_equal(F->C_DestroyObject(c->s, o), CKR_OK);
}

/* ---- operations -------------------------------------------------------------------------- */

static void test_op_state_machine(void **state)
{
    struct ctx *c = *state;
    CK_OBJECT_HANDLE k = mt_find(F, c->s, CKO_PRIVATE_KEY, "demo-rsa");
    CK_OBJECT_HANDLE pk = mt_find(F, c->s, CKO_PUBLIC_KEY, "demo-rsa");
    CK_OBJECT_HANDLE seck;
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};
    CK_MECHANISM bogus = {0x7ffffff0UL, NULL, 0};
    CK_BYTE data[] = "hello", sig[256], sig2[256];
    CK_ULONG n = 0;

    assert_int_not_equal(k, CK_INVALID_HANDLE);
    assert_int_equal(F->C_Sign(c->s, data, 5, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_SignInit(c->s, NULL, k), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_SignInit(c->s, &bogus, k), CKR_MECHANISM_INVALID);
    assert_int_equal(F->C_SignInit(c->s, &m, k ^ (1UL << 32)), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(F->C_SignInit(c->s, &m, 0), CKR_KEY_HANDLE_INVALID);
    assert_int_equal(F->C_SignInit(0, &m, k), CKR_SESSION_HANDLE_INVALID);
    assert_int_equal(F->C_SignInit(c->s, &m, k), CKR_OK);
    assert_int_equal(F->C_SignInit(c->s, &m, k), CKR_OPERATION_ACTIVE);
    assert_int_equal(F->C_Sign(c->s, data, 5, NULL, &n), CKR_OK); /* length query keeps it */
    assert_int_equal(n, 256);
    n = 10;
    assert_int_equal(F->C_Sign(c->s, data, 5, sig, &n), CKR_BUFFER_TOO_SMALL);
    assert_int_equal(n, 256);
    assert_int_equal(F->C_Sign(c->s, data, 5, sig, &n), CKR_OK);
    assert_int_equal(F->C_Sign(c->s, data, 5, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
    /* An error other than CKR_BUFFER_TOO_SMALL ends the operation. */
    assert_int_equal(F->C_SignInit(c->s, &m, k), CKR_OK);
    assert_int_equal(F->C_Sign(c->s, data, 5, sig2, NULL), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_Sign(c->s, data, 5, sig2, &n), CKR_OPERATION_NOT_INITIALIZED);
    /* Multi-part gives the same signature; a single-part call after an update is refused. */
    assert_int_equal(F->C_SignInit(c->s, &m, k), CKR_OK);
    assert_int_equal(F->C_SignUpdate(c->s, data, 2), CKR_OK);
    assert_int_equal(F->C_Sign(c->s, data, 5, sig2, &n), CKR_OPERATION_ACTIVE);
    assert_int_equal(F->C_SignUpdate(c->s, data + 2, 3), CKR_OK);
    n = sizeof(sig2);
    assert_int_equal(F->C_SignFinal(c->s, sig2, &n), CKR_OK);
    assert_memory_equal(sig, sig2, 256);
    /* Verify, good and bad. */
    assert_int_equal(F->C_VerifyInit(c->s, &m, pk), CKR_OK);
    assert_int_equal(F->C_Verify(c->s, data, 5, sig, 256), CKR_OK);
    sig[7] ^= 1;
    assert_int_equal(F->C_VerifyInit(c->s, &m, pk), CKR_OK);
    assert_int_equal(F->C_Verify(c->s, data, 5, sig, 256), CKR_SIGNATURE_INVALID);
    assert_int_equal(F->C_Verify(c->s, data, 5, sig, 256), CKR_OPERATION_NOT_INITIALIZED);
    /* Key/mechanism mismatch and usage. */
    assert_int_equal(F->C_SignInit(c->s, &(CK_MECHANISM){CKM_ECDSA, NULL, 0}, k),
                     CKR_KEY_TYPE_INCONSISTENT);
    assert_int_equal(F->C_SignInit(c->s, &m, pk), CKR_KEY_TYPE_INCONSISTENT);
    /* Private key of the PIN token before login: invisible. */
    assert_int_equal(F->C_Login(c->ssec, CKU_USER, (CK_UTF8CHAR_PTR)MT_PIN, 4), CKR_OK);
    seck = mt_find(F, c->ssec, CKO_PRIVATE_KEY, "sec-ec");
    assert_int_equal(F->C_Logout(c->ssec), CKR_OK);
    assert_int_equal(F->C_SignInit(c->ssec, &(CK_MECHANISM){CKM_ECDSA, NULL, 0}, seck),
                     CKR_KEY_HANDLE_INVALID);
    assert_int_equal(F->C_SignInit(c->ssec, &(CK_MECHANISM){CKM_ECDSA, NULL, 0}, k),
                     CKR_KEY_HANDLE_INVALID); /* foreign slot */
}

/* Bad mechanism parameters and lengths through the module: the spec's CK_RV, no crash. */
static void test_bad_params(void **state)
{
    struct ctx *c = *state;
    CK_OBJECT_HANDLE k = mt_find(F, c->s, CKO_PRIVATE_KEY, "demo-rsa");
    CK_OBJECT_HANDLE pk = mt_find(F, c->s, CKO_PUBLIC_KEY, "demo-rsa");
    CK_OBJECT_HANDLE aes = mt_find(F, c->s, CKO_SECRET_KEY, "demo-aes");
    CK_BYTE iv[7] = {0}, sig[256] = {0};
    CK_MECHANISM oaep_null = {CKM_RSA_PKCS_OAEP, NULL, 0};
    CK_MECHANISM oaep_short = {CKM_RSA_PKCS_OAEP, iv, sizeof(iv)};
    CK_MECHANISM cbc_badiv = {CKM_AES_CBC, iv, sizeof(iv)};
    CK_MECHANISM m = {CKM_SHA256_RSA_PKCS, NULL, 0};

    assert_int_equal(F->C_DecryptInit(c->s, &oaep_null, k), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(F->C_DecryptInit(c->s, &oaep_short, k), CKR_MECHANISM_PARAM_INVALID);
    assert_int_equal(F->C_EncryptInit(c->s, &cbc_badiv, aes), CKR_MECHANISM_PARAM_INVALID);
    /* Nothing was left running by the failed *Init calls. */
    assert_int_equal(F->C_Decrypt(c->s, sig, 1, sig, &(CK_ULONG){1}),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_VerifyInit(c->s, &m, pk), CKR_OK);
    assert_int_equal(F->C_Verify(c->s, (CK_BYTE_PTR) "x", 1, sig, 17), CKR_SIGNATURE_LEN_RANGE);
    assert_int_equal(F->C_VerifyInit(c->s, &m, pk), CKR_OK);
    assert_int_equal(F->C_Verify(c->s, NULL, 1, sig, 256), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_Verify(c->s, (CK_BYTE_PTR) "x", 1, sig, 256),
                     CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_EncryptInit(c->s, &(CK_MECHANISM){CKM_AES_ECB, NULL, 0}, aes), CKR_OK);
    assert_int_equal(F->C_Encrypt(c->s, sig, 15, sig, &(CK_ULONG){256}), CKR_DATA_LEN_RANGE);
}

static void test_digest_random(void **state)
{
    struct ctx *c = *state;
    static const CK_BYTE abc_sha256[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                           0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                           0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                           0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    CK_MECHANISM m = {CKM_SHA256, NULL, 0};
    CK_BYTE out[64], r1[32] = {0}, r2[32] = {0};
    CK_ULONG n = sizeof(out);
    CK_OBJECT_HANDLE aes = mt_find(F, c->s, CKO_SECRET_KEY, "demo-aes");

    assert_int_equal(F->C_DigestInit(c->s, &m), CKR_OK);
    assert_int_equal(F->C_Digest(c->s, (CK_BYTE_PTR) "abc", 3, out, &n), CKR_OK);
    assert_int_equal(n, 32);
    assert_memory_equal(out, abc_sha256, 32);
    assert_int_equal(F->C_DigestInit(c->s, &m), CKR_OK);
    assert_int_equal(F->C_DigestUpdate(c->s, (CK_BYTE_PTR) "a", 1), CKR_OK);
    assert_int_equal(F->C_DigestUpdate(c->s, (CK_BYTE_PTR) "bc", 2), CKR_OK);
    n = 4;
    assert_int_equal(F->C_DigestFinal(c->s, out, &n), CKR_BUFFER_TOO_SMALL);
    n = sizeof(out);
    assert_int_equal(F->C_DigestFinal(c->s, out, &n), CKR_OK);
    assert_memory_equal(out, abc_sha256, 32);
    assert_int_equal(F->C_DigestKey(c->s, aes), CKR_OPERATION_NOT_INITIALIZED);
    assert_int_equal(F->C_DigestInit(c->s, &(CK_MECHANISM){0x7ffffff0UL, NULL, 0}),
                     CKR_MECHANISM_INVALID);
    assert_int_equal(F->C_GenerateRandom(c->s, r1, sizeof(r1)), CKR_OK);
    assert_int_equal(F->C_GenerateRandom(c->s, r2, sizeof(r2)), CKR_OK);
    assert_memory_not_equal(r1, r2, sizeof(r1));
    assert_int_equal(F->C_GenerateRandom(c->s, NULL, 4), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_SeedRandom(c->s, r1, 4), CKR_RANDOM_SEED_NOT_SUPPORTED);
    assert_int_equal(F->C_GetOperationState(c->s, NULL, &n), CKR_FUNCTION_NOT_SUPPORTED);
}

static void test_keygen_wrap(void **state)
{
    struct ctx *c = *state;
    CK_ULONG len = 32;
    CK_BBOOL tru = CK_TRUE, fls = CK_FALSE;
    CK_ATTRIBUTE t[] = {
            {CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_TOKEN, &fls, 1}, {CKA_EXTRACTABLE, &tru, 1},
            {CKA_SENSITIVE, &fls, 1},           {CKA_WRAP, &tru, 1},  {CKA_UNWRAP, &tru, 1}};
    CK_ATTRIBUTE tt[] = {{CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_TOKEN, &tru, 1}};
    CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0}, kw = {CKM_AES_KEY_WRAP, NULL, 0};
    CK_OBJECT_HANDLE a = 0, b = 0, u = 0;
    CK_OBJECT_HANDLE tokkey = mt_find(F, c->s, CKO_SECRET_KEY, "demo-aes");
    CK_OBJECT_CLASS sk = CKO_SECRET_KEY;
    CK_KEY_TYPE aes = CKK_AES;
    CK_ATTRIBUTE ut[] = {{CKA_CLASS, &sk, sizeof(sk)}, {CKA_KEY_TYPE, &aes, sizeof(aes)}};
    CK_BYTE wrapped[64];
    CK_ULONG wl = sizeof(wrapped);

    assert_int_equal(F->C_GenerateKey(c->s, &gen, tt, 2, &a), CKR_TOKEN_WRITE_PROTECTED);
    assert_int_equal(F->C_GenerateKey(c->s, NULL, t, 6, &a), CKR_ARGUMENTS_BAD);
    assert_int_equal(F->C_GenerateKey(c->s, &gen, t, 6, &a), CKR_OK);
    assert_int_equal(F->C_GenerateKey(c->s, &gen, t, 6, &b), CKR_OK);
    assert_int_equal(F->C_WrapKey(c->s, &kw, a, tokkey, wrapped, &wl), CKR_KEY_UNEXTRACTABLE);
    wl = sizeof(wrapped);
    assert_int_equal(F->C_WrapKey(c->s, &kw, a, b, NULL, &wl), CKR_OK);
    assert_int_equal(wl, 40);
    assert_int_equal(F->C_WrapKey(c->s, &kw, a, b, wrapped, &wl), CKR_OK);
    assert_int_equal(F->C_WrapKey(c->s, &kw, 12345, b, wrapped, &wl),
                     CKR_WRAPPING_KEY_HANDLE_INVALID);
    assert_int_equal(F->C_UnwrapKey(c->s, &kw, a, wrapped, wl, ut, 2, &u), CKR_OK);
    assert_int_equal(F->C_UnwrapKey(c->s, &kw, 999, wrapped, wl, ut, 2, &u),
                     CKR_UNWRAPPING_KEY_HANDLE_INVALID);
}

/* ---- concurrency and fork ---------------------------------------------------------------- */

struct signer {
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE k;
    int iterations; /* < 0: until *stop */
    volatile int *stop;
    int failures;
};

static void *sign_loop(void *arg)
{
    struct signer *w = arg;
    CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
    CK_BYTE sig[128];
    CK_ULONG n;
    int i;

    for (i = 0; w->iterations < 0 ? !*w->stop : i < w->iterations; i++) {
        n = sizeof(sig);
        if (F->C_SignInit(w->s, &m, w->k) != CKR_OK ||
            F->C_Sign(w->s, (CK_BYTE_PTR) "data", 4, sig, &n) != CKR_OK)
            w->failures++;
    }
    return NULL;
}

static void test_parallel_sign(void **state)
{
    struct ctx *c = *state;
    struct signer w[2] = {{0}};
    pthread_t th[2];
    int i;

    for (i = 0; i < 2; i++) {
        assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &w[i].s), CKR_OK);
        w[i].k = mt_find(F, w[i].s, CKO_PRIVATE_KEY, "demo-ec");
        assert_int_not_equal(w[i].k, CK_INVALID_HANDLE);
        w[i].iterations = 300;
        pthread_create(&th[i], NULL, sign_loop, &w[i]);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    (void)c;
}

/* In a forked child: not initialized until C_Initialize, which reuses the inherited keys. */
static int child_main(void)
{
    CK_FUNCTION_LIST_PTR fl = NULL;
    CK_C_GetFunctionList gfl = F->C_GetFunctionList;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE k, pk;
    CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
    CK_BYTE sig[128];
    CK_ULONG n = sizeof(sig);

    if (gfl(&fl) != CKR_OK || fl != F2)
        return 10;
    if (F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_CRYPTOKI_NOT_INITIALIZED)
        return 11;
    if (F->C_Initialize(NULL) != CKR_OK)
        return 12;
    if (F->C_Initialize(NULL) != CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return 13;
    if (F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        return 14;
    k = mt_find(F, s, CKO_PRIVATE_KEY, "demo-ec");
    pk = mt_find(F, s, CKO_PUBLIC_KEY, "demo-ec");
    if (F->C_SignInit(s, &m, k) != CKR_OK || F->C_Sign(s, (CK_BYTE_PTR) "x", 1, sig, &n) != CKR_OK)
        return 15;
    if (F->C_VerifyInit(s, &m, pk) != CKR_OK || F->C_Verify(s, (CK_BYTE_PTR) "x", 1, sig, n))
        return 16;
    if (F->C_Finalize(NULL) != CKR_OK)
        return 17;
    return 0;
}

static void test_fork(void **state)
{
    struct ctx *c = *state;
    struct signer w = {0};
    volatile int stop = 0;
    pthread_t th;
    pid_t pid;
    int i, st;
    bool concurrent = getenv("SKR_ASAN") == NULL;

    assert_int_equal(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &w.s), CKR_OK);
    w.k = mt_find(F, w.s, CKO_PRIVATE_KEY, "demo-ec");
    w.iterations = -1;
    w.stop = &stop;
    /* Another thread keeps signing (taking and dropping locks) while we fork. Not under ASan:
     * gcc 12's ASan allocator is not fork-safe while another thread allocates (the child can
     * hang inside __asan::Allocator), which is no statement about the module's locks. */
    if (concurrent)
        pthread_create(&th, NULL, sign_loop, &w);
    for (i = 0; i < 8; i++) {
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            _exit(child_main());
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    }
    stop = 1;
    if (concurrent)
        pthread_join(th, NULL);
    assert_int_equal(w.failures, 0);
    /* The parent is unaffected. */
    assert_int_equal(F->C_GetSessionInfo(c->s, &(CK_SESSION_INFO){0}), CKR_OK);
}

int main(void)
{
    const struct CMUnitTest pre[] = {
            cmocka_unit_test(test_interfaces),
            cmocka_unit_test(test_not_initialized),
            cmocka_unit_test(test_initialize),
            cmocka_unit_test(test_initialize_config_errors),
    };
#define T(fn) cmocka_unit_test_setup_teardown(fn, init_fx, fini_fx)
    const struct CMUnitTest with[] = {
            T(test_slots),
            T(test_sessions),
            T(test_login),
            T(test_find),
            T(test_attributes),
            T(test_session_objects),
            T(test_op_state_machine),
            T(test_bad_params),
            T(test_digest_random),
            T(test_keygen_wrap),
            T(test_parallel_sign),
            T(test_fork),
    };
    void *h;
    int fd, rc;

    fd = mkstemp(g_conf);
    if (fd < 0)
        return 2;
    close(fd);
    snprintf(g_dir, sizeof(g_dir), "%s.d", g_conf);
    if (mkdir(g_dir, 0700) != 0 || mt_write_conf(g_conf, NULL) != 0)
        return 2;
    setenv("SKR_PKCS11_CONF", g_conf, 1);
    h = mt_load(&F, &F2);
    if (h == NULL)
        return 2;
    rc = cmocka_run_group_tests_name("module-pre", pre, NULL, NULL);
    rc |= cmocka_run_group_tests_name("module", with, NULL, NULL);
    unlink(g_conf);
    {
        char p[96];
        snprintf(p, sizeof(p), "%s/alt.conf", g_dir);
        unlink(p);
    }
    rmdir(g_dir);
    dlclose(h);
    return rc;
}
