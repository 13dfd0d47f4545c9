/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `source = file`: keys from local files, for tests and development only (compiled with
 * SKR_TEST_KEYSOURCE; the release build leaves it out). Per [key]:
 *   file      PKCS#8 private key (PEM "PRIVATE KEY" or DER), a SubjectPublicKeyInfo (PEM
 *             "PUBLIC KEY": public key only), or raw secret bytes when key-type is set (or the
 *             file is not PKCS#8: AES for 16/24/32 bytes, else generic secret);
 *   cert-file X.509 certificate, PEM or DER.
 * PEM is decoded here (no OpenSSL outside softtoken/); the decoded key bytes live in a u_secbuf
 * and are wiped after import.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mod_internal.h"
#include "mod_keysource.h"
#include "u_macros.h"
#include "u_secmem.h"

#define FILE_MAX (1024 * 1024)

static CK_RV read_file(const char *path, struct u_secbuf **out, const char **why)
{
    FILE *f = fopen(path, "rb");
    struct u_secbuf *b = NULL;
    size_t n;
    CK_RV rv = CKR_DEVICE_ERROR;

    *why = "cannot open file";
    if (f == NULL)
        return rv;
    b = u_secbuf_new(FILE_MAX + 1);
    *why = "out of memory";
    if (b == NULL) {
        rv = CKR_HOST_MEMORY;
        goto out;
    }
    n = fread(b->data, 1, FILE_MAX + 1, f);
    *why = n > FILE_MAX ? "file larger than 1 MiB" : "read error or empty file";
    if (ferror(f) || n == 0 || n > FILE_MAX)
        goto out;
    b->len = n;
    *out = b;
    b = NULL;
    rv = CKR_OK;
out:
    u_secbuf_free(b);
    fclose(f);
    return rv;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Decode base64 in place from p[0..n) into out (room ≥ n); whitespace skipped, '=' ends. */
static bool b64_decode(const unsigned char *p, size_t n, unsigned char *out, size_t *outlen)
{
    unsigned acc = 0;
    int bits = 0, v;
    size_t i, o = 0;

    for (i = 0; i < n && p[i] != '='; i++) {
        if (p[i] == '\n' || p[i] == '\r' || p[i] == ' ' || p[i] == '\t')
            continue;
        v = b64val(p[i]);
        if (v < 0)
            return false;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    *outlen = o;
    return o > 0;
}

/*
 * If `b` is PEM, replace its content by the DER of the first block and return its label in
 * `label` (e.g. "PRIVATE KEY"); DER input is left alone with label "". false: broken PEM.
 */
static bool pem_to_der(struct u_secbuf *b, char *label, size_t lsize)
{
    static const char begin[] = "-----BEGIN ";
    char *s = (char *)b->data, *lend, *body, *end;
    size_t llen, outlen = 0;

    label[0] = '\0';
    if (b->len < sizeof(begin) || memcmp(s, begin, sizeof(begin) - 1) != 0)
        return true;
    s[b->len < FILE_MAX ? b->len : FILE_MAX] = '\0';
    lend = strstr(s + sizeof(begin) - 1, "-----");
    if (lend == NULL)
        return false;
    llen = (size_t)(lend - (s + sizeof(begin) - 1));
    if (llen >= lsize)
        return false;
    memcpy(label, s + sizeof(begin) - 1, llen);
    label[llen] = '\0';
    body = lend + 5;
    end = strstr(body, "-----END ");
    if (end == NULL)
        return false;
    if (!b64_decode((unsigned char *)body, (size_t)(end - body), b->data, &outlen))
        return false;
    u_memzero(b->data + outlen, b->len - outlen);
    b->len = outlen;
    return true;
}

static CK_RV add_all(struct mod_keysink *sink, struct st_object *a, struct st_object *b)
{
    CK_RV rv = mod_keysink_add(sink, a);

    if (b == NULL)
        return rv;
    if (rv != CKR_OK) {
        st_object_unref(b);
        return rv;
    }
    return mod_keysink_add(sink, b);
}

static CK_RV import_key(struct mod_keysink *sink, const struct cfg_key *k, struct u_secbuf *b,
                        const char *label, const char **why)
{
    struct st_key_meta m;
    struct st_object *priv = NULL, *pub = NULL;
    CK_RV rv;

    mod_keysink_key_meta(sink, k, &m);
    *why = "unsupported PEM block (need PRIVATE KEY, i.e. PKCS#8: openssl pkcs8 -topk8 -nocrypt)";
    if (k->key_type == NULL && strcmp(label, "PUBLIC KEY") == 0) {
        *why = "bad SubjectPublicKeyInfo";
        rv = st_import_public_spki(b->data, b->len, &m, &pub);
        return rv == CKR_OK ? mod_keysink_add(sink, pub) : rv;
    }
    if (label[0] != '\0' && strcmp(label, "PRIVATE KEY") != 0)
        return CKR_DEVICE_ERROR;
    *why = "bad PKCS#8 private key";
    if (k->key_type == NULL) {
        rv = st_import_private_pkcs8(b->data, b->len, &m, &priv, &pub);
        if (rv == CKR_OK || label[0] != '\0')
            return rv == CKR_OK ? add_all(sink, priv, pub) : rv;
        if (b->len != 16 && b->len != 24 && b->len != 32)
            m.secret_type = CKK_GENERIC_SECRET;
    }
    *why = "bad secret key (AES needs 16, 24 or 32 bytes)";
    rv = st_import_secret(b->data, b->len, &m, &priv);
    return rv == CKR_OK ? mod_keysink_add(sink, priv) : rv;
}

static CK_RV import_cert(struct mod_keysink *sink, const struct cfg_key *k, const char **why)
{
    struct u_secbuf *b = NULL;
    struct st_key_meta m;
    struct st_object *cert = NULL;
    char label[64];
    CK_RV rv = read_file(k->cert_file, &b, why);

    if (rv != CKR_OK)
        return rv;
    rv = CKR_DEVICE_ERROR;
    *why = "cert-file: bad PEM (need CERTIFICATE)";
    if (!pem_to_der(b, label, sizeof(label)) ||
        (label[0] != '\0' && strcmp(label, "CERTIFICATE") != 0))
        goto out;
    mod_keysink_key_meta(sink, k, &m);
    *why = "cert-file: bad X.509 certificate";
    rv = st_import_certificate(b->data, b->len, &m, &cert);
    if (rv == CKR_OK)
        rv = mod_keysink_add(sink, cert);
out:
    u_secbuf_free(b);
    return rv;
}

static void load_key(struct mod_keysink *sink, const struct cfg_key *k)
{
    struct u_secbuf *b = NULL;
    const char *why = "no `file =` for source = file";
    char label[64];
    CK_RV rv = CKR_DEVICE_ERROR;

    if (k->file == NULL)
        goto out;
    rv = read_file(k->file, &b, &why);
    if (rv != CKR_OK)
        goto out;
    rv = CKR_DEVICE_ERROR;
    why = "bad PEM";
    if (k->key_type == NULL && !pem_to_der(b, label, sizeof(label)))
        goto out;
    if (k->key_type != NULL)
        label[0] = '\0';
    rv = import_key(sink, k, b, label, &why);
    if (rv == CKR_OK && k->cert_file != NULL)
        rv = import_cert(sink, k, &why);
out:
    u_secbuf_free(b);
    if (rv != CKR_OK)
        mod_keysink_fail(sink, k, rv == CKR_HOST_MEMORY ? rv : CKR_DEVICE_ERROR, why);
}

static CK_RV load(const struct cfg *cfg, struct mod_keysink *const *sinks, size_t n)
{
    size_t i, j;

    (void)cfg;
    for (i = 0; i < n; i++) {
        const struct cfg_token *tok = mod_keysink_token(sinks[i]);

        for (j = 0; j < tok->nkeys; j++)
            load_key(sinks[i], tok->keys[j]);
    }
    return CKR_OK;
}

const struct mod_keysource_ops mod_ks_file = {
        .name = "file",
        .source = CFG_SOURCE_FILE,
        .load = load,
};
