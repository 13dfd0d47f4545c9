/* SPDX-License-Identifier: Apache-2.0 */
/*
 * kr_maa: the AttestationInfo JSON has exactly the §d.3 field set and encodings (real TDX HCL
 * report, synthetic SNP one), the envelope opens with a known RSA key + AES-GCM and refuses
 * tampering, the x-ms-runtime binding check, os-release parsing, the release policy suggested
 * for SEV-SNP and TDX guest tokens.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "kr_jose.h"
#include "kr_maa.h"

static unsigned char *read_fixture(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/fixtures/azure/%s", SKR_SHARED_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(8192);
    assert_non_null(buf);
    *len = fread(buf, 1, 8192, f);
    fclose(f);
    return buf;
}

static void blob(struct kr_blob *b, const char *s)
{
    b->len = strlen(s);
    b->data = (unsigned char *)strdup(s);
}

static void assert_keys(const json_t *o, const char *const *keys)
{
    size_t n = 0;
    assert_true(json_is_object(o));
    for (; keys[n] != NULL; n++)
        assert_non_null(json_object_get(o, keys[n]));
    assert_int_equal(json_object_size(o), n);
}

/* Decode a standard-base64 string member and compare it with `want`. */
static void assert_b64(const json_t *o, const char *key, const void *want, size_t len)
{
    const char *s = json_string_value(json_object_get(o, key));
    assert_non_null(s);
    assert_null(strchr(s, '-'));
    assert_null(strchr(s, '_'));
    unsigned char *d = NULL;
    size_t dl = 0;
    assert_int_equal(kr_b64_decode(s, (size_t)-1, &d, &dl), KR_OK);
    assert_int_equal(dl, len);
    assert_memory_equal(d, want, len);
    free(d);
}

static void fill_tpm(struct kr_maa_evidence *ev)
{
    blob(&ev->ak_cert, "akcert");
    blob(&ev->ak_pub, "akpub");
    blob(&ev->quote, "quote");
    blob(&ev->quote_sig, "quotesig");
    blob(&ev->enc_pub, "encpub");
    blob(&ev->certify_info, "certinfo");
    blob(&ev->certify_sig, "certsig");
    ev->pcr_mask = 0x83; /* 0, 1, 7 */
    for (int i = 0; i < KR_VTPM_MAX_PCRS; i++)
        memset(ev->pcrs[i], i + 1, 32);
}

static json_t *info_json(const struct kr_maa_evidence *ev, const char *nonce)
{
    struct kr_maa_os os = {.distro = "Ubuntu", .major = 22, .minor = 4};
    char *text = NULL;
    assert_int_equal(kr_maa_attestation_info(ev, nonce, &os, &text), KR_OK);
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    free(text);
    return j;
}

static void check_common(const json_t *j, const struct kr_maa_evidence *ev)
{
    static const char *const top[] = {"AttestationProtocolVersion",
                                      "ClientPayload",
                                      "IsolationInfo",
                                      "OSBuild",
                                      "OSDistro",
                                      "OSType",
                                      "OSVersionMajor",
                                      "OSVersionMinor",
                                      "TcgLogs",
                                      "TpmInfo",
                                      NULL};
    static const char *const tpm[] = {"AikCert",
                                      "AikPub",
                                      "PcrQuote",
                                      "PcrSignature",
                                      "EncKeyPub",
                                      "EncKeyCertifyInfo",
                                      "EncKeyCertifyInfoSignature",
                                      "PcrSet",
                                      "PCRs",
                                      NULL};
    assert_keys(j, top);
    assert_string_equal(json_string_value(json_object_get(j, "AttestationProtocolVersion")), "2.0");
    assert_b64(j, "OSBuild", "NotApplication", 14);
    assert_b64(j, "OSDistro", "Ubuntu", 6);
    assert_b64(j, "OSType", "Linux", 5);
    assert_int_equal(json_integer_value(json_object_get(j, "OSVersionMajor")), 22);
    assert_int_equal(json_integer_value(json_object_get(j, "OSVersionMinor")), 4);
    assert_string_equal(json_string_value(json_object_get(j, "TcgLogs")), "");
    const json_t *t = json_object_get(j, "TpmInfo");
    assert_keys(t, tpm);
    assert_b64(t, "AikCert", "akcert", 6);
    assert_b64(t, "AikPub", "akpub", 5);
    assert_b64(t, "PcrQuote", "quote", 5);
    assert_b64(t, "PcrSignature", "quotesig", 8);
    assert_b64(t, "EncKeyPub", "encpub", 6);
    assert_b64(t, "EncKeyCertifyInfo", "certinfo", 8);
    assert_b64(t, "EncKeyCertifyInfoSignature", "certsig", 7);
    const json_t *set = json_object_get(t, "PcrSet");
    const json_t *pcrs = json_object_get(t, "PCRs");
    assert_int_equal(json_array_size(set), 3);
    assert_int_equal(json_array_size(pcrs), 3);
    static const int idx[] = {0, 1, 7};
    static const char *const pk[] = {"Index", "Digest", NULL};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(json_integer_value(json_array_get(set, i)), idx[i]);
        const json_t *p = json_array_get(pcrs, i);
        assert_keys(p, pk);
        assert_int_equal(json_integer_value(json_object_get(p, "Index")), idx[i]);
        assert_b64(p, "Digest", ev->pcrs[idx[i]], 32);
    }
}

static void test_info_tdx_real(void **state)
{
    (void)state;
    struct kr_maa_evidence ev;
    memset(&ev, 0, sizeof(ev));
    ev.hcl.data = read_fixture("snp_hcl_report.bin", &ev.hcl.len);
    assert_int_equal(kr_hcl_parse(ev.hcl.data, ev.hcl.len, &ev.report), KR_OK);
    blob(&ev.proof_extra, "TDQUOTE-BYTES");
    fill_tpm(&ev);
    json_t *j = info_json(&ev, "ADE0101");
    check_common(j, &ev);
    static const char *const cp[] = {"nonce", NULL};
    assert_keys(json_object_get(j, "ClientPayload"), cp);
    assert_b64(json_object_get(j, "ClientPayload"), "nonce", "ADE0101", 7);
    const json_t *iso = json_object_get(j, "IsolationInfo");
    static const char *const isok[] = {"Type", "Evidence", NULL};
    static const char *const evk[] = {"Proof", "RunTimeData", NULL};
    assert_keys(iso, isok);
    assert_string_equal(json_string_value(json_object_get(iso, "Type")), "Tdx");
    const json_t *e = json_object_get(iso, "Evidence");
    assert_keys(e, evk);
    assert_b64(e, "Proof", "TDQUOTE-BYTES", 13);
    assert_b64(e, "RunTimeData", ev.report.var_data, ev.report.var_len);
    json_decref(j);
    kr_maa_evidence_cleanup(&ev);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void test_info_snp(void **state)
{
    (void)state;
    static const char var[] = "{\"keys\":[]}";
    struct kr_maa_evidence ev;
    memset(&ev, 0, sizeof(ev));
    ev.hcl.len = 0x4D4 + sizeof(var) - 1;
    ev.hcl.data = calloc(1, ev.hcl.len);
    unsigned char *b = ev.hcl.data;
    memcpy(b, "HCLA", 4);
    put32(b + 4, 2);
    put32(b + 8, (uint32_t)ev.hcl.len);
    put32(b + 0x4C0, 20 + sizeof(var) - 1);
    put32(b + 0x4C4, 1);
    put32(b + 0x4C8, 2);
    put32(b + 0x4CC, 1);
    put32(b + 0x4D0, sizeof(var) - 1);
    memcpy(b + 0x4D4, var, sizeof(var) - 1);
    memset(b + 0x20 + 0x100, 0xAB, 16);
    assert_int_equal(kr_hcl_parse(b, ev.hcl.len, &ev.report), KR_OK);
    blob(&ev.proof_extra, "-----BEGIN CERTIFICATE-----\nVCEK\n-----END CERTIFICATE-----\n");
    fill_tpm(&ev);
    json_t *j = info_json(&ev, NULL);
    check_common(j, &ev);
    assert_int_equal(json_object_size(json_object_get(j, "ClientPayload")), 0);
    const json_t *iso = json_object_get(j, "IsolationInfo");
    assert_string_equal(json_string_value(json_object_get(iso, "Type")), "SevSnp");
    /* Proof = b64(JSON {"SnpReport": b64url(1184 B), "VcekCertChain": b64(PEM)}) */
    const char *proof =
            json_string_value(json_object_get(json_object_get(iso, "Evidence"), "Proof"));
    unsigned char *p = NULL;
    size_t pl = 0;
    assert_int_equal(kr_b64_decode(proof, (size_t)-1, &p, &pl), KR_OK);
    json_t *pj = json_loadb((const char *)p, pl, 0, NULL);
    static const char *const pk[] = {"SnpReport", "VcekCertChain", NULL};
    assert_keys(pj, pk);
    const char *rep = json_string_value(json_object_get(pj, "SnpReport"));
    assert_null(strchr(rep, '+'));
    assert_null(strchr(rep, '/'));
    unsigned char *r = NULL;
    size_t rl = 0;
    assert_int_equal(kr_b64_decode(rep, (size_t)-1, &r, &rl), KR_OK);
    assert_int_equal(rl, 1184);
    assert_memory_equal(r, b + 0x20, 1184);
    assert_b64(pj, "VcekCertChain", ev.proof_extra.data, ev.proof_extra.len);
    free(r);
    free(p);
    json_decref(pj);
    json_decref(j);
    kr_maa_evidence_cleanup(&ev);
}

/* ---- envelope ------------------------------------------------------------------------------ */

static EVP_PKEY *g_rsa;

static enum kr_err rsaes_openssl(void *arg, const unsigned char *in, size_t len,
                                 struct u_secbuf **out)
{
    (void)arg;
    unsigned char buf[512];
    size_t olen = sizeof(buf);
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(g_rsa, NULL);
    int ok = EVP_PKEY_decrypt_init(c) == 1 &&
             EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) == 1 &&
             EVP_PKEY_decrypt(c, buf, &olen, in, len) == 1;
    EVP_PKEY_CTX_free(c);
    if (!ok)
        return KR_ERR_TPM;
    *out = u_secbuf_dup(buf, olen);
    return KR_OK;
}

struct env_parts {
    const char *cipher;
    size_t key_len;
    bool bad_tag;
};

/* b64url(envelope JSON) of `jwt` encrypted as MAA does. */
static char *make_envelope(const char *jwt, const struct env_parts *p)
{
    unsigned char key[32], iv[12], tag[16], ct[4096], ek[256];
    int n = 0, f = 0;
    size_t eklen = sizeof(ek);
    RAND_bytes(key, sizeof(key));
    RAND_bytes(iv, sizeof(iv));
    const EVP_CIPHER *c = p->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    assert_true(EVP_EncryptInit_ex(x, c, NULL, key, iv) == 1);
    assert_true(EVP_EncryptUpdate(x, NULL, &n, (const unsigned char *)"Transport Key", 13) == 1);
    assert_true(EVP_EncryptUpdate(x, ct, &n, (const unsigned char *)jwt, (int)strlen(jwt)) == 1);
    assert_true(EVP_EncryptFinal_ex(x, ct + n, &f) == 1);
    assert_true(EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_GCM_GET_TAG, 16, tag) == 1);
    EVP_CIPHER_CTX_free(x);
    if (p->bad_tag)
        tag[3] ^= 1;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(g_rsa, NULL);
    assert_true(EVP_PKEY_encrypt_init(pc) == 1);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1);
    assert_true(EVP_PKEY_encrypt(pc, ek, &eklen, key, p->key_len) == 1);
    EVP_PKEY_CTX_free(pc);
    char *s_ek = kr_b64std_encode(ek, eklen), *s_iv = kr_b64std_encode(iv, sizeof(iv));
    char *s_tag = kr_b64std_encode(tag, 16), *s_ct = kr_b64std_encode(ct, (size_t)(n + f));
    json_t *env = json_pack("{s:s,s:{s:s,s:s,s:s,s:i,s:s},s:s,s:s}", "EncryptedInnerKey", s_ek,
                            "EncryptionParams", "BlockMode", "ChainingModeGCM", "BlockPadding",
                            "PKCS7", "Cipher", p->cipher, "KeySizeInBits", (int)(p->key_len * 8),
                            "Iv", s_iv, "AuthenticationData", s_tag, "Jwt", s_ct);
    char *text = json_dumps(env, JSON_COMPACT);
    char *out = kr_b64url_encode((const unsigned char *)text, strlen(text));
    free(text);
    json_decref(env);
    free(s_ek);
    free(s_iv);
    free(s_tag);
    free(s_ct);
    return out;
}

static void test_envelope(void **state)
{
    (void)state;
    static const char jwt[] = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln";
    g_rsa = EVP_RSA_gen(2048);
    assert_non_null(g_rsa);
    struct env_parts ok256 = {"AES", 32, false}, ok128 = {"AES", 16, false};
    struct env_parts badtag = {"AES", 32, true}, badciph = {"DES", 32, false};
    char *out = NULL;

    char *env = make_envelope(jwt, &ok256);
    assert_int_equal(kr_maa_envelope_open(env, rsaes_openssl, NULL, &out), KR_OK);
    assert_string_equal(out, jwt);
    free(out);
    free(env);
    env = make_envelope(jwt, &ok128);
    assert_int_equal(kr_maa_envelope_open(env, rsaes_openssl, NULL, &out), KR_OK);
    assert_string_equal(out, jwt);
    free(out);
    free(env);
    env = make_envelope(jwt, &badtag);
    assert_int_equal(kr_maa_envelope_open(env, rsaes_openssl, NULL, &out), KR_ERR_VERIFY);
    free(env);
    env = make_envelope(jwt, &badciph);
    assert_int_equal(kr_maa_envelope_open(env, rsaes_openssl, NULL, &out), KR_ERR_PARSE);
    free(env);
    assert_int_equal(kr_maa_envelope_open("!!!", rsaes_openssl, NULL, &out), KR_ERR_PARSE);
    assert_int_equal(kr_maa_envelope_open("e30", rsaes_openssl, NULL, &out), KR_ERR_PARSE);
    EVP_PKEY_free(g_rsa);
    g_rsa = NULL;
}

/* ---- runtime key binding ------------------------------------------------------------------ */

static json_t *claims_with(const char *where, const char *kid, const unsigned char *n)
{
    char *sn = kr_b64url_encode(n, 256);
    json_t *rt = json_pack("{s:[{s:s,s:s,s:s,s:s,s:[s]}]}", "keys", "kid", kid, "kty", "RSA", "e",
                           "AQAB", "n", sn, "key_ops", "encrypt");
    free(sn);
    json_t *c = json_object();
    if (strcmp(where, "top") == 0) {
        json_object_set_new(c, "x-ms-runtime", rt);
    } else {
        json_t *tee = json_object();
        json_object_set_new(tee, "x-ms-runtime", rt);
        json_object_set_new(c, "x-ms-isolation-tee", tee);
    }
    return c;
}

static void test_runtime_key(void **state)
{
    (void)state;
    unsigned char n[256], other[256];
    RAND_bytes(n, sizeof(n));
    n[0] |= 0x80;
    memcpy(other, n, sizeof(n));
    other[100] ^= 1;
    json_t *c = claims_with("top", "TpmEphemeralEncryptionKey", n);
    assert_int_equal(kr_maa_check_runtime_key(c, n, 256, 65537), KR_OK);
    assert_int_equal(kr_maa_check_runtime_key(c, n, 256, 0), KR_OK);
    assert_int_equal(kr_maa_check_runtime_key(c, other, 256, 65537), KR_ERR_VERIFY);
    assert_int_equal(kr_maa_check_runtime_key(c, n, 256, 3), KR_ERR_VERIFY);
    json_decref(c);
    c = claims_with("top", "HCLAkPub", n);
    assert_int_equal(kr_maa_check_runtime_key(c, n, 256, 65537), KR_ERR_VERIFY);
    json_decref(c);
    c = claims_with("tee", "TpmEphemeralEncryptionKey", n); /* only the nested one: refused */
    assert_int_equal(kr_maa_check_runtime_key(c, n, 256, 65537), KR_ERR_VERIFY);
    json_decref(c);
}

static void test_os_release(void **state)
{
    (void)state;
    char path[] = "/tmp/kr-osrel-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "PRETTY_NAME=\"Ubuntu 22.04.3 LTS\"\nNAME=\"Ubuntu\"\n"
                               "VERSION_ID=\"22.04\"\nID=ubuntu\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    struct kr_maa_os os;
    kr_maa_os_read(path, &os);
    unlink(path);
    assert_string_equal(os.distro, "Ubuntu");
    assert_int_equal(os.major, 22);
    assert_int_equal(os.minor, 4);
    kr_maa_os_read("/nonexistent/os-release", &os);
    assert_string_equal(os.distro, "Linux");
    struct kr_blob log;
    assert_int_equal(kr_maa_tcg_log_read("/nonexistent/log", &log), KR_OK);
    assert_int_equal(log.len, 0);
}

/* allOf[i] of the suggested policy is {"claim": claim, "equals": value}. */
static void assert_cond(const json_t *all, size_t i, const char *claim, const char *value)
{
    const json_t *c = json_array_get(all, i);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "claim")), claim);
    assert_string_equal(json_string_value(json_object_get(c, "equals")), value);
}

static json_t *suggest(const char *claims, bool measurement, const char *authority)
{
    char *out = NULL;
    assert_int_equal(kr_maa_policy_suggest(claims, authority, measurement, &out), KR_OK);
    json_t *p = json_loads(out, 0, NULL);
    free(out);
    assert_non_null(p);
    const json_t *auth = json_array_get(json_object_get(p, "anyOf"), 0);
    assert_string_equal(json_string_value(json_object_get(auth, "authority")), authority);
    return p;
}

static const json_t *all_of(const json_t *p)
{
    return json_object_get(json_array_get(json_object_get(p, "anyOf"), 0), "allOf");
}

static void test_policy_suggest(void **state)
{
    (void)state;
    static const char tdx[] =
            "{\"x-ms-attestation-type\":\"azurevm\",\"x-ms-isolation-tee\":{"
            "\"x-ms-attestation-type\":\"tdxvm\",\"x-ms-compliance-status\":"
            "\"azure-compliant-cvm\",\"tdx_mrtd\":\"88aa\",\"tdx_td_attributes_debug\":false}}";
    static const char snp[] =
            "{\"x-ms-attestation-type\":\"azurevm\",\"x-ms-isolation-tee\":{"
            "\"x-ms-attestation-type\":\"sevsnpvm\",\"x-ms-compliance-status\":"
            "\"azure-compliant-cvm\",\"x-ms-sevsnpvm-launchmeasurement\":\"77bb\"}}";
    static const char tdx_no_mrtd[] =
            "{\"x-ms-isolation-tee\":{\"x-ms-attestation-type\":\"tdxvm\","
            "\"x-ms-compliance-status\":\"azure-compliant-cvm\"}}";
    const char *maa = "https://maa.example";

    json_t *p = suggest(tdx, true, maa);
    assert_int_equal(json_array_size(all_of(p)), 3);
    assert_cond(all_of(p), 0, "x-ms-isolation-tee.x-ms-attestation-type", "tdxvm");
    assert_cond(all_of(p), 1, "x-ms-isolation-tee.x-ms-compliance-status", "azure-compliant-cvm");
    assert_cond(all_of(p), 2, "x-ms-isolation-tee.tdx_mrtd", "88aa");
    json_decref(p);
    p = suggest(tdx, false, maa);
    assert_int_equal(json_array_size(all_of(p)), 2);
    json_decref(p);
    p = suggest(snp, true, maa);
    assert_cond(all_of(p), 0, "x-ms-isolation-tee.x-ms-attestation-type", "sevsnpvm");
    assert_cond(all_of(p), 2, "x-ms-isolation-tee.x-ms-sevsnpvm-launchmeasurement", "77bb");
    json_decref(p);
    char *out = NULL;
    assert_int_equal(kr_maa_policy_suggest(tdx_no_mrtd, maa, true, &out), KR_ERR_PARSE);
    assert_null(out);
    p = suggest(tdx_no_mrtd, false, maa);
    json_decref(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_info_tdx_real), cmocka_unit_test(test_info_snp),
            cmocka_unit_test(test_envelope),      cmocka_unit_test(test_runtime_key),
            cmocka_unit_test(test_os_release),    cmocka_unit_test(test_policy_suggest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
