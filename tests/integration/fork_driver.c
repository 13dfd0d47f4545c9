/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver for the module ($SKR_MODULE, dlopen) with the emulator's configuration
 * (SKR_PKCS11_CONF), token `demo` with the released keys demo-rsa, demo-ec and demo-aes.
 *   fork_driver fork      C_Initialize (release) in the parent, then two children each call
 *                         C_Initialize and sign with demo-rsa and demo-ec; the parent verifies
 *                         every child's signatures with the public-key objects.
 *   fork_driver fork-busy as `fork`, but while a second parent thread loops on C_Sign: the
 *                         children must not deadlock on anything the signing thread held.
 *   fork_driver hold      C_Initialize, RSA/EC signatures, RSA-OAEP decryption, AES-GCM and
 *                         AES-CBC encryption, then prints "ready" and waits for a line on stdin
 *                         (fork_coredump.sh dumps the process with gcore meanwhile).
 * Exit 0 when every check passed; a message on stderr otherwise.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "u_pkcs11.h"

#define NCHILD  2
#define SIG_MAX 512

static CK_FUNCTION_LIST_PTR f;
static CK_SLOT_ID g_slot;
static atomic_bool g_stop;
static atomic_long g_busy_signs;
static CK_BYTE g_data[] = "skr-pkcs11 fork test data";

static int die(const char *what, CK_RV rv)
{
    fprintf(stderr, "fork_driver: %s failed: 0x%lx\n", what, (unsigned long)rv);
    return 1;
}

static CK_RV load_module(void)
{
    const char *path = getenv("SKR_MODULE");
    void *h = path != NULL ? dlopen(path, RTLD_NOW | RTLD_LOCAL) : NULL;
    CK_C_GetFunctionList gfl;

    if (h == NULL) {
        fprintf(stderr, "fork_driver: cannot load SKR_MODULE: %s\n", dlerror());
        return CKR_GENERAL_ERROR;
    }
    gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
    if (gfl == NULL)
        return CKR_GENERAL_ERROR;
    return gfl(&f);
}

/* C_Initialize (OS locking) and the slot of the first token. */
static CK_RV init(void)
{
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    CK_ULONG n = 1;
    CK_RV rv = f->C_Initialize(&args);

    if (rv != CKR_OK)
        return rv;
    rv = f->C_GetSlotList(CK_TRUE, &g_slot, &n);
    if (rv == CKR_OK && n == 0)
        rv = CKR_TOKEN_NOT_PRESENT;
    return rv;
}

static CK_RV find(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label, CK_OBJECT_HANDLE *o)
{
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_LABEL, (void *)(uintptr_t)label, (CK_ULONG)strlen(label)}};
    CK_ULONG n = 0;
    CK_RV rv = f->C_FindObjectsInit(s, t, 2);

    if (rv != CKR_OK)
        return rv;
    rv = f->C_FindObjects(s, o, 1, &n);
    f->C_FindObjectsFinal(s);
    if (rv == CKR_OK && n != 1)
        rv = CKR_KEY_HANDLE_INVALID;
    return rv;
}

/* Sign g_data with the private key `label` (mech) in a fresh session. */
static CK_RV sign(const char *label, CK_MECHANISM_TYPE mech, CK_BYTE *sig, CK_ULONG *len)
{
    CK_MECHANISM m = {mech, NULL, 0};
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE k;
    CK_RV rv = f->C_OpenSession(g_slot, CKF_SERIAL_SESSION, NULL, NULL, &s);

    if (rv != CKR_OK)
        return rv;
    rv = find(s, CKO_PRIVATE_KEY, label, &k);
    if (rv == CKR_OK)
        rv = f->C_SignInit(s, &m, k);
    if (rv == CKR_OK)
        rv = f->C_Sign(s, g_data, sizeof(g_data), sig, len);
    f->C_CloseSession(s);
    return rv;
}

static CK_RV verify(const char *label, CK_MECHANISM_TYPE mech, CK_BYTE *sig, CK_ULONG len)
{
    CK_MECHANISM m = {mech, NULL, 0};
    CK_SESSION_HANDLE s;
    CK_OBJECT_HANDLE k;
    CK_RV rv = f->C_OpenSession(g_slot, CKF_SERIAL_SESSION, NULL, NULL, &s);

    if (rv != CKR_OK)
        return rv;
    rv = find(s, CKO_PUBLIC_KEY, label, &k);
    if (rv == CKR_OK)
        rv = f->C_VerifyInit(s, &m, k);
    if (rv == CKR_OK)
        rv = f->C_Verify(s, g_data, sizeof(g_data), sig, len);
    f->C_CloseSession(s);
    return rv;
}

/* One signature record sent from a child to the parent through a pipe. */
struct sig_rec {
    CK_RV rv;
    CK_ULONG len;
    CK_BYTE sig[SIG_MAX];
};

static const struct {
    const char *label;
    CK_MECHANISM_TYPE mech;
} g_keys[] = {{"demo-rsa", CKM_SHA256_RSA_PKCS}, {"demo-ec", CKM_ECDSA_SHA256}};
#define NKEYS (sizeof(g_keys) / sizeof(g_keys[0]))

/* The child: not initialized until C_Initialize (spec), then sign with each key. */
static int child(int wfd)
{
    struct sig_rec r[NKEYS];
    CK_SESSION_HANDLE s;

    memset(r, 0, sizeof(r));
    if (f->C_OpenSession(g_slot, CKF_SERIAL_SESSION, NULL, NULL, &s) !=
        CKR_CRYPTOKI_NOT_INITIALIZED)
        return die("child: module usable before C_Initialize", CKR_GENERAL_ERROR);
    r[0].rv = init();
    for (size_t i = 0; i < NKEYS && r[0].rv == CKR_OK; i++) {
        r[i].len = SIG_MAX;
        r[i].rv = sign(g_keys[i].label, g_keys[i].mech, r[i].sig, &r[i].len);
    }
    if (write(wfd, r, sizeof(r)) != (ssize_t)sizeof(r))
        return 1;
    f->C_Finalize(NULL);
    return 0;
}

static int check_child(pid_t pid, int rfd, int n)
{
    struct sig_rec r[NKEYS];
    int status = 0;
    ssize_t got = read(rfd, r, sizeof(r));
    CK_RV rv;

    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return die("child exit", (CK_RV)status);
    if (got != (ssize_t)sizeof(r))
        return die("child result", CKR_GENERAL_ERROR);
    for (size_t i = 0; i < NKEYS; i++) {
        if (r[i].rv != CKR_OK)
            return die(g_keys[i].label, r[i].rv);
        rv = verify(g_keys[i].label, g_keys[i].mech, r[i].sig, r[i].len);
        if (rv != CKR_OK)
            return die("verify of a child's signature", rv);
        printf("child %d: %s signature (%lu bytes) verifies\n", n, g_keys[i].label,
               (unsigned long)r[i].len);
    }
    return 0;
}

static void *busy_signer(void *arg)
{
    CK_BYTE sig[SIG_MAX];
    CK_ULONG len;

    (void)arg;
    while (!atomic_load(&g_stop)) {
        len = sizeof(sig);
        if (sign("demo-rsa", CKM_SHA256_RSA_PKCS, sig, &len) != CKR_OK)
            return (void *)1;
        atomic_fetch_add(&g_busy_signs, 1);
    }
    return NULL;
}

static int run_fork(bool busy)
{
    pthread_t th;
    int fds[NCHILD][2], bad = 0;
    pid_t pid[NCHILD];
    void *thr = NULL;

    if (busy && pthread_create(&th, NULL, busy_signer, NULL) != 0)
        return die("pthread_create", CKR_GENERAL_ERROR);
    for (int i = 0; i < NCHILD; i++) {
        while (busy && atomic_load(&g_busy_signs) < 3 * (i + 1))
            sched_yield(); /* fork while the other thread is mid-way through its loop */
        if (pipe(fds[i]) != 0 || (pid[i] = fork()) < 0)
            return die("fork", CKR_GENERAL_ERROR);
        if (pid[i] == 0) {
            close(fds[i][0]);
            _exit(child(fds[i][1]));
        }
        close(fds[i][1]);
    }
    for (int i = 0; i < NCHILD; i++)
        bad |= check_child(pid[i], fds[i][0], i + 1);
    atomic_store(&g_stop, true);
    if (busy && (pthread_join(th, &thr) != 0 || thr != NULL))
        return die("the parent's signing thread", CKR_GENERAL_ERROR);
    if (busy)
        printf("parent thread signed %ld times\n", (long)atomic_load(&g_busy_signs));
    return bad;
}

/* RSA-OAEP decrypt of a block the module encrypts with the public key. */
static CK_RV rsa_decrypt(CK_SESSION_HANDLE s)
{
    CK_RSA_PKCS_OAEP_PARAMS p = {CKM_SHA256, CKG_MGF1_SHA256, 0, NULL, 0};
    CK_MECHANISM m = {CKM_RSA_PKCS_OAEP, &p, sizeof(p)};
    CK_OBJECT_HANDLE pub, priv;
    CK_BYTE ct[SIG_MAX], pt[SIG_MAX];
    CK_ULONG clen = sizeof(ct), plen = sizeof(pt);
    CK_RV rv = find(s, CKO_PUBLIC_KEY, "demo-rsa", &pub);

    if (rv == CKR_OK)
        rv = find(s, CKO_PRIVATE_KEY, "demo-rsa", &priv);
    if (rv == CKR_OK)
        rv = f->C_EncryptInit(s, &m, pub);
    if (rv == CKR_OK)
        rv = f->C_Encrypt(s, g_data, sizeof(g_data), ct, &clen);
    if (rv == CKR_OK)
        rv = f->C_DecryptInit(s, &m, priv);
    if (rv == CKR_OK)
        rv = f->C_Decrypt(s, ct, clen, pt, &plen);
    if (rv == CKR_OK && (plen != sizeof(g_data) || memcmp(pt, g_data, plen) != 0))
        rv = CKR_GENERAL_ERROR;
    return rv;
}

static CK_RV aes_encrypt(CK_SESSION_HANDLE s, CK_MECHANISM *m)
{
    CK_OBJECT_HANDLE k;
    CK_BYTE in[64], out[128];
    CK_ULONG olen = sizeof(out);
    CK_RV rv = find(s, CKO_SECRET_KEY, "demo-aes", &k);

    memset(in, 0x5a, sizeof(in));
    if (rv == CKR_OK)
        rv = f->C_EncryptInit(s, m, k);
    if (rv == CKR_OK)
        rv = f->C_Encrypt(s, in, sizeof(in), out, &olen);
    return rv;
}

static int run_hold(void)
{
    CK_BYTE iv[16] = {1}, sig[SIG_MAX];
    CK_GCM_PARAMS gcm = {iv, 12, 96, NULL, 0, 128};
    CK_MECHANISM mgcm = {CKM_AES_GCM, &gcm, sizeof(gcm)}, mcbc = {CKM_AES_CBC, iv, 16};
    CK_SESSION_HANDLE s;
    CK_ULONG len;
    CK_RV rv = init();
    char line[16];

    for (int round = 0; round < 3 && rv == CKR_OK; round++) {
        for (size_t i = 0; i < NKEYS && rv == CKR_OK; i++) {
            len = sizeof(sig);
            rv = sign(g_keys[i].label, g_keys[i].mech, sig, &len);
        }
    }
    if (rv == CKR_OK)
        rv = f->C_OpenSession(g_slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
    if (rv == CKR_OK)
        rv = rsa_decrypt(s);
    if (rv == CKR_OK)
        rv = aes_encrypt(s, &mgcm);
    if (rv == CKR_OK)
        rv = aes_encrypt(s, &mcbc);
    if (rv != CKR_OK)
        return die("operations with the released keys", rv);
    printf("ready %ld\n", (long)getpid());
    fflush(stdout);
    if (fgets(line, sizeof(line), stdin) == NULL)
        line[0] = '\0';
    f->C_CloseSession(s);
    f->C_Finalize(NULL);
    return 0;
}

int main(int argc, char **argv)
{
    CK_RV rv;

    if (argc != 2)
        return die("usage: fork_driver fork|fork-busy|hold", CKR_ARGUMENTS_BAD);
    rv = load_module();
    if (rv != CKR_OK)
        return die("C_GetFunctionList", rv);
    if (strcmp(argv[1], "hold") == 0)
        return run_hold();
    rv = init();
    if (rv != CKR_OK)
        return die("C_Initialize in the parent", rv);
    if (strcmp(argv[1], "fork") == 0 || strcmp(argv[1], "fork-busy") == 0) {
        int bad = run_fork(strcmp(argv[1], "fork-busy") == 0);
        f->C_Finalize(NULL);
        return bad;
    }
    return die("unknown mode", CKR_ARGUMENTS_BAD);
}
