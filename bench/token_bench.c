/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token benchmark (issue 2 "Benchmark"; not a test). Measures, with 1 and 2 threads,
 * C_SignInit+C_Sign ops/s for RSA-2048 PKCS#1 v1.5 (CKM_SHA256_RSA_PKCS), RSA-PSS
 * (CKM_SHA256_RSA_PKCS_PSS), ECDSA P-256 (CKM_ECDSA on a 32-byte digest), Ed25519 (CKM_EDDSA), and
 * C_EncryptInit+C_Encrypt MB/s for AES-256-GCM on 16 KiB — through our module (dlopen +
 * C_GetFunctionList), through raw OpenSSL EVP (the same work per operation: a fresh context,
 * init, one-shot), and through SoftHSMv2. Rounds are interleaved; medians are reported.
 *
 *   skr-token-bench --module M.so [--softhsm S.so --softhsm-pin PIN] --keys DIR
 *                   [--rounds N] [--seconds S]
 * DIR holds rsa.pem, ec.pem, ed.pem, aes.bin: the raw OpenSSL side loads them; our module finds
 * the same keys by label (bench-rsa, bench-ec, bench-ed, bench-aes) from its file-source config
 * (SKR_PKCS11_CONF). When a module lacks a key (SoftHSM), the harness generates a session key
 * of the same type and size there.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "u_pkcs11.h"

enum { OP_RSA, OP_PSS, OP_ECDSA, OP_ED25519, OP_GCM, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"RSA-2048 PKCS#1 v1.5", "RSA-2048 PSS",
                                               "ECDSA P-256", "Ed25519", "AES-256-GCM 16 KiB"};
enum { IMPL_MODULE, IMPL_RAW, IMPL_SOFTHSM, IMPL_COUNT };
static const char *const impl_names[IMPL_COUNT] = {"module", "raw", "softhsm"};

#define MAX_ROUNDS 31
#define MSG_LEN    64
#define GCM_LEN    16384

static unsigned char g_msg[MSG_LEN];
static unsigned char g_plain[GCM_LEN];

/* ---- PKCS#11 side ---- */

struct p11 {
    bool present;
    CK_FUNCTION_LIST_PTR f;
    CK_SLOT_ID slot;
    CK_SESSION_HANDLE setup; /* keeps session keys alive */
    CK_OBJECT_HANDLE key[OP_COUNT];
};

static struct p11 g_p11[IMPL_COUNT];

static void die(const char *what, CK_RV rv)
{
    fprintf(stderr, "token_bench: %s failed: 0x%lx\n", what, rv);
    exit(1);
}

static CK_OBJECT_HANDLE find_key(struct p11 *p, const char *label, CK_OBJECT_CLASS cls)
{
    CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)(uintptr_t)label, strlen(label)},
                        {CKA_CLASS, &cls, sizeof(cls)}};
    CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
    CK_ULONG n = 0;
    if (p->f->C_FindObjectsInit(p->setup, t, 2) != CKR_OK)
        return CK_INVALID_HANDLE;
    p->f->C_FindObjects(p->setup, &h, 1, &n);
    p->f->C_FindObjectsFinal(p->setup);
    return n == 1 ? h : CK_INVALID_HANDLE;
}

static CK_OBJECT_HANDLE gen_pair(struct p11 *p, CK_MECHANISM_TYPE mt, CK_ATTRIBUTE *pub, CK_ULONG n)
{
    CK_BBOOL yes = CK_TRUE;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE priv[] = {{CKA_SIGN, &yes, 1}, {CKA_TOKEN, &no, 1}, {CKA_PRIVATE, &yes, 1}};
    CK_MECHANISM m = {mt, NULL, 0};
    CK_OBJECT_HANDLE hpub;
    CK_OBJECT_HANDLE hpriv;
    CK_RV rv = p->f->C_GenerateKeyPair(p->setup, &m, pub, n, priv, 3, &hpub, &hpriv);
    if (rv != CKR_OK)
        die("C_GenerateKeyPair", rv);
    return hpriv;
}

static void gen_missing(struct p11 *p)
{
    CK_BBOOL no = CK_FALSE;
    CK_BBOOL yes = CK_TRUE;
    CK_ULONG bits = 2048;
    CK_BYTE e[] = {1, 0, 1};
    static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
    static const CK_BYTE ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
    if (p->key[OP_RSA] == CK_INVALID_HANDLE) {
        CK_ATTRIBUTE t[] = {{CKA_MODULUS_BITS, &bits, sizeof(bits)},
                            {CKA_PUBLIC_EXPONENT, e, 3},
                            {CKA_TOKEN, &no, 1}};
        p->key[OP_RSA] = gen_pair(p, CKM_RSA_PKCS_KEY_PAIR_GEN, t, 3);
    }
    if (p->key[OP_ECDSA] == CK_INVALID_HANDLE) {
        CK_ATTRIBUTE t[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)p256, sizeof(p256)},
                            {CKA_TOKEN, &no, 1}};
        p->key[OP_ECDSA] = gen_pair(p, CKM_EC_KEY_PAIR_GEN, t, 2);
    }
    if (p->key[OP_ED25519] == CK_INVALID_HANDLE) {
        CK_ATTRIBUTE t[] = {{CKA_EC_PARAMS, (void *)(uintptr_t)ed25519, sizeof(ed25519)},
                            {CKA_TOKEN, &no, 1}};
        p->key[OP_ED25519] = gen_pair(p, CKM_EC_EDWARDS_KEY_PAIR_GEN, t, 2);
    }
    if (p->key[OP_GCM] == CK_INVALID_HANDLE) {
        CK_ULONG len = 32;
        CK_ATTRIBUTE t[] = {
                {CKA_VALUE_LEN, &len, sizeof(len)}, {CKA_ENCRYPT, &yes, 1}, {CKA_TOKEN, &no, 1}};
        CK_MECHANISM m = {CKM_AES_KEY_GEN, NULL, 0};
        CK_RV rv = p->f->C_GenerateKey(p->setup, &m, t, 3, &p->key[OP_GCM]);
        if (rv != CKR_OK)
            die("C_GenerateKey", rv);
    }
    p->key[OP_PSS] = p->key[OP_RSA];
}

static void p11_load(struct p11 *p, const char *path, const char *pin)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "token_bench: dlopen %s: %s\n", path, dlerror());
        exit(1);
    }
    CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
    CK_RV rv = gfl != NULL ? gfl(&p->f) : CKR_GENERAL_ERROR;
    if (rv != CKR_OK)
        die("C_GetFunctionList", rv);
    CK_C_INITIALIZE_ARGS args = {.flags = CKF_OS_LOCKING_OK};
    rv = p->f->C_Initialize(&args);
    if (rv != CKR_OK)
        die("C_Initialize", rv);
    CK_SLOT_ID slots[8];
    CK_ULONG n = 8;
    rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
    if (rv != CKR_OK || n == 0)
        die("C_GetSlotList", rv);
    p->slot = slots[0];
    rv = p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &p->setup);
    if (rv != CKR_OK)
        die("C_OpenSession", rv);
    if (pin != NULL) {
        rv = p->f->C_Login(p->setup, CKU_USER, (CK_UTF8CHAR_PTR)(uintptr_t)pin, strlen(pin));
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
            die("C_Login", rv);
    }
    p->key[OP_RSA] = find_key(p, "bench-rsa", CKO_PRIVATE_KEY);
    p->key[OP_ECDSA] = find_key(p, "bench-ec", CKO_PRIVATE_KEY);
    p->key[OP_ED25519] = find_key(p, "bench-ed", CKO_PRIVATE_KEY);
    p->key[OP_GCM] = find_key(p, "bench-aes", CKO_SECRET_KEY);
    gen_missing(p);
    p->present = true;
}

static CK_RSA_PKCS_PSS_PARAMS g_pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};

/* One operation on a session; buffers are per thread. */
static int p11_op(struct p11 *p, CK_SESSION_HANDLE s, int op, unsigned char *out, uint64_t ctr)
{
    static const CK_MECHANISM_TYPE mt[] = {CKM_SHA256_RSA_PKCS, CKM_SHA256_RSA_PKCS_PSS, CKM_ECDSA,
                                           CKM_EDDSA};
    CK_ULONG outlen = GCM_LEN + 16;
    if (op == OP_GCM) {
        unsigned char iv[12] = {0};
        memcpy(iv, &ctr, sizeof(ctr));
        CK_GCM_PARAMS gp = {iv, 12, 96, NULL, 0, 128};
        CK_MECHANISM m = {CKM_AES_GCM, &gp, sizeof(gp)};
        if (p->f->C_EncryptInit(s, &m, p->key[op]) != CKR_OK)
            return -1;
        return p->f->C_Encrypt(s, g_plain, GCM_LEN, out, &outlen) == CKR_OK ? 0 : -1;
    }
    CK_MECHANISM m = {mt[op], NULL, 0};
    if (op == OP_PSS) {
        m.pParameter = &g_pss;
        m.ulParameterLen = sizeof(g_pss);
    }
    if (p->f->C_SignInit(s, &m, p->key[op]) != CKR_OK)
        return -1;
    /* CKM_ECDSA signs a digest (SoftHSMv2 2.6 has no CKM_ECDSA_SHA256): 32 bytes of g_msg. */
    CK_ULONG inlen = op == OP_ECDSA ? 32 : MSG_LEN;
    return p->f->C_Sign(s, g_msg, inlen, out, &outlen) == CKR_OK ? 0 : -1;
}

/* ---- raw OpenSSL side: the same work per operation ---- */

static EVP_PKEY *g_raw_key[OP_COUNT];
static unsigned char g_raw_aes[32];
static EVP_CIPHER *g_gcm;

static EVP_PKEY *read_key(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    EVP_PKEY *k = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f != NULL)
        fclose(f);
    if (k == NULL) {
        fprintf(stderr, "token_bench: cannot read %s\n", path);
        exit(1);
    }
    return k;
}

static void raw_load(const char *dir)
{
    g_raw_key[OP_RSA] = read_key(dir, "rsa.pem");
    g_raw_key[OP_PSS] = g_raw_key[OP_RSA];
    g_raw_key[OP_ECDSA] = read_key(dir, "ec.pem");
    g_raw_key[OP_ED25519] = read_key(dir, "ed.pem");
    char path[1024];
    snprintf(path, sizeof(path), "%s/aes.bin", dir);
    FILE *f = fopen(path, "rb");
    if (f == NULL || fread(g_raw_aes, 1, 32, f) != 32) {
        fprintf(stderr, "token_bench: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    g_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
}

static int raw_gcm(unsigned char *out, uint64_t ctr)
{
    unsigned char iv[12] = {0};
    memcpy(iv, &ctr, sizeof(ctr));
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n = 0;
    int fin = 0;
    int ok = EVP_EncryptInit_ex2(c, g_gcm, g_raw_aes, iv, NULL) == 1 &&
             EVP_EncryptUpdate(c, out, &n, g_plain, GCM_LEN) == 1 &&
             EVP_EncryptFinal_ex(c, out + n, &fin) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, 16, out + n + fin) == 1;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

/* CKM_ECDSA equivalent: a fresh EVP_PKEY_CTX signing a 32-byte digest. */
static int raw_ecdsa(unsigned char *out)
{
    size_t len = 128;
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, g_raw_key[OP_ECDSA], NULL);
    int ok = c != NULL && EVP_PKEY_sign_init(c) == 1 && EVP_PKEY_sign(c, out, &len, g_msg, 32) == 1;
    EVP_PKEY_CTX_free(c);
    return ok ? 0 : -1;
}

static int raw_op(int op, unsigned char *out, uint64_t ctr)
{
    if (op == OP_GCM)
        return raw_gcm(out, ctr);
    if (op == OP_ECDSA)
        return raw_ecdsa(out);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    size_t len = GCM_LEN;
    const char *mdname = op == OP_ED25519 ? NULL : "SHA256";
    int ok = EVP_DigestSignInit_ex(md, &pctx, mdname, NULL, NULL, g_raw_key[op], NULL) == 1;
    if (ok && op == OP_PSS)
        ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1;
    ok = ok && EVP_DigestSign(md, out, &len, g_msg, MSG_LEN) == 1;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

/* ---- runner ---- */

struct run {
    int impl;
    int op;
    atomic_int go;
    atomic_int stop;
    pthread_barrier_t start;
};

struct worker {
    struct run *r;
    uint64_t ops;
    int tid;
    double cpu; /* thread CPU seconds spent in the loop */
};

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    unsigned char *out = malloc(GCM_LEN + 64);
    CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
    struct p11 *p = &g_p11[r->impl];
    if (r->impl != IMPL_RAW &&
        p->f->C_OpenSession(p->slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK)
        die("C_OpenSession (worker)", 0);
    uint64_t ctr = (uint64_t)w->tid << 48;
    pthread_barrier_wait(&r->start);
    double c0 = thread_cpu();
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        int rc = r->impl == IMPL_RAW ? raw_op(r->op, out, ctr) : p11_op(p, s, r->op, out, ctr);
        if (rc != 0) {
            fprintf(stderr, "token_bench: %s %s failed\n", impl_names[r->impl], op_names[r->op]);
            exit(1);
        }
        ctr++;
        w->ops++;
    }
    w->cpu = thread_cpu() - c0;
    if (s != CK_INVALID_HANDLE)
        p->f->C_CloseSession(s);
    free(out);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Operations (or MB for GCM) per second over `secs` of wall-clock time; *per_cpu gets the same
 * per CPU-second of each thread, summed over threads: what the threads would do with a core each,
 * insensitive to other processes competing for this machine's cores. */
static double measure(int impl, int op, int threads, double secs, double *per_cpu)
{
    struct run r = {.impl = impl, .op = op};
    struct worker w[2] = {{&r, 0, 0, 0}, {&r, 0, 1, 0}};
    pthread_t t[2];
    pthread_barrier_init(&r.start, NULL, (unsigned)threads + 1);
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker_main, &w[i]);
    pthread_barrier_wait(&r.start);
    double t0 = now();
    struct timespec d = {(time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9)};
    nanosleep(&d, NULL);
    atomic_store(&r.stop, 1);
    uint64_t total = 0;
    double cpu_rate = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        total += w[i].ops;
        cpu_rate += w[i].cpu > 0 ? (double)w[i].ops / w[i].cpu : 0;
    }
    *per_cpu = op == OP_GCM ? cpu_rate * GCM_LEN / 1e6 : cpu_rate;
    double el = now() - t0;
    pthread_barrier_destroy(&r.start);
    double rate = (double)total / el;
    return op == OP_GCM ? rate * GCM_LEN / 1e6 : rate;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    double tmp[MAX_ROUNDS];
    memcpy(tmp, v, sizeof(double) * (size_t)n);
    qsort(tmp, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static int g_rounds;
static double g_res[IMPL_COUNT][OP_COUNT][2][MAX_ROUNDS];
static double g_cpu[IMPL_COUNT][OP_COUNT][2][MAX_ROUNDS];

/* Median over rounds of the per-round ratio a/b: each round measures both back to back, so
 * load from other processes on the machine cancels better than in a ratio of medians. */
static double paired_ratio(double (*res)[OP_COUNT][2][MAX_ROUNDS], int a, int b, int op, int th,
                           int rounds)
{
    double r[MAX_ROUNDS];
    for (int i = 0; i < rounds; i++)
        r[i] = res[a][op][th][i] / res[b][op][th][i];
    return median(r, rounds);
}

static void table(double (*res)[OP_COUNT][2][MAX_ROUNDS], const char *unit)
{
    bool sh = g_p11[IMPL_SOFTHSM].present;
    printf("| operation (%s) | threads | module | raw OpenSSL | SoftHSMv2 | module/raw | "
           "softhsm/raw |\n",
           unit);
    printf("|---|---|---|---|---|---|---|\n");
    for (int op = 0; op < OP_COUNT; op++) {
        for (int th = 0; th < 2; th++) {
            int n = g_rounds;
            printf("| %s | %d | %.1f | %.1f | ", op_names[op], th + 1,
                   median(res[IMPL_MODULE][op][th], n), median(res[IMPL_RAW][op][th], n));
            if (sh)
                printf("%.1f | %.2f | %.2f |\n", median(res[IMPL_SOFTHSM][op][th], n),
                       paired_ratio(res, IMPL_MODULE, IMPL_RAW, op, th, n),
                       paired_ratio(res, IMPL_SOFTHSM, IMPL_RAW, op, th, n));
            else
                printf("- | %.2f | - |\n", paired_ratio(res, IMPL_MODULE, IMPL_RAW, op, th, n));
        }
    }
}

static void report(double secs)
{
    printf("\n%d interleaved rounds of %.2f s per measurement; medians of the rounds.\n"
           "Ratios are the median of the per-round ratios (each round measures module, raw and\n"
           "SoftHSM back to back). Units: ops/s, AES-GCM MB/s.\n\n",
           g_rounds, secs);
    printf("Wall clock:\n\n");
    table(g_res, "per s");
    printf("\nPer CPU-second of the measuring threads (summed over threads; not affected by other\n"
           "processes taking the machine's cores):\n\n");
    table(g_cpu, "per CPU-s");
}

/* --count N --impl I --op O: N operations in this thread and nothing else, for
 * count-instructions.sh (callgrind: (I(2N) - I(N)) / N instructions per operation). */
static int count_mode(int impl, int op, long n)
{
    struct p11 *p = &g_p11[impl];
    unsigned char *out = malloc(GCM_LEN + 64);
    CK_SESSION_HANDLE s = p->setup;
    for (long i = 0; i < n; i++) {
        int rc = impl == IMPL_RAW ? raw_op(op, out, (uint64_t)i)
                                  : p11_op(p, s, op, out, (uint64_t)i);
        if (rc != 0) {
            fprintf(stderr, "token_bench: %s %s failed\n", impl_names[impl], op_names[op]);
            return 1;
        }
    }
    free(out);
    return 0;
}

struct opts {
    const char *module;
    const char *softhsm;
    const char *pin;
    const char *keys;
    int rounds;
    double secs;
    long count;
    int count_impl;
    int count_op;
};

/* "--name value" pairs into o; false on a bad or missing value. */
static bool parse_args(int argc, char **argv, struct opts *o)
{
    static const char *const str_names[] = {"--module", "--softhsm", "--softhsm-pin", "--keys"};
    const char **str_dest[] = {&o->module, &o->softhsm, &o->pin, &o->keys};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *v = argv[i + 1];
        for (size_t k = 0; k < 4; k++) {
            if (strcmp(argv[i], str_names[k]) == 0)
                *str_dest[k] = v;
        }
        if (strcmp(argv[i], "--rounds") == 0)
            o->rounds = (int)strtol(v, NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0)
            o->secs = strtod(v, NULL);
        else if (strcmp(argv[i], "--count") == 0)
            o->count = strtol(v, NULL, 10);
        else if (strcmp(argv[i], "--impl") == 0)
            o->count_impl = (int)strtol(v, NULL, 10) % IMPL_COUNT;
        else if (strcmp(argv[i], "--op") == 0)
            o->count_op = (int)strtol(v, NULL, 10) % OP_COUNT;
    }
    return o->module != NULL && o->keys != NULL && o->rounds >= 1 && o->rounds <= MAX_ROUNDS &&
           o->secs > 0;
}

static void run_rounds(int rounds, double secs)
{
    for (int round = 0; round < rounds; round++) {
        for (int op = 0; op < OP_COUNT; op++) {
            for (int th = 0; th < 2; th++) {
                for (int k = 0; k < IMPL_COUNT; k++) {
                    int impl = (k + round) % IMPL_COUNT; /* rotate who goes first */
                    if (!g_p11[impl].present)
                        continue;
                    g_res[impl][op][th][round] =
                            measure(impl, op, th + 1, secs, &g_cpu[impl][op][th][round]);
                }
            }
        }
        fprintf(stderr, "round %d/%d done\n", round + 1, rounds);
    }
}

int main(int argc, char **argv)
{
    struct opts o = {.rounds = 5, .secs = 0.5, .count_impl = IMPL_MODULE, .count_op = OP_RSA};
    if (!parse_args(argc, argv, &o)) {
        fprintf(stderr,
                "usage: %s --module M.so --keys DIR [--softhsm S.so --softhsm-pin P] "
                "[--rounds N<=31] [--seconds S] | [--count N --impl 0|1|2 --op 0..4]\n",
                argv[0]);
        return 2;
    }
    memset(g_msg, 0x5a, sizeof(g_msg));
    memset(g_plain, 0xa5, sizeof(g_plain));
    raw_load(o.keys);
    p11_load(&g_p11[IMPL_MODULE], o.module, NULL);
    if (o.softhsm != NULL)
        p11_load(&g_p11[IMPL_SOFTHSM], o.softhsm, o.pin);
    g_p11[IMPL_RAW].present = true;
    if (o.count > 0)
        return count_mode(o.count_impl, o.count_op, o.count);
    run_rounds(o.rounds, o.secs);
    g_rounds = o.rounds;
    report(o.secs);
    return 0;
}
