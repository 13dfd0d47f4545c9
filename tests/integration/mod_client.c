/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small PKCS#11 client for the valgrind run: loads the module, lists slots and objects, signs
 * and verifies with every private key of the demo token, runs a login/logout on the PIN token,
 * and finalizes. Exit 0 only if every call gave the expected result.
 */
#include <stdint.h>

#include "mod_test_util.h"

static int sign_all(CK_FUNCTION_LIST_3_0_PTR f, CK_SESSION_HANDLE s)
{
    static const struct {
        const char *label;
        CK_MECHANISM_TYPE mech;
    } keys[] = {{"demo-rsa", CKM_SHA256_RSA_PKCS},
                {"demo-ec", CKM_ECDSA_SHA256},
                {"demo-ed", 0x1057UL /* CKM_EDDSA */}};
    CK_BYTE sig[512];
    CK_ULONG n;
    size_t i;

    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        CK_MECHANISM m = {keys[i].mech, NULL, 0};
        CK_OBJECT_HANDLE k = mt_find(f, s, CKO_PRIVATE_KEY, keys[i].label);
        CK_OBJECT_HANDLE p = mt_find(f, s, CKO_PUBLIC_KEY, keys[i].label);

        n = sizeof(sig);
        if (k == CK_INVALID_HANDLE || p == CK_INVALID_HANDLE || f->C_SignInit(s, &m, k) != CKR_OK ||
            f->C_Sign(s, (CK_BYTE_PTR) "data", 4, sig, &n) != CKR_OK ||
            f->C_VerifyInit(s, &m, p) != CKR_OK ||
            f->C_Verify(s, (CK_BYTE_PTR) "data", 4, sig, n) != CKR_OK) {
            fprintf(stderr, "sign/verify with %s failed\n", keys[i].label);
            return 1;
        }
    }
    return 0;
}

int main(void)
{
    CK_FUNCTION_LIST_3_0_PTR f = NULL;
    CK_FUNCTION_LIST_PTR f2 = NULL;
    CK_SESSION_HANDLE s, s2;
    CK_ULONG n = 0;
    char conf[] = "/tmp/skr-mod-client-XXXXXX";
    int fd = mkstemp(conf);
    void *h = NULL;
    int rc = 1;

    if (fd < 0)
        return 2;
    close(fd);
    if (mt_write_conf(conf, NULL) != 0 || setenv("SKR_PKCS11_CONF", conf, 1) != 0)
        return 2;
    h = mt_load(&f, &f2);
    if (h == NULL || f->C_Initialize(NULL) != CKR_OK)
        return 2;
    unlink(conf);
    if (f->C_GetSlotList(CK_TRUE, NULL, &n) != CKR_OK || n != 2)
        goto out;
    if (f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK ||
        f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &s2) != CKR_OK)
        goto out;
    if (mt_count(f, s, NULL, 0) != 8 || sign_all(f, s) != 0)
        goto out;
    if (f->C_Login(s2, CKU_USER, (CK_UTF8CHAR_PTR)MT_PIN, 4) != CKR_OK ||
        mt_find(f, s2, CKO_PRIVATE_KEY, "sec-ec") == CK_INVALID_HANDLE || f->C_Logout(s2) != CKR_OK)
        goto out;
    rc = 0;
out:
    if (f->C_Finalize(NULL) != CKR_OK)
        rc = 1;
    dlclose(h);
    if (rc == 0)
        printf("ok - client run\n");
    return rc;
}
