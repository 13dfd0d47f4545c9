/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for tests that load the built module with dlopen: the module path from SKR_MODULE,
 * a file-source config written at test time over the committed test keys in
 * tests/data/module/, and a few lookups. Header-only (static functions) for small test programs.
 */
#ifndef SKR_TESTS_MOD_TEST_UTIL_H
#define SKR_TESTS_MOD_TEST_UTIL_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "u_pkcs11.h"

#ifndef SKR_TEST_DATA
#error "SKR_TEST_DATA must name tests/data"
#endif

#define MT_PIN "1234"

/* Write the two-token test config to `path`: token "demo" (no PIN: rsa+cert, ec, ed, aes) and
 * token "sec" (PIN 1234: one EC key, private). `extra` is appended verbatim (may be NULL). */
static inline int mt_write_conf(const char *path, const char *extra)
{
    FILE *f = fopen(path, "w");
    const char *d = SKR_TEST_DATA "/module";

    if (f == NULL)
        return -1;
    fprintf(f,
            "[module]\nlog-level = error\n\n"
            "[attestation]\nprovider = none\n\n"
            "[token demo]\nlabel = demo\nserial = 0001\nsource = file\n\n"
            "[token sec]\nlabel = sec\npin = " MT_PIN "\nsource = file\n\n"
            "[key demo-rsa]\ntoken = demo\nfile = %s/rsa.pem\ncert-file = %s/rsa.crt\n\n"
            "[key demo-ec]\ntoken = demo\nfile = %s/ec.der\nid = 0e01\n\n"
            "[key demo-ed]\ntoken = demo\nfile = %s/ed.pem\n\n"
            "[key demo-aes]\ntoken = demo\nfile = %s/aes.bin\nkey-type = aes\n\n"
            "[key sec-ec]\ntoken = sec\nfile = %s/ec.pem\n\n%s",
            d, d, d, d, d, d, extra != NULL ? extra : "");
    return fclose(f);
}

/* dlopen SKR_MODULE and get its 3.0 and 2.40 function lists. */
static inline void *mt_load(CK_FUNCTION_LIST_3_0_PTR *f3, CK_FUNCTION_LIST_PTR *f2)
{
    const char *path = getenv("SKR_MODULE");
    void *h = path != NULL ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
    CK_C_GetInterface gi;
    CK_C_GetFunctionList gfl;
    CK_INTERFACE_PTR iface = NULL;

    if (h == NULL) {
        fprintf(stderr, "cannot load SKR_MODULE=%s: %s\n", path ? path : "(unset)", dlerror());
        return NULL;
    }
    gi = (CK_C_GetInterface)dlsym(h, "C_GetInterface");
    gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
    if (gi == NULL || gfl == NULL || gi(NULL, NULL, &iface, 0) != CKR_OK || gfl(f2) != CKR_OK)
        return NULL;
    *f3 = iface->pFunctionList;
    return h;
}

/* First object matching class + label (NULL label = any); CK_INVALID_HANDLE if none. */
static inline CK_OBJECT_HANDLE mt_find(CK_FUNCTION_LIST_3_0_PTR f, CK_SESSION_HANDLE s,
                                       CK_OBJECT_CLASS cls, const char *label)
{
    CK_ATTRIBUTE t[2] = {{CKA_CLASS, &cls, sizeof(cls)},
                         {CKA_LABEL, (void *)(uintptr_t)label, label ? strlen(label) : 0}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;

    if (f->C_FindObjectsInit(s, t, label ? 2 : 1) != CKR_OK)
        return CK_INVALID_HANDLE;
    if (f->C_FindObjects(s, &h, 1, &n) != CKR_OK || n != 1)
        h = CK_INVALID_HANDLE;
    f->C_FindObjectsFinal(s);
    return h;
}

/* Number of objects matching a template. */
static inline CK_ULONG mt_count(CK_FUNCTION_LIST_3_0_PTR f, CK_SESSION_HANDLE s, CK_ATTRIBUTE *t,
                                CK_ULONG n)
{
    CK_OBJECT_HANDLE h[64];
    CK_ULONG got = 0, total = 0;

    if (f->C_FindObjectsInit(s, t, n) != CKR_OK)
        return (CK_ULONG)-1;
    do {
        if (f->C_FindObjects(s, h, 64, &got) != CKR_OK)
            break;
        total += got;
    } while (got > 0);
    f->C_FindObjectsFinal(s);
    return total;
}

#endif /* SKR_TESTS_MOD_TEST_UTIL_H */
