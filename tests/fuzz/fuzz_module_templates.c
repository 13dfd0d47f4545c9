/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Attribute templates through the loaded module's C ABI (not softtoken directly): the input is
 * decoded into a CK_ATTRIBUTE array and given to C_CreateObject (then C_GetAttributeValue and
 * C_DestroyObject on the new object), C_FindObjectsInit/FindObjects/Final, or
 * C_GetAttributeValue on one of the token's objects.
 *
 * Input: op byte, object selector byte, then up to 16 attributes, each
 *   [type: index into types[] or 0xff + 4 bytes little-endian][len byte][len value bytes]
 * For C_GetAttributeValue the value bytes are not read: len is the output buffer size, and a
 * length byte of 0xff means pValue = NULL (length query).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mod_test_util.h"

#define MAX_ATTRS 16

static CK_FUNCTION_LIST_3_0_PTR F;
static CK_SESSION_HANDLE S;
static CK_OBJECT_HANDLE g_objs[32];
static CK_ULONG g_nobjs;

static const CK_ATTRIBUTE_TYPE types[] = {
        CKA_CLASS,
        CKA_TOKEN,
        CKA_PRIVATE,
        CKA_LABEL,
        CKA_VALUE,
        CKA_KEY_TYPE,
        CKA_ID,
        CKA_SENSITIVE,
        CKA_ENCRYPT,
        CKA_DECRYPT,
        CKA_SIGN,
        CKA_VERIFY,
        CKA_EXTRACTABLE,
        CKA_MODIFIABLE,
        CKA_VALUE_LEN,
        CKA_MODULUS,
        CKA_PUBLIC_EXPONENT,
        CKA_EC_PARAMS,
        CKA_EC_POINT,
        CKA_CERTIFICATE_TYPE,
        CKA_APPLICATION,
        CKA_OBJECT_ID,
        CKA_DESTROYABLE,
        CKA_COPYABLE,
        CKA_PRIVATE_EXPONENT,
};

static int init_once(void)
{
    static char conf[] = "/tmp/skr-fuzz-module-XXXXXX";
    CK_FUNCTION_LIST_PTR f2 = NULL;
    int fd;

    fd = mkstemp(conf);
    if (fd < 0)
        return -1;
    close(fd);
    if (mt_write_conf(conf, NULL) != 0)
        return -1;
    setenv("SKR_PKCS11_CONF", conf, 1);
    if (mt_load(&F, &f2) == NULL || F->C_Initialize(NULL) != CKR_OK)
        return -1;
    unlink(conf);
    if (F->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &S) != CKR_OK)
        return -1;
    if (F->C_FindObjectsInit(S, NULL, 0) != CKR_OK ||
        F->C_FindObjects(S, g_objs, 32, &g_nobjs) != CKR_OK || F->C_FindObjectsFinal(S) != CKR_OK)
        return -1;
    return 0;
}

/* Decode into t[] with values in buf; returns the attribute count. */
static CK_ULONG decode(const uint8_t *p, size_t n, CK_ATTRIBUTE *t, uint8_t *buf, bool out)
{
    CK_ULONG k = 0;
    size_t i = 0;

    while (k < MAX_ATTRS && i + 2 <= n) {
        CK_ATTRIBUTE_TYPE type;
        size_t len;

        if (p[i] == 0xff) {
            if (i + 6 > n)
                break;
            type = (CK_ATTRIBUTE_TYPE)p[i + 1] | (CK_ATTRIBUTE_TYPE)p[i + 2] << 8 |
                   (CK_ATTRIBUTE_TYPE)p[i + 3] << 16 | (CK_ATTRIBUTE_TYPE)p[i + 4] << 24;
            i += 5;
        } else {
            type = types[p[i] % (sizeof(types) / sizeof(types[0]))];
            i++;
        }
        len = p[i++];
        t[k].type = type;
        if (out) {
            t[k].pValue = len == 0xff ? NULL : buf + 256 * k;
            t[k].ulValueLen = len == 0xff ? 0 : len;
        } else {
            if (len > n - i)
                len = n - i;
            memcpy(buf + 256 * k, p + i, len);
            t[k].pValue = buf + 256 * k;
            t[k].ulValueLen = len;
            i += len;
        }
        k++;
    }
    return k;
}

static void get_all(CK_OBJECT_HANDLE o)
{
    static const CK_ATTRIBUTE_TYPE all[] = {CKA_CLASS, CKA_LABEL, CKA_ID, CKA_VALUE, CKA_KEY_TYPE};
    CK_ATTRIBUTE t[5];
    uint8_t buf[5][64];
    size_t i;

    for (i = 0; i < 5; i++)
        t[i] = (CK_ATTRIBUTE){all[i], buf[i], sizeof(buf[i])};
    F->C_GetAttributeValue(S, o, t, 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready = 0;
    static uint8_t buf[MAX_ATTRS * 256];
    CK_ATTRIBUTE t[MAX_ATTRS];
    CK_OBJECT_HANDLE o = CK_INVALID_HANDLE, found[8];
    CK_ULONG n, cnt = 0;

    if (ready == 0)
        ready = init_once() == 0 ? 1 : -1;
    if (ready < 0 || size < 2)
        return 0;
    switch (data[0] % 3) {
    case 0:
        n = decode(data + 2, size - 2, t, buf, false);
        if (F->C_CreateObject(S, t, n, &o) == CKR_OK) {
            get_all(o);
            F->C_DestroyObject(S, o);
        }
        break;
    case 1:
        n = decode(data + 2, size - 2, t, buf, false);
        if (F->C_FindObjectsInit(S, t, n) == CKR_OK) {
            F->C_FindObjects(S, found, 8, &cnt);
            F->C_FindObjectsFinal(S);
        }
        break;
    default:
        n = decode(data + 2, size - 2, t, buf, true);
        if (g_nobjs > 0)
            F->C_GetAttributeValue(S, g_objs[data[1] % g_nobjs], t, n);
        break;
    }
    return 0;
}
