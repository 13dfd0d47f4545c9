/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run by test_skr_tool_attest.py against the emulator (SKR_PKCS11_CONF set): one attestation
 * through kr_attest, a second kr_attest served from the cache (same token), then 8 threads
 * decrypting OAEP-SHA1/256/384 ciphertexts with the shared unwrapper at once; every plaintext
 * must round-trip. Also drops the caller's references in between, so the TPM connection is
 * closed and the key re-created on the next use. Exit 0 = all good.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "kr_attest.h"
#include "kr_http.h"

#define THREADS 8
#define ROUNDS  3

static struct kr_unwrapper *g_u;
static EVP_PKEY *g_pub;

static EVP_PKEY *rsa_pub(const unsigned char *n, size_t nlen)
{
    OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
    BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
    BIGNUM *be = BN_new();
    EVP_PKEY *k = NULL;
    if (b == NULL || bn == NULL || be == NULL || BN_set_word(be, 65537) != 1 ||
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, bn) != 1 ||
        OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, be) != 1)
        goto out;
    OSSL_PARAM *p = OSSL_PARAM_BLD_to_param(b);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (c == NULL || p == NULL || EVP_PKEY_fromdata_init(c) != 1 ||
        EVP_PKEY_fromdata(c, &k, EVP_PKEY_PUBLIC_KEY, p) != 1)
        k = NULL;
    EVP_PKEY_CTX_free(c);
    OSSL_PARAM_free(p);
out:
    OSSL_PARAM_BLD_free(b);
    BN_free(bn);
    BN_free(be);
    return k;
}

static int round_trip(int nid)
{
    unsigned char secret[32], ct[256];
    size_t clen = sizeof(ct);
    const EVP_MD *md = EVP_get_digestbynid(nid);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(g_pub, NULL);
    struct u_secbuf *pt = NULL;
    int ok = RAND_bytes(secret, sizeof(secret)) == 1 && c != NULL &&
             EVP_PKEY_encrypt_init(c) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_oaep_md(c, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(c, md) == 1 &&
             EVP_PKEY_encrypt(c, ct, &clen, secret, sizeof(secret)) == 1 &&
             kr_unwrapper_rsa_oaep(g_u, nid, ct, clen, &pt) == KR_OK && pt->len == 32 &&
             memcmp(pt->data, secret, 32) == 0;
    EVP_PKEY_CTX_free(c);
    u_secbuf_free(pt);
    return ok;
}

static void *worker(void *arg)
{
    static const int nids[] = {NID_sha1, NID_sha256, NID_sha384};
    long bad = 0;
    (void)arg;
    for (int i = 0; i < ROUNDS; i++)
        for (int j = 0; j < 3; j++)
            bad += !round_trip(nids[j]);
    return (void *)bad;
}

static int threads_round_trip(void)
{
    pthread_t t[THREADS];
    long bad = 0;
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0)
            return 0;
    for (int i = 0; i < THREADS; i++) {
        void *r = NULL;
        pthread_join(t[i], &r);
        bad += (long)r;
    }
    printf("threads: %d decryptions, %ld failed\n", THREADS * ROUNDS * 3, bad);
    return bad == 0;
}

int main(void)
{
    struct cfg *c = NULL;
    struct kr_http *http = NULL;
    struct kr_attester *a = NULL;
    char *jwt1 = NULL, *jwt2 = NULL, err[256] = "";
    int ok = 0;
    const char *path = getenv("SKR_PKCS11_CONF");
    if (path == NULL || cfg_load(path, &c, err, sizeof(err)) != CFG_OK ||
        kr_http_new(&c->http, &http) != KR_OK || kr_attester_new(c, http, &a) != KR_OK) {
        fprintf(stderr, "setup failed: %s\n", err);
        goto out;
    }
    if (kr_attest(a, &jwt1, &g_u) != KR_OK || kr_attest(a, &jwt2, NULL) != KR_OK ||
        strcmp(jwt1, jwt2) != 0) {
        fprintf(stderr, "attestation or token cache failed\n");
        goto out;
    }
    size_t nlen = 0;
    const unsigned char *n = kr_unwrapper_modulus(g_u, &nlen, NULL);
    g_pub = rsa_pub(n, nlen);
    ok = g_pub != NULL && threads_round_trip();
    /* drop our reference: the TPM connection closes; a new reference re-creates the key */
    kr_unwrapper_free(g_u);
    g_u = NULL;
    ok = ok && kr_attest(a, NULL, &g_u) == KR_OK && round_trip(NID_sha256);
    printf("after re-creation: %s\n", ok ? "ok" : "FAILED");
out:
    kr_unwrapper_free(g_u);
    EVP_PKEY_free(g_pub);
    u_strfree_secret(jwt1);
    u_strfree_secret(jwt2);
    kr_attester_free(a);
    kr_http_free(http);
    cfg_free(c);
    return ok ? 0 : 1;
}
