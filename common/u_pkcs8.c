/* SPDX-License-Identifier: Apache-2.0 */
/* Leak-free PKCS#8 decoding (u_pkcs8.h). */
#define OPENSSL_SUPPRESS_DEPRECATED /* RSA_METHOD, RSA_set_method: see rsa_nocache() */
#include "u_pkcs8.h"

#include <pthread.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static RSA_METHOD *g_rsa_nocache;
static pthread_once_t g_rsa_nocache_once = PTHREAD_ONCE_INIT;

/* The five CRT steps after the two half-size exponentiations (Garner), as rsa_ossl_mod_exp:
 * r0 = m1 + q * ((r0 - m1) * qInv mod p). `r1` is scratch. */
static int rsa_crt_combine(BIGNUM *r0, BIGNUM *r1, const BIGNUM *m1, const BIGNUM *p,
                           const BIGNUM *q, const BIGNUM *iqmp, BN_CTX *ctx)
{
    if (!BN_sub(r0, r0, m1) || (BN_is_negative(r0) && !BN_add(r0, r0, p)) ||
        !BN_mul(r1, r0, iqmp, ctx))
        return 0;
    BN_set_flags(r1, BN_FLG_CONSTTIME);
    if (!BN_mod(r0, r1, p, ctx) || (BN_is_negative(r0) && !BN_add(r0, r0, p)))
        return 0;
    return BN_mul(r1, r0, q, ctx) && BN_add(r0, r1, m1);
}

/*
 * The RSA private operation of rsa_nocache keys: OpenSSL's CRT (rsa_ossl_mod_exp without
 * RSA_FLAG_CACHE_PRIVATE) with both half-size exponentiations in one
 * BN_mod_exp_mont_consttime_x2 call. OpenSSL's own method takes that call, and on AVX-512 IFMA
 * CPUs its dual 1024-bit path, only with cached Montgomery contexts; without it an RSA-2048
 * signature costs 2.3 times as much there (bench/RESULTS.md, nginx). The two contexts of the
 * primes are built for this call and wiped by BN_MONT_CTX_free, as OpenSSL's uncached path does.
 * The result is checked with the public exponent, in the key's cached Montgomery context of the
 * public modulus (rsa_mont_n). On any failure, or for keys this does not cover (no CRT values,
 * multi-prime, primes of different sizes), OpenSSL's own method computes it.
 */
/* Two-prime key with every CRT value and primes of one size (BN_mod_exp_mont_consttime_x2). */
static int rsa_x2_applies(const RSA *rsa)
{
    const BIGNUM *n = NULL, *e = NULL, *p = NULL, *q = NULL;
    const BIGNUM *dmp1 = NULL, *dmq1 = NULL, *iqmp = NULL;

    RSA_get0_key(rsa, &n, &e, NULL);
    RSA_get0_factors(rsa, &p, &q);
    RSA_get0_crt_params(rsa, &dmp1, &dmq1, &iqmp);
    return n != NULL && e != NULL && p != NULL && q != NULL && dmp1 != NULL && dmq1 != NULL &&
           iqmp != NULL && RSA_get_multi_prime_extra_count(rsa) == 0 &&
           BN_num_bits(p) == BN_num_bits(q);
}

static int rsa_mod_exp_x2(BIGNUM *r0, const BIGNUM *in, RSA *rsa, BN_CTX *ctx)
{
    const BIGNUM *n = NULL, *e = NULL, *p = NULL, *q = NULL;
    const BIGNUM *dmp1 = NULL, *dmq1 = NULL, *iqmp = NULL;
    BIGNUM *pc = BN_new(), *qc = BN_new(), *ic = BN_new(), *dp = BN_new(), *dq = BN_new();
    BN_MONT_CTX *mp = BN_MONT_CTX_new(), *mq = BN_MONT_CTX_new();
    BIGNUM *r1, *m1, *t;
    int ok = 0;

    RSA_get0_key(rsa, &n, &e, NULL);
    RSA_get0_factors(rsa, &p, &q);
    RSA_get0_crt_params(rsa, &dmp1, &dmq1, &iqmp);
    BN_CTX_start(ctx);
    r1 = BN_CTX_get(ctx);
    m1 = BN_CTX_get(ctx);
    t = BN_CTX_get(ctx);
    if (t == NULL || pc == NULL || qc == NULL || ic == NULL || dp == NULL || dq == NULL ||
        mp == NULL || mq == NULL || !rsa_x2_applies(rsa))
        goto out;
    BN_with_flags(pc, p, BN_FLG_CONSTTIME);
    BN_with_flags(qc, q, BN_FLG_CONSTTIME);
    BN_with_flags(ic, in, BN_FLG_CONSTTIME);
    BN_with_flags(dp, dmp1, BN_FLG_CONSTTIME);
    BN_with_flags(dq, dmq1, BN_FLG_CONSTTIME);
    /* m1 = (in mod q)^dQ mod q and r0 = (in mod p)^dP mod p, in one call */
    if (!BN_MONT_CTX_set(mp, pc, ctx) || !BN_MONT_CTX_set(mq, qc, ctx) ||
        !BN_mod(r1, ic, qc, ctx) || !BN_mod(t, ic, pc, ctx) ||
        !BN_mod_exp_mont_consttime_x2(m1, r1, dq, qc, mq, r0, t, dp, pc, mp, ctx) ||
        !rsa_crt_combine(r0, r1, m1, pc, qc, iqmp, ctx))
        goto out;
    /* Fault check, as OpenSSL: the result raised to e gives the input back. */
    ok = BN_mod_exp_mont(t, r0, e, n, ctx, RSA_get_app_data(rsa)) && BN_cmp(t, in) == 0;
out:
    BN_CTX_end(ctx);
    BN_MONT_CTX_free(mp); /* BN_clear_free of the prime's copy and of R^2 mod prime */
    BN_MONT_CTX_free(mq);
    BN_free(pc); /* the BN_with_flags views own no data */
    BN_free(qc);
    BN_free(ic);
    BN_free(dp);
    BN_free(dq);
    if (ok)
        return 1;
    ERR_clear_error();
    return RSA_meth_get_mod_exp(RSA_PKCS1_OpenSSL())(r0, in, rsa, ctx);
}

/*
 * The Montgomery context of the public modulus n, kept as the key's app data: without it the fault
 * check of every signature builds one (BN_mod_exp_mont with NULL), about 2% of an RSA-2048
 * signature on the IFMA machine (bench/RESULTS.md). n is public, so unlike the primes' contexts it
 * may live on the normal heap. Made in rsa_nocache before the key is shared and only read after,
 * so threads signing with one key need no lock; freed by rsa_nocache_finish. A key without it
 * (out of memory at load) builds the context per call, as before.
 */
static void rsa_mont_n(RSA *rsa)
{
    const BIGNUM *n = NULL;
    BN_MONT_CTX *mont = BN_MONT_CTX_new();
    BN_CTX *ctx = BN_CTX_new();

    RSA_get0_key(rsa, &n, NULL, NULL);
    if (mont != NULL && ctx != NULL && n != NULL && BN_MONT_CTX_set(mont, n, ctx) &&
        RSA_set_app_data(rsa, mont) == 1)
        mont = NULL; /* owned by rsa */
    else
        ERR_clear_error();
    BN_MONT_CTX_free(mont);
    BN_CTX_free(ctx);
}

/* RSA_free (and RSA_set_method) call the method's finish: drop rsa_mont_n's context, then
 * OpenSSL's finish (it frees the contexts OpenSSL cached, such as the blinding's n). */
static int rsa_nocache_finish(RSA *rsa)
{
    BN_MONT_CTX_free(RSA_get_app_data(rsa));
    RSA_set_app_data(rsa, NULL);
    return RSA_meth_get_finish(RSA_PKCS1_OpenSSL())(rsa);
}

static void rsa_nocache_init(void)
{
    RSA_METHOD *m = RSA_meth_dup(RSA_PKCS1_OpenSSL());

    if (m != NULL && RSA_meth_set_flags(m, RSA_meth_get_flags(m) & ~RSA_FLAG_CACHE_PRIVATE) == 1 &&
        RSA_meth_set_mod_exp(m, rsa_mod_exp_x2) == 1 &&
        RSA_meth_set_finish(m, rsa_nocache_finish) == 1)
        g_rsa_nocache = m;
    else
        RSA_meth_free(m);
}

/* The method outlives every key (the module's keys are gone after C_Finalize); freed when the
 * library is unloaded, so leak checkers see nothing. */
__attribute__((destructor)) static void rsa_nocache_fini(void)
{
    RSA_meth_free(g_rsa_nocache);
    g_rsa_nocache = NULL;
}

/*
 * RSAPrivateKey DER → EVP_PKEY. d2i_RSAPrivateKey decodes every private component straight into
 * a secure-heap BIGNUM. The method is OpenSSL's own minus RSA_FLAG_CACHE_PRIVATE, so no
 * BN_MONT_CTX copy of p and q stays on the normal heap; being non-default, it also makes EVP run
 * operations on this RSA object instead of exporting a provider copy (one BN_MONT_CTX_set per
 * prime per private operation is the cost).
 */
static EVP_PKEY *rsa_nocache(const unsigned char *k, int klen)
{
    RSA *rsa = d2i_RSAPrivateKey(NULL, &k, klen);
    EVP_PKEY *pkey = NULL;

    pthread_once(&g_rsa_nocache_once, rsa_nocache_init);
    if (rsa == NULL || g_rsa_nocache == NULL || RSA_set_method(rsa, g_rsa_nocache) != 1)
        goto out;
    RSA_clear_flags(rsa, RSA_FLAG_CACHE_PRIVATE); /* copied from the default method by RSA_new */
    rsa_mont_n(rsa);
    pkey = EVP_PKEY_new();
    if (pkey != NULL && EVP_PKEY_assign_RSA(pkey, rsa) == 1) {
        rsa = NULL; /* owned by pkey */
    } else {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
out:
    RSA_free(rsa);
    return pkey;
}

int u_der_next(const unsigned char **p, const unsigned char *end, int *tag, int *cls,
               const unsigned char **content, long *clen)
{
    const unsigned char *q = *p;
    int r = ASN1_get_object(&q, clen, tag, cls, end - *p);

    if ((r & 0x80) != 0 || *clen > end - q)
        return 0;
    *content = q;
    *p = q + ((r & V_ASN1_CONSTRUCTED) != 0 ? 0 : *clen);
    return 1;
}

/* ECPrivateKey (RFC 5915) in place, nothing copied: the scalar, the [0] parameters element
 * (optional) and the [1] public key's point (required here). */
struct ec_parts {
    const unsigned char *d, *pt, *params;
    long dlen, ptlen, params_len;
};

static int ec_tagged(struct ec_parts *e, int tag, const unsigned char *c, long n)
{
    const unsigned char *p = c;
    const unsigned char *in = NULL;
    int t = 0, cls = 0;
    long m = 0;

    if (tag == 0) {
        e->params = c;
        e->params_len = n;
        return 1;
    }
    if (tag != 1 || !u_der_next(&p, c + n, &t, &cls, &in, &m) || t != V_ASN1_BIT_STRING || m < 2 ||
        in[0] != 0)
        return 0;
    e->pt = in + 1; /* no unused bits */
    e->ptlen = m - 1;
    return 1;
}

static int ec_parts(const unsigned char *k, long klen, struct ec_parts *e)
{
    const unsigned char *p = k, *end = k + klen, *c = NULL;
    int tag = 0, cls = 0;
    long n = 0;

    memset(e, 0, sizeof(*e));
    if (!u_der_next(&p, end, &tag, &cls, &c, &n) || tag != V_ASN1_SEQUENCE || c + n != end)
        return 0;
    if (!u_der_next(&p, end, &tag, &cls, &c, &n) || tag != V_ASN1_INTEGER || n != 1 || c[0] != 1)
        return 0;
    if (!u_der_next(&p, end, &tag, &cls, &e->d, &e->dlen) || tag != V_ASN1_OCTET_STRING)
        return 0;
    while (p < end) {
        if (!u_der_next(&p, end, &tag, &cls, &c, &n) || cls != V_ASN1_CONTEXT_SPECIFIC ||
            !ec_tagged(e, tag, c, n))
            return 0;
        p = c + n;
    }
    return e->pt != NULL;
}

static EVP_PKEY *ec_from_parts(const char *group, const unsigned char *d, long dlen,
                               const unsigned char *pt, long ptlen, OSSL_LIB_CTX *libctx)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    /* id-ecPublicKey's OID, not "EC": see pkey_from_params in keyrelease/kr_jose.c (engines) */
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(libctx, "1.2.840.10045.2.1", NULL);
    BIGNUM *bn = BN_secure_new();
    EVP_PKEY *pkey = NULL;

    if (bld == NULL || ctx == NULL || bn == NULL || BN_bin2bn(d, (int)dlen, bn) == NULL ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn) || /* secure param */
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, (size_t)ptlen))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) <= 0)
        pkey = NULL;
out:
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    BN_clear_free(bn);
    return pkey;
}

/* The curve: the PKCS#8 AlgorithmIdentifier's OID, else the ECPrivateKey's [0] parameters. */
static EVP_PKEY *ec_decode(const X509_ALGOR *alg, const unsigned char *k, long klen,
                           OSSL_LIB_CTX *libctx)
{
    const void *pval = NULL;
    ASN1_OBJECT *own = NULL;
    const ASN1_OBJECT *oid = NULL;
    const unsigned char *q;
    int ptype = 0;
    struct ec_parts e;
    const char *group = NULL;
    EVP_PKEY *pkey = NULL;

    if (!ec_parts(k, klen, &e))
        return NULL;
    if (alg != NULL) {
        X509_ALGOR_get0(NULL, &ptype, &pval, alg);
        oid = ptype == V_ASN1_OBJECT ? pval : NULL;
    } else if (e.params != NULL) {
        q = e.params;
        oid = own = d2i_ASN1_OBJECT(NULL, &q, e.params_len);
    }
    if (oid != NULL)
        group = OSSL_EC_curve_nid2name(OBJ_obj2nid(oid));
    if (group != NULL)
        pkey = ec_from_parts(group, e.d, e.dlen, e.pt, e.ptlen, libctx);
    ASN1_OBJECT_free(own);
    return pkey;
}

/*
 * OpenSSL's decoder (may leave unwiped copies, u_pkcs8.h); the whole input must be the key.
 * OSSL_DECODER itself, not d2i_AutoPrivateKey_ex: that falls back to the legacy decoder, which
 * makes an ENGINE key when an engine is registered for the type (libp11's in `openssl -engine`
 * and nginx processes).
 */
static EVP_PKEY *ossl_decode(const unsigned char *der, size_t len, OSSL_LIB_CTX *libctx)
{
    const unsigned char *p = der;
    size_t left = len;
    EVP_PKEY *pkey = NULL;
    OSSL_DECODER_CTX *dctx =
            OSSL_DECODER_CTX_new_for_pkey(&pkey, "DER", NULL, NULL, EVP_PKEY_KEYPAIR, libctx, NULL);

    if (dctx == NULL || OSSL_DECODER_from_data(dctx, &p, &left) != 1 || left != 0) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    OSSL_DECODER_CTX_free(dctx);
    return pkey;
}

/* Not PKCS#8: the traditional RSAPrivateKey or ECPrivateKey forms, then OpenSSL's decoder. */
static EVP_PKEY *traditional(const unsigned char *der, size_t len, OSSL_LIB_CTX *libctx)
{
    const unsigned char *p = der;
    EVP_PKEY *pkey = ec_decode(NULL, der, (long)len, libctx);
    RSA *probe = pkey == NULL ? d2i_RSAPrivateKey(NULL, &p, (long)len) : NULL;

    if (probe != NULL) {
        RSA_free(probe); /* BN_clear_free of every component */
        if (p == der + len)
            return rsa_nocache(der, (int)len);
    }
    return pkey != NULL ? pkey : ossl_decode(der, len, libctx);
}

EVP_PKEY *u_pkcs8_decode(const unsigned char *der, size_t len, OSSL_LIB_CTX *libctx)
{
    const unsigned char *p = der, *k = NULL;
    const ASN1_OBJECT *oid = NULL;
    const X509_ALGOR *alg = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len);
    EVP_PKEY *pkey = NULL;
    int klen = 0, nid;

    if (p8 == NULL || p != der + len) {
        ERR_clear_error();
        pkey = traditional(der, len, libctx);
        goto out;
    }
    if (PKCS8_pkey_get0(&oid, &k, &klen, &alg, p8) != 1)
        goto out;
    nid = OBJ_obj2nid(oid);
    if (nid == NID_rsaEncryption) {
        pkey = rsa_nocache(k, klen);
    } else if (nid == NID_X9_62_id_ecPublicKey) {
        pkey = ec_decode(alg, k, klen, libctx);
    }
    if (pkey == NULL) /* other types, or an EC key without its public point: OpenSSL decodes */
        pkey = ossl_decode(der, len, libctx);
out:
    PKCS8_PRIV_KEY_INFO_free(p8); /* wipes the private key octets (OpenSSL's free callback) */
    return pkey;
}
