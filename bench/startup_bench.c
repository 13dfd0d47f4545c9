/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Start-up benchmark (issue 4): one process, dlopen of the module, then the time from
 * C_Initialize (identity, metadata, attestation, release of every configured key) to the first
 * signature with the private key labelled LABEL (ECDSA-SHA256 or SHA256-RSA-PKCS by key type).
 *   skr-startup-bench MODULE LABEL
 * Prints "init_ms=<C_Initialize> first_sig_ms=<C_Initialize .. first C_Sign done>
 * cpu_ms=<user+system CPU of the whole process, all threads, up to the first signature>".
 * Run by bench/run-startup-bench.sh, one fresh process per measurement. Not a test.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "u_pkcs11.h"

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static CK_RV first_signature(CK_FUNCTION_LIST_PTR f, const char *label)
{
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_LABEL, (void *)(uintptr_t)label, (CK_ULONG)strlen(label)}};
    CK_KEY_TYPE kt = 0;
    CK_ATTRIBUTE kta = {CKA_KEY_TYPE, &kt, sizeof(kt)};
    CK_BYTE data[32] = {0}, sig[1024];
    CK_ULONG n = 1, slen = sizeof(sig);
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE k;
    CK_MECHANISM m = {CKM_ECDSA_SHA256, NULL, 0};
    CK_RV rv = f->C_GetSlotList(CK_TRUE, &slot, &n);

    if (rv == CKR_OK && n == 0)
        rv = CKR_TOKEN_NOT_PRESENT;
    if (rv == CKR_OK)
        rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
    if (rv != CKR_OK)
        return rv;
    n = 0;
    rv = f->C_FindObjectsInit(s, t, 2);
    if (rv == CKR_OK)
        rv = f->C_FindObjects(s, &k, 1, &n);
    f->C_FindObjectsFinal(s);
    if (rv == CKR_OK && n != 1)
        rv = CKR_KEY_HANDLE_INVALID;
    if (rv == CKR_OK)
        rv = f->C_GetAttributeValue(s, k, &kta, 1);
    if (rv == CKR_OK && kt == CKK_RSA)
        m.mechanism = CKM_SHA256_RSA_PKCS;
    if (rv == CKR_OK)
        rv = f->C_SignInit(s, &m, k);
    if (rv == CKR_OK)
        rv = f->C_Sign(s, data, sizeof(data), sig, &slen);
    f->C_CloseSession(s);
    return rv;
}

int main(int argc, char **argv)
{
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_FUNCTION_LIST_PTR f = NULL;
    CK_C_GetFunctionList gfl;
    double t0, t1, t2, cpu;
    void *h;
    CK_RV rv;

    if (argc != 3) {
        fprintf(stderr, "usage: skr-startup-bench MODULE LABEL\n");
        return 2;
    }
    h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    gfl = h != NULL ? (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList") : NULL;
    if (gfl == NULL || gfl(&f) != CKR_OK) {
        fprintf(stderr, "cannot load %s\n", argv[1]);
        return 1;
    }
    t0 = now_ms();
    rv = f->C_Initialize(&args);
    t1 = now_ms();
    if (rv == CKR_OK)
        rv = first_signature(f, argv[2]);
    t2 = now_ms();
    cpu = cpu_ms();
    if (rv != CKR_OK) {
        fprintf(stderr, "failed: 0x%lx\n", (unsigned long)rv);
        return 1;
    }
    printf("init_ms=%.1f first_sig_ms=%.1f cpu_ms=%.1f\n", t1 - t0, t2 - t0, cpu);
    f->C_Finalize(NULL);
    return 0;
}
