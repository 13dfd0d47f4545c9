/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) of the common key types without OpenSSL's encoder
 * and decoder: OpenSSL 3.0 builds an OSSL_DECODER_CTX/OSSL_ENCODER_CTX by walking every
 * provider's decoders/encoders under read-write locks, 60-100 µs a key single-threaded and far
 * more under contention, which dominated importing many released keys at C_Initialize.
 * RSA (rsaEncryption, NULL parameters), EC on P-256/384/521 (id-ecPublicKey, namedCurve) and
 * Ed25519/Ed448 (RFC 8410) are written and read here; anything else, or any input this code does
 * not re-encode to the same bytes, goes to OpenSSL (st_ctx.c), so odd inputs behave as before.
 * Keys are made with EVP_PKEY_fromdata in the private context with ST_PROPQ: provider keys, never
 * ENGINE ones (st_object_int.h).
 */
#include <openssl/asn1.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>

#include "st_object_int.h"
#include "u_macros.h"
#include "u_pkcs8.h"

/* Whole DER TLVs of the algorithm OIDs and parameters. */
static const unsigned char oid_rsa[] = {0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                        0xf7, 0x0d, 0x01, 0x01, 0x01};
static const unsigned char der_null[] = {0x05, 0x00};
static const unsigned char oid_ec[] = {0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const unsigned char oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48,
                                         0xce, 0x3d, 0x03, 0x01, 0x07};
static const unsigned char oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const unsigned char oid_p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
static const unsigned char oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
static const unsigned char oid_ed448[] = {0x06, 0x03, 0x2b, 0x65, 0x71};

struct spki_alg {
    const char *keytype; /* key type name for EVP_PKEY_CTX_new_from_name (an OID: no engine) */
    int curve;           /* EC: the curve's NID, else NID_undef */
    const unsigned char *oid, *params;
    size_t oid_len, params_len;
    size_t pub_len; /* EC uncompressed point / EdDSA raw key length; 0: any (RSA) */
};

#define TLV(a) a, NULL, sizeof(a), 0
static const struct spki_alg algs[] = {
        {ST_OID_RSA, NID_undef, oid_rsa, der_null, sizeof(oid_rsa), sizeof(der_null), 0},
        {ST_OID_EC, NID_X9_62_prime256v1, oid_ec, oid_p256, sizeof(oid_ec), sizeof(oid_p256), 65},
        {ST_OID_EC, NID_secp384r1, oid_ec, oid_p384, sizeof(oid_ec), sizeof(oid_p384), 97},
        {ST_OID_EC, NID_secp521r1, oid_ec, oid_p521, sizeof(oid_ec), sizeof(oid_p521), 133},
        {ST_OID_ED25519, NID_undef, TLV(oid_ed25519), 32},
        {ST_OID_ED448, NID_undef, TLV(oid_ed448), 57},
};
#undef TLV

/* ---- writing ------------------------------------------------------------------------------- */

/* Size of a DER tag + length header for `len` content bytes. */
static size_t hdr_size(size_t len)
{
    size_t n = 2;
    if (len < 0x80)
        return n;
    for (size_t l = len; l > 0; l >>= 8)
        n++;
    return n;
}

/* Write a tag + length header at p; returns the pointer past it. */
static unsigned char *put_hdr(unsigned char *p, unsigned char tag, size_t len)
{
    size_t h = hdr_size(len);
    *p++ = tag;
    if (h == 2) {
        *p++ = (unsigned char)len;
        return p;
    }
    *p++ = (unsigned char)(0x80 | (h - 2));
    for (size_t i = h - 2; i > 0; i--)
        *p++ = (unsigned char)(len >> (8 * (i - 1)));
    return p;
}

/* Content length of the DER INTEGER of a non-negative BIGNUM (0 is one zero byte). */
static size_t int_len(const BIGNUM *bn)
{
    int bits = BN_num_bits(bn);
    return bits == 0 ? 1 : (size_t)bits / 8 + 1;
}

static unsigned char *put_int(unsigned char *p, const BIGNUM *bn)
{
    size_t len = int_len(bn);
    p = put_hdr(p, V_ASN1_INTEGER, len);
    if (BN_bn2binpad(bn, p, (int)len) != (int)len)
        return NULL;
    return p + len;
}

/* RSAPublicKey (RFC 8017 §A.1.1) of n, e into a new buffer. */
static unsigned char *rsa_public_key(const EVP_PKEY *pkey, size_t *len)
{
    BIGNUM *n = NULL, *e = NULL;
    unsigned char *der = NULL, *p;
    if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) || BN_is_negative(n) ||
        BN_is_negative(e))
        goto out;
    size_t content = hdr_size(int_len(n)) + int_len(n) + hdr_size(int_len(e)) + int_len(e);
    *len = hdr_size(content) + content;
    der = OPENSSL_malloc(*len);
    if (der == NULL)
        goto out;
    p = put_hdr(der, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, content);
    p = put_int(p, n);
    if (p == NULL || put_int(p, e) != der + *len) {
        OPENSSL_free(der);
        der = NULL;
    }
out:
    BN_free(n);
    BN_free(e);
    return der;
}

/* The named curve of an EC key in algs[] whose point is written uncompressed, or NULL (explicit
 * parameters, other curves, other point forms: OpenSSL 3.0's ENCODED_PUBLIC_KEY is always
 * uncompressed, its encoder follows the key's form). */
static const struct spki_alg *ec_alg(const EVP_PKEY *pkey)
{
    char name[64], enc[32], form[32];
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, enc, sizeof(enc),
                                        NULL) ||
        strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0 ||
        !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT, form,
                                        sizeof(form), NULL) ||
        strcmp(form, OSSL_PKEY_EC_POINT_CONVERSION_FORMAT_UNCOMPRESSED) != 0 ||
        !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), NULL))
        return NULL;
    int nid = EC_curve_nist2nid(name);
    if (nid == NID_undef)
        nid = OBJ_sn2nid(name);
    for (size_t i = 0; i < U_ARRAY_SIZE(algs); i++) {
        if (algs[i].curve == nid && nid != NID_undef)
            return &algs[i];
    }
    return NULL;
}

/* The subjectPublicKey bytes of `pkey` (new buffer) and its algorithm, or NULL. */
static unsigned char *public_bits(const EVP_PKEY *pkey, const struct spki_alg **alg, size_t *len)
{
    unsigned char *pub = NULL;
    size_t cap = 0;
    if (EVP_PKEY_is_a(pkey, "RSA")) { /* not RSA-PSS: its SPKI carries other parameters */
        *alg = &algs[0];
        return rsa_public_key(pkey, len);
    }
    if (EVP_PKEY_is_a(pkey, "EC")) {
        *alg = ec_alg(pkey);
        if (*alg == NULL || !EVP_PKEY_get_octet_string_param(
                                    pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0, &cap))
            return NULL;
    } else if (EVP_PKEY_is_a(pkey, "ED25519") || EVP_PKEY_is_a(pkey, "ED448")) {
        *alg = EVP_PKEY_is_a(pkey, "ED25519") ? &algs[4] : &algs[5];
        cap = (*alg)->pub_len;
    } else {
        return NULL;
    }
    pub = OPENSSL_malloc(cap > 0 ? cap : 1);
    *len = cap;
    int ok = pub != NULL &&
             ((*alg)->curve != NID_undef
                      ? EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
                                                        pub, cap, len)
                      : EVP_PKEY_get_raw_public_key(pkey, pub, len));
    if (!ok || *len != cap) {
        OPENSSL_free(pub);
        return NULL;
    }
    return pub;
}

CK_RV st_spki_encode(const EVP_PKEY *pkey, unsigned char **der, size_t *len, size_t *bits_off,
                     size_t *bits_len)
{
    U_RETURN_IF_FAIL(pkey != NULL && der != NULL && len != NULL, CKR_ARGUMENTS_BAD);
    const struct spki_alg *a = NULL;
    size_t plen = 0;
    ERR_set_mark();
    unsigned char *pub = public_bits(pkey, &a, &plen);
    ERR_pop_to_mark();
    if (pub == NULL)
        return CKR_FUNCTION_NOT_SUPPORTED;
    size_t alg_len = a->oid_len + a->params_len, bits = plen + 1;
    size_t content = hdr_size(alg_len) + alg_len + hdr_size(bits) + bits;
    size_t total = hdr_size(content) + content;
    unsigned char *out = OPENSSL_malloc(total), *p;
    if (out == NULL) {
        OPENSSL_free(pub);
        return CKR_HOST_MEMORY;
    }
    p = put_hdr(out, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, content);
    p = put_hdr(p, V_ASN1_SEQUENCE | V_ASN1_CONSTRUCTED, alg_len);
    memcpy(p, a->oid, a->oid_len);
    p += a->oid_len;
    if (a->params_len > 0)
        memcpy(p, a->params, a->params_len);
    p += a->params_len;
    p = put_hdr(p, V_ASN1_BIT_STRING, bits);
    *p++ = 0; /* no unused bits */
    memcpy(p, pub, plen);
    OPENSSL_free(pub);
    if (bits_off != NULL)
        *bits_off = (size_t)(p - out);
    if (bits_len != NULL)
        *bits_len = plen;
    *der = out;
    *len = total;
    return CKR_OK;
}

CK_RV st_spki_der(const EVP_PKEY *pkey, unsigned char **der, size_t *len)
{
    CK_RV rv = st_spki_encode(pkey, der, len, NULL, NULL);
    if (rv != CKR_FUNCTION_NOT_SUPPORTED)
        return rv;
    int n = i2d_PUBKEY(pkey, der); /* not a common type: OpenSSL's encoder */
    if (n <= 0)
        return CKR_FUNCTION_FAILED;
    *len = (size_t)n;
    return CKR_OK;
}

/* ---- reading ------------------------------------------------------------------------------- */

/* The pieces of a SubjectPublicKeyInfo, borrowed from the input. */
struct spki_parts {
    const unsigned char *oid, *params, *bits;
    size_t oid_len, params_len, bits_len;
};

/* SEQ { SEQ { OID, params? }, BIT STRING (no unused bits) } spanning exactly der[0..len). Lax
 * about the encoding: st_pkey_from_spki_fast re-encodes the key and compares. */
static bool spki_split(const unsigned char *der, size_t len, struct spki_parts *s)
{
    const unsigned char *p = der, *end = der + len, *c = NULL, *start, *alg_end;
    int tag = 0, cls = 0;
    long n = 0;
    memset(s, 0, sizeof(*s));
    if (!u_der_next(&p, end, &tag, &cls, &c, &n) || tag != V_ASN1_SEQUENCE || c + n != end)
        return false;
    if (!u_der_next(&p, end, &tag, &cls, &c, &n) || tag != V_ASN1_SEQUENCE)
        return false;
    alg_end = c + n;
    start = p;
    if (!u_der_next(&p, alg_end, &tag, &cls, &c, &n) || tag != V_ASN1_OBJECT)
        return false;
    s->oid = start;
    s->oid_len = (size_t)(p - start);
    if (p < alg_end) {
        start = p;
        if (!u_der_next(&p, alg_end, &tag, &cls, &c, &n) || c + n != alg_end)
            return false;
        s->params = start;
        s->params_len = (size_t)(alg_end - start);
        p = alg_end;
    }
    if (p != alg_end || !u_der_next(&p, end, &tag, &cls, &c, &n) || tag != V_ASN1_BIT_STRING ||
        cls != V_ASN1_UNIVERSAL || n < 1 || c[0] != 0 || c + n != end)
        return false;
    s->bits = c + 1;
    s->bits_len = (size_t)n - 1;
    return true;
}

static bool same(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static const struct spki_alg *alg_of(const struct spki_parts *s)
{
    for (size_t i = 0; i < U_ARRAY_SIZE(algs); i++) {
        const struct spki_alg *a = &algs[i];
        if (same(s->oid, s->oid_len, a->oid, a->oid_len) &&
            same(s->params, s->params_len, a->params, a->params_len) &&
            (a->pub_len == 0 || s->bits_len == a->pub_len))
            return a;
    }
    return NULL;
}

/* RSAPublicKey n, e → parameters (BIGNUMs as unsigned magnitudes; a negative input does not
 * re-encode to the same bytes and so goes to the decoder). */
static bool rsa_params(OSSL_PARAM_BLD *bld, const unsigned char *k, size_t klen, BIGNUM **n,
                       BIGNUM **e)
{
    const unsigned char *p = k, *end = k + klen, *c = NULL;
    int tag = 0, cls = 0;
    long len = 0;
    if (!u_der_next(&p, end, &tag, &cls, &c, &len) || tag != V_ASN1_SEQUENCE || c + len != end)
        return false;
    if (!u_der_next(&p, end, &tag, &cls, &c, &len) || tag != V_ASN1_INTEGER)
        return false;
    *n = BN_bin2bn(c, (int)len, NULL);
    if (!u_der_next(&p, end, &tag, &cls, &c, &len) || tag != V_ASN1_INTEGER || p != end)
        return false;
    *e = BN_bin2bn(c, (int)len, NULL);
    return *n != NULL && *e != NULL && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, *n) &&
           OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, *e);
}

static bool key_params(OSSL_PARAM_BLD *bld, const struct spki_alg *a, const struct spki_parts *s,
                       BIGNUM **n, BIGNUM **e)
{
    if (a->oid == oid_rsa)
        return rsa_params(bld, s->bits, s->bits_len, n, e);
    if (a->curve != NID_undef && (s->bits[0] != POINT_CONVERSION_UNCOMPRESSED ||
                                  !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                                                   OBJ_nid2sn(a->curve), 0)))
        return false;
    return OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, s->bits, s->bits_len);
}

/* The key of a SubjectPublicKeyInfo of algs[] whose own encoding is exactly der[0..len). */
static EVP_PKEY *from_parts(const unsigned char *der, size_t len, const struct spki_alg *a,
                            const struct spki_parts *s)
{
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(st_libctx(), a->keytype, ST_PROPQ);
    EVP_PKEY *pkey = NULL;
    BIGNUM *n = NULL, *e = NULL;
    unsigned char *again = NULL;
    size_t again_len = 0;
    if (bld == NULL || ctx == NULL || !key_params(bld, a, s, &n, &e))
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (params == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto out;
    if (st_spki_encode(pkey, &again, &again_len, NULL, NULL) != CKR_OK ||
        !same(again, again_len, der, len)) {
        EVP_PKEY_free(pkey); /* not canonical DER: the decoder decides */
        pkey = NULL;
    }
out:
    OPENSSL_free(again);
    BN_free(n);
    BN_free(e);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

EVP_PKEY *st_pkey_from_spki_fast(const unsigned char *der, size_t len)
{
    struct spki_parts s;
    const struct spki_alg *a = NULL;
    EVP_PKEY *pkey = NULL;
    if (der == NULL || st_libctx() == NULL)
        return NULL;
    ERR_set_mark();
    if (spki_split(der, len, &s) && s.bits_len > 0)
        a = alg_of(&s);
    if (a != NULL)
        pkey = from_parts(der, len, a, &s);
    ERR_pop_to_mark();
    return pkey;
}
