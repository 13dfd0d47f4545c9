/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The private OSSL_LIB_CTX of the token and the algorithms fetched from it once.
 * The default provider is loaded explicitly into our context, so an application that loaded a
 * pkcs11 provider into the default context can never recurse into this module. The fetched
 * EVP_MD/EVP_CIPHER/EVP_MAC objects are immutable and shared by every thread without a lock;
 * they live from st_init to st_cleanup. OPENSSL_cleanup() is never called (process-global).
 */
#include <openssl/crypto.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <pthread.h>

#include "st_mech.h"
#include "u_log.h"
#include "u_macros.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static OSSL_LIB_CTX *g_libctx;
static OSSL_PROVIDER *g_default;
static EVP_MD *g_md[ST_MD_COUNT];
static EVP_CIPHER *g_aes[ST_AES_MODE_COUNT][3];
static EVP_MAC *g_hmac;
static EVP_MAC *g_cmac;

static const char *const md_names[ST_MD_COUNT] = {
        [ST_MD_SHA1] = "SHA1",     [ST_MD_SHA224] = "SHA224", [ST_MD_SHA256] = "SHA256",
        [ST_MD_SHA384] = "SHA384", [ST_MD_SHA512] = "SHA512",
};

static const char *const aes_names[ST_AES_MODE_COUNT][3] = {
        [ST_AES_ECB] = {"AES-128-ECB", "AES-192-ECB", "AES-256-ECB"},
        [ST_AES_CBC] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"},
        [ST_AES_CTR] = {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"},
        [ST_AES_GCM] = {"AES-128-GCM", "AES-192-GCM", "AES-256-GCM"},
        [ST_AES_WRAP] = {"AES-128-WRAP", "AES-192-WRAP", "AES-256-WRAP"},
        [ST_AES_WRAP_PAD] = {"AES-128-WRAP-PAD", "AES-192-WRAP-PAD", "AES-256-WRAP-PAD"},
};

CK_RV st_ossl_err(const char *what, CK_RV rv)
{
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        U_LOG_DBG("st", "%s: %s", what, buf);
    }
    return rv;
}

static void release_algorithms(void)
{
    for (size_t i = 0; i < ST_MD_COUNT; i++) {
        EVP_MD_free(g_md[i]);
        g_md[i] = NULL;
    }
    for (size_t m = 0; m < ST_AES_MODE_COUNT; m++) {
        for (size_t k = 0; k < 3; k++) {
            EVP_CIPHER_free(g_aes[m][k]);
            g_aes[m][k] = NULL;
        }
    }
    EVP_MAC_free(g_hmac);
    EVP_MAC_free(g_cmac);
    g_hmac = NULL;
    g_cmac = NULL;
}

static CK_RV fetch_algorithms(void)
{
    for (size_t i = 1; i < ST_MD_COUNT; i++) {
        g_md[i] = EVP_MD_fetch(g_libctx, md_names[i], NULL);
        if (g_md[i] == NULL)
            return st_ossl_err(md_names[i], CKR_GENERAL_ERROR);
    }
    for (size_t m = 0; m < ST_AES_MODE_COUNT; m++) {
        for (size_t k = 0; k < 3; k++) {
            g_aes[m][k] = EVP_CIPHER_fetch(g_libctx, aes_names[m][k], NULL);
            if (g_aes[m][k] == NULL)
                return st_ossl_err(aes_names[m][k], CKR_GENERAL_ERROR);
        }
    }
    g_hmac = EVP_MAC_fetch(g_libctx, "HMAC", NULL);
    g_cmac = EVP_MAC_fetch(g_libctx, "CMAC", NULL);
    if (g_hmac == NULL || g_cmac == NULL)
        return st_ossl_err("EVP_MAC_fetch", CKR_GENERAL_ERROR);
    return CKR_OK;
}

static void release_ctx(void)
{
    release_algorithms();
    if (g_default != NULL)
        OSSL_PROVIDER_unload(g_default);
    g_default = NULL;
    OSSL_LIB_CTX_free(g_libctx);
    g_libctx = NULL;
}

CK_RV st_init(void)
{
    CK_RV rv = CKR_GENERAL_ERROR;
    pthread_mutex_lock(&g_lock);
    if (g_libctx != NULL) {
        rv = CKR_OK;
        goto out;
    }
    (void)u_secmem_init();
    g_libctx = OSSL_LIB_CTX_new();
    if (g_libctx == NULL) {
        rv = st_ossl_err("OSSL_LIB_CTX_new", CKR_HOST_MEMORY);
        goto out;
    }
    g_default = OSSL_PROVIDER_load(g_libctx, "default");
    if (g_default == NULL) {
        rv = st_ossl_err("OSSL_PROVIDER_load(default)", CKR_GENERAL_ERROR);
        release_ctx();
        goto out;
    }
    rv = fetch_algorithms();
    if (rv != CKR_OK)
        release_ctx();
out:
    pthread_mutex_unlock(&g_lock);
    return rv;
}

void st_cleanup(void)
{
    pthread_mutex_lock(&g_lock);
    if (g_libctx != NULL)
        release_ctx();
    pthread_mutex_unlock(&g_lock);
}

OSSL_LIB_CTX *st_libctx(void)
{
    return g_libctx;
}

/* One DER structure of exactly `len` bytes → provider key (OSSL_DECODER never makes a legacy
 * key, whatever ENGINE is registered). */
static EVP_PKEY *decode_der(const unsigned char *der, size_t len, const char *structure,
                            int selection)
{
    EVP_PKEY *pkey = NULL;
    const unsigned char *p = der;
    size_t left = len;
    OSSL_DECODER_CTX *dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", structure, NULL, selection,
                                                           g_libctx, ST_PROPQ);
    if (der == NULL || dctx == NULL || OSSL_DECODER_from_data(dctx, &p, &left) != 1 || left != 0) {
        (void)st_ossl_err(structure, CKR_OK);
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

EVP_PKEY *st_pkey_from_spki(const unsigned char *der, size_t len)
{
    EVP_PKEY *pkey = st_pkey_from_spki_fast(der, len);
    if (pkey != NULL)
        return pkey;
    return decode_der(der, len, "SubjectPublicKeyInfo", EVP_PKEY_PUBLIC_KEY);
}

EVP_PKEY *st_pkey_from_pkcs8(const unsigned char *der, size_t len)
{
    return decode_der(der, len, "PrivateKeyInfo", EVP_PKEY_KEYPAIR);
}

EVP_PKEY *st_pkey_public_dup(EVP_PKEY *pkey)
{
    unsigned char *der = NULL;
    size_t len = 0;
    if (st_spki_der(pkey, &der, &len) != CKR_OK)
        return NULL;
    EVP_PKEY *pub = st_pkey_from_spki(der, len);
    OPENSSL_free(der);
    return pub;
}

const EVP_MD *st_ctx_md(enum st_md_id id)
{
    if (id <= ST_MD_NONE || id >= ST_MD_COUNT)
        return NULL;
    return g_md[id];
}

const EVP_CIPHER *st_ctx_aes(enum st_aes_mode mode, size_t keylen)
{
    if ((unsigned)mode >= ST_AES_MODE_COUNT)
        return NULL;
    switch (keylen) {
    case 16:
        return g_aes[mode][0];
    case 24:
        return g_aes[mode][1];
    case 32:
        return g_aes[mode][2];
    default:
        return NULL;
    }
}

EVP_MAC *st_ctx_hmac(void)
{
    return g_hmac;
}

EVP_MAC *st_ctx_cmac(void)
{
    return g_cmac;
}

const char *st_md_name(enum st_md_id id)
{
    if (id <= ST_MD_NONE || id >= ST_MD_COUNT)
        return NULL;
    return md_names[id];
}

enum st_md_id st_md_from_mech(CK_MECHANISM_TYPE m)
{
    static const struct {
        CK_MECHANISM_TYPE m;
        enum st_md_id id;
    } map[] = {
            {CKM_SHA_1, ST_MD_SHA1},    {CKM_SHA224, ST_MD_SHA224}, {CKM_SHA256, ST_MD_SHA256},
            {CKM_SHA384, ST_MD_SHA384}, {CKM_SHA512, ST_MD_SHA512},
    };
    for (size_t i = 0; i < U_ARRAY_SIZE(map); i++) {
        if (map[i].m == m)
            return map[i].id;
    }
    return ST_MD_NONE;
}

enum st_md_id st_md_from_mgf(CK_ULONG mgf)
{
    static const struct {
        CK_ULONG mgf;
        enum st_md_id id;
    } map[] = {
            {CKG_MGF1_SHA1, ST_MD_SHA1},     {CKG_MGF1_SHA224, ST_MD_SHA224},
            {CKG_MGF1_SHA256, ST_MD_SHA256}, {CKG_MGF1_SHA384, ST_MD_SHA384},
            {CKG_MGF1_SHA512, ST_MD_SHA512},
    };
    for (size_t i = 0; i < U_ARRAY_SIZE(map); i++) {
        if (map[i].mgf == mgf)
            return map[i].id;
    }
    return ST_MD_NONE;
}
