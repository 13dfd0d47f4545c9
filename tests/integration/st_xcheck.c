/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test driver: one softtoken operation on PEM keys and files, so st_openssl_xcheck.sh can check
 * the results against the `openssl` command both ways.
 *   st_xcheck sign   MECH KEY.pem IN SIG     (ECDSA: SIG written as DER for openssl)
 *   st_xcheck verify MECH PUB.pem IN SIG     (ECDSA: SIG read as DER); exit 0 valid, 3 invalid
 *   st_xcheck encrypt MECH PUB.pem IN OUT
 *   st_xcheck decrypt MECH KEY.pem IN OUT
 *   st_xcheck derive KEY.pem PEER-PUB.pem OUT  (ECDH1, CKD_NULL, raw peer point)
 * MECH: sha256-rsa, sha256-rsa-pss, ecdsa-sha256, eddsa, oaep-sha256, oaep-sha1-label, rsa-pkcs.
 */
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "st_mech.h"

static CK_RSA_PKCS_PSS_PARAMS pss = {CKM_SHA256, CKG_MGF1_SHA256, 32};
static CK_RSA_PKCS_OAEP_PARAMS oaep256 = {CKM_SHA256, CKG_MGF1_SHA256, 0, NULL, 0};
static char label[] = "xcheck-label";
static CK_RSA_PKCS_OAEP_PARAMS oaep1 = {CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, label, 12};

static bool mech_of(const char *name, CK_MECHANISM *m)
{
    static const struct {
        const char *name;
        CK_MECHANISM m;
    } map[] = {
            {"sha256-rsa", {CKM_SHA256_RSA_PKCS, NULL, 0}},
            {"sha256-rsa-pss", {CKM_SHA256_RSA_PKCS_PSS, &pss, sizeof(pss)}},
            {"ecdsa-sha256", {CKM_ECDSA_SHA256, NULL, 0}},
            {"eddsa", {CKM_EDDSA, NULL, 0}},
            {"oaep-sha256", {CKM_RSA_PKCS_OAEP, &oaep256, sizeof(oaep256)}},
            {"oaep-sha1-label", {CKM_RSA_PKCS_OAEP, &oaep1, sizeof(oaep1)}},
            {"rsa-pkcs", {CKM_RSA_PKCS, NULL, 0}},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (strcmp(map[i].name, name) == 0) {
            *m = map[i].m;
            return true;
        }
    }
    return false;
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static int spit(const char *path, const unsigned char *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len)
        return 2;
    return fclose(f) == 0 ? 0 : 2;
}

static struct st_object *key_object(const char *path, bool private_key)
{
    static const CK_BBOOL yes = CK_TRUE;
    CK_ATTRIBUTE priv_t[] = {{CKA_SIGN, (void *)(uintptr_t)&yes, 1},
                             {CKA_DECRYPT, (void *)(uintptr_t)&yes, 1},
                             {CKA_DERIVE, (void *)(uintptr_t)&yes, 1}};
    CK_ATTRIBUTE pub_t[] = {{CKA_VERIFY, (void *)(uintptr_t)&yes, 1},
                            {CKA_ENCRYPT, (void *)(uintptr_t)&yes, 1}};
    BIO *b = BIO_new_file(path, "r");
    if (b == NULL)
        return NULL;
    EVP_PKEY *k = private_key ? PEM_read_bio_PrivateKey_ex(b, NULL, NULL, NULL, st_libctx(), NULL)
                              : PEM_read_bio_PUBKEY_ex(b, NULL, NULL, NULL, st_libctx(), NULL);
    BIO_free(b);
    struct st_object *o = NULL;
    if (k == NULL || st_object_new_asym(k, private_key ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY,
                                        private_key ? priv_t : pub_t, private_key ? 3 : 2,
                                        ST_ORIGIN_UNWRAP, CK_UNAVAILABLE_INFORMATION, &o) != CKR_OK)
        return NULL;
    return o;
}

/* ECDSA r||s <-> DER, only for talking to the openssl command. */
static size_t rs_to_der(const unsigned char *rs, size_t len, unsigned char *der)
{
    ECDSA_SIG *s = ECDSA_SIG_new();
    ECDSA_SIG_set0(s, BN_bin2bn(rs, (int)len / 2, NULL),
                   BN_bin2bn(rs + len / 2, (int)len / 2, NULL));
    unsigned char *p = der;
    int n = i2d_ECDSA_SIG(s, &p);
    ECDSA_SIG_free(s);
    return n > 0 ? (size_t)n : 0;
}

static size_t der_to_rs(const unsigned char *der, size_t len, unsigned char *rs, size_t half)
{
    const unsigned char *p = der;
    ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
    if (s == NULL)
        return 0;
    BN_bn2binpad(ECDSA_SIG_get0_r(s), rs, (int)half);
    BN_bn2binpad(ECDSA_SIG_get0_s(s), rs + half, (int)half);
    ECDSA_SIG_free(s);
    return 2 * half;
}

static int run_op(const char *verb, CK_MECHANISM *m, struct st_object *k, const char *in_path,
                  const char *out_path)
{
    size_t inlen;
    unsigned char *in = slurp(in_path, &inlen);
    unsigned char out[4096];
    CK_ULONG outlen = sizeof(out);
    bool ecdsa = m->mechanism == CKM_ECDSA_SHA256;
    struct st_op *op = NULL;
    enum st_op_type t = strcmp(verb, "sign") == 0      ? ST_OP_SIGN
                        : strcmp(verb, "verify") == 0  ? ST_OP_VERIFY
                        : strcmp(verb, "encrypt") == 0 ? ST_OP_ENCRYPT
                                                       : ST_OP_DECRYPT;
    CK_RV rv = in != NULL ? st_op_new(t, m, k, &op) : CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK && t == ST_OP_VERIFY) {
        size_t siglen;
        unsigned char *sig = slurp(out_path, &siglen);
        unsigned char rs[200];
        if (ecdsa)
            siglen = der_to_rs(sig, siglen, rs,
                               (size_t)(EVP_PKEY_get_bits(st_object_pkey(k)) + 7) / 8);
        rv = st_op_verify(op, in, (CK_ULONG)inlen, ecdsa ? rs : sig, (CK_ULONG)siglen);
        free(sig);
    } else if (rv == CKR_OK) {
        rv = st_op_oneshot(op, in, (CK_ULONG)inlen, out, &outlen);
    }
    st_op_free(op);
    free(in);
    if (rv != CKR_OK) {
        fprintf(stderr, "st_xcheck %s: rv 0x%lx\n", verb, rv);
        return rv == CKR_SIGNATURE_INVALID ? 3 : 1;
    }
    if (t == ST_OP_VERIFY)
        return 0;
    if (ecdsa) {
        unsigned char der[200];
        size_t dl = rs_to_der(out, outlen, der);
        return spit(out_path, der, dl);
    }
    return spit(out_path, out, outlen);
}

static int run_derive(struct st_object *k, struct st_object *peer, const char *out_path)
{
    unsigned char pt[200];
    size_t ptlen = 0;
    if (EVP_PKEY_get_octet_string_param(st_object_pkey(peer), "encoded-pub-key", pt, sizeof(pt),
                                        &ptlen) != 1)
        return 2;
    CK_ECDH1_DERIVE_PARAMS p = {CKD_NULL, 0, NULL, (CK_ULONG)ptlen, pt};
    CK_MECHANISM m = {CKM_ECDH1_DERIVE, &p, sizeof(p)};
    CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
    CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
    CK_BBOOL no = CK_FALSE;
    CK_ATTRIBUTE t[] = {{CKA_CLASS, &cls, sizeof(cls)},
                        {CKA_KEY_TYPE, &kt, sizeof(kt)},
                        {CKA_SENSITIVE, &no, 1}};
    struct st_object *z = NULL;
    CK_RV rv = st_key_derive(&m, k, t, 3, &z);
    if (rv != CKR_OK) {
        fprintf(stderr, "st_xcheck derive: rv 0x%lx\n", rv);
        return 1;
    }
    int r = spit(out_path, st_object_secret(z)->data, st_object_secret(z)->len);
    st_object_unref(z);
    return r;
}

int main(int argc, char **argv)
{
    if (argc < 5 || st_init() != CKR_OK)
        return 2;
    int r = 2;
    if (strcmp(argv[1], "derive") == 0) {
        struct st_object *k = key_object(argv[2], true);
        struct st_object *peer = key_object(argv[3], false);
        if (k != NULL && peer != NULL)
            r = run_derive(k, peer, argv[4]);
        st_object_unref(k);
        st_object_unref(peer);
    } else if (argc == 6) {
        CK_MECHANISM m;
        bool priv = strcmp(argv[1], "sign") == 0 || strcmp(argv[1], "decrypt") == 0;
        struct st_object *k = key_object(argv[3], priv);
        if (mech_of(argv[2], &m) && k != NULL)
            r = run_op(argv[1], &m, k, argv[4], argv[5]);
        st_object_unref(k);
    }
    st_cleanup();
    return r;
}
