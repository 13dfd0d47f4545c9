/* SPDX-License-Identifier: Apache-2.0 */
/* MAA AzureGuest: AttestationInfo, IMDS THIM / TD quote, POST, envelope (AZURE-SKR.md §d.3). */
#define _GNU_SOURCE
#include "kr_maa.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kr_attest.h"
#include "kr_http.h"
#include "kr_jose.h"
#include "u_log.h"

#define TCG_LOG_PATH "/sys/kernel/security/tpm0/binary_bios_measurements"
#define TCG_LOG_MAX  (1024 * 1024)
#define GCM_AAD      "Transport Key"
#define GCM_TAG_LEN  16

void kr_maa_evidence_cleanup(struct kr_maa_evidence *ev)
{
    if (ev == NULL)
        return;
    struct kr_blob *blobs[] = {&ev->hcl,         &ev->proof_extra, &ev->ak_cert, &ev->ak_pub,
                               &ev->quote,       &ev->quote_sig,   &ev->enc_pub, &ev->certify_info,
                               &ev->certify_sig, &ev->tcg_log};
    for (size_t i = 0; i < sizeof(blobs) / sizeof(blobs[0]); i++)
        kr_blob_clear(blobs[i]);
    memset(ev, 0, sizeof(*ev));
}

/* ---- OS info and event log ----------------------------------------------------------------- */

static void os_value(const char *line, char *out, size_t outlen)
{
    const char *v = strchr(line, '=') + 1;
    size_t n = strcspn(v, "\r\n");
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        v++;
        n -= 2;
    }
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

void kr_maa_os_read(const char *path, struct kr_maa_os *os)
{
    char line[256], version[64] = "";
    memset(os, 0, sizeof(*os));
    snprintf(os->distro, sizeof(os->distro), "Linux");
    FILE *f = fopen(path != NULL ? path : "/etc/os-release", "r");
    if (f == NULL)
        return;
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "NAME=", 5) == 0)
            os_value(line, os->distro, sizeof(os->distro));
        else if (strncmp(line, "VERSION_ID=", 11) == 0)
            os_value(line, version, sizeof(version));
    }
    fclose(f);
    char *end = NULL;
    long major = strtol(version, &end, 10);
    long minor = (end != NULL && *end == '.') ? strtol(end + 1, NULL, 10) : 0;
    os->major = (major >= 0 && major < 100000) ? (int)major : 0;
    os->minor = (minor >= 0 && minor < 100000) ? (int)minor : 0;
}

enum kr_err kr_maa_tcg_log_read(const char *path, struct kr_blob *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path != NULL ? path : TCG_LOG_PATH, "rb");
    if (f == NULL)
        return KR_OK; /* not readable (no securityfs, no root): send an empty log */
    unsigned char *buf = malloc(TCG_LOG_MAX);
    if (buf == NULL) {
        fclose(f);
        return KR_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, TCG_LOG_MAX, f);
    fclose(f);
    out->data = buf;
    out->len = n;
    return KR_OK;
}

/* ---- AttestationInfo ----------------------------------------------------------------------- */

/* obj[key] = b64(p[0..n)); false on OOM. */
static bool set_b64(json_t *obj, const char *key, const void *p, size_t n)
{
    char *s = kr_b64std_encode(p, n);
    if (s == NULL)
        return false;
    int r = json_object_set_new(obj, key, json_string(s));
    free(s);
    return r == 0;
}

static bool set_b64_str(json_t *obj, const char *key, const char *s)
{
    return set_b64(obj, key, s, strlen(s));
}

/* SNP: b64(JSON {"SnpReport": b64url(report), "VcekCertChain": b64(PEM chain)}); TDX: b64(quote).
 */
static bool set_proof(json_t *evidence, const struct kr_maa_evidence *ev)
{
    if (ev->report.type == KR_HCL_TYPE_TDX)
        return set_b64(evidence, "Proof", ev->proof_extra.data, ev->proof_extra.len);
    bool ok = false;
    char *text = NULL;
    char *report = kr_b64url_encode(ev->report.hw, ev->report.hw_len);
    json_t *proof = json_object();
    if (report == NULL || proof == NULL ||
        json_object_set_new(proof, "SnpReport", json_string(report)) != 0 ||
        !set_b64(proof, "VcekCertChain", ev->proof_extra.data, ev->proof_extra.len))
        goto out;
    text = json_dumps(proof, JSON_COMPACT | JSON_SORT_KEYS);
    ok = text != NULL && set_b64_str(evidence, "Proof", text);
out:
    free(text);
    free(report);
    json_decref(proof);
    return ok;
}

static json_t *isolation_info(const struct kr_maa_evidence *ev)
{
    json_t *iso = json_object();
    json_t *evidence = json_object();
    if (iso == NULL || evidence == NULL || !set_proof(evidence, ev) ||
        !set_b64(evidence, "RunTimeData", ev->report.var_data, ev->report.var_len) ||
        json_object_set_new(iso, "Type", json_string(kr_hcl_isolation_type(&ev->report))) != 0 ||
        json_object_set(iso, "Evidence", evidence) != 0) {
        json_decref(iso);
        iso = NULL;
    }
    json_decref(evidence);
    return iso;
}

static json_t *pcr_list(const struct kr_maa_evidence *ev, json_t **set_out)
{
    json_t *pcrs = json_array();
    json_t *set = json_array();
    for (unsigned i = 0; pcrs != NULL && set != NULL && i < KR_VTPM_MAX_PCRS; i++) {
        if (!(ev->pcr_mask & (1u << i)))
            continue;
        json_t *e = json_object();
        if (e == NULL || json_object_set_new(e, "Index", json_integer(i)) != 0 ||
            !set_b64(e, "Digest", ev->pcrs[i], 32) || json_array_append_new(pcrs, e) != 0 ||
            json_array_append_new(set, json_integer(i)) != 0) {
            json_decref(e);
            json_decref(pcrs);
            pcrs = NULL;
        }
    }
    if (pcrs == NULL || set == NULL) {
        json_decref(pcrs);
        json_decref(set);
        return NULL;
    }
    *set_out = set;
    return pcrs;
}

static json_t *tpm_info(const struct kr_maa_evidence *ev)
{
    json_t *set = NULL;
    json_t *pcrs = pcr_list(ev, &set);
    json_t *t = json_object();
    if (pcrs == NULL || t == NULL || !set_b64(t, "AikCert", ev->ak_cert.data, ev->ak_cert.len) ||
        !set_b64(t, "AikPub", ev->ak_pub.data, ev->ak_pub.len) ||
        !set_b64(t, "PcrQuote", ev->quote.data, ev->quote.len) ||
        !set_b64(t, "PcrSignature", ev->quote_sig.data, ev->quote_sig.len) ||
        !set_b64(t, "EncKeyPub", ev->enc_pub.data, ev->enc_pub.len) ||
        !set_b64(t, "EncKeyCertifyInfo", ev->certify_info.data, ev->certify_info.len) ||
        !set_b64(t, "EncKeyCertifyInfoSignature", ev->certify_sig.data, ev->certify_sig.len) ||
        json_object_set(t, "PcrSet", set) != 0 || json_object_set(t, "PCRs", pcrs) != 0) {
        json_decref(t);
        t = NULL;
    }
    json_decref(set);
    json_decref(pcrs);
    return t;
}

static json_t *client_payload(const char *nonce)
{
    json_t *cp = json_object();
    if (cp != NULL && nonce != NULL && !set_b64_str(cp, "nonce", nonce)) {
        json_decref(cp);
        return NULL;
    }
    return cp;
}

enum kr_err kr_maa_attestation_info(const struct kr_maa_evidence *ev, const char *nonce,
                                    const struct kr_maa_os *os, char **out)
{
    if (ev == NULL || os == NULL || out == NULL || ev->report.hw == NULL)
        return KR_ERR_INVALID;
    enum kr_err err = KR_ERR_NOMEM;
    json_t *root = json_object();
    json_t *iso = isolation_info(ev);
    json_t *tpm = tpm_info(ev);
    json_t *cp = client_payload(nonce);
    if (root == NULL || iso == NULL || tpm == NULL || cp == NULL)
        goto out;
    if (json_object_set_new(root, "AttestationProtocolVersion", json_string("2.0")) != 0 ||
        json_object_set(root, "ClientPayload", cp) != 0 ||
        json_object_set(root, "IsolationInfo", iso) != 0 ||
        !set_b64_str(root, "OSBuild", "NotApplication") ||
        !set_b64_str(root, "OSDistro", os->distro) || !set_b64_str(root, "OSType", "Linux") ||
        json_object_set_new(root, "OSVersionMajor", json_integer(os->major)) != 0 ||
        json_object_set_new(root, "OSVersionMinor", json_integer(os->minor)) != 0 ||
        !set_b64(root, "TcgLogs", ev->tcg_log.data, ev->tcg_log.len) ||
        json_object_set(root, "TpmInfo", tpm) != 0)
        goto out;
    *out = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    err = *out != NULL ? KR_OK : KR_ERR_NOMEM;
out:
    json_decref(root);
    json_decref(iso);
    json_decref(tpm);
    json_decref(cp);
    return err;
}

/* ---- IMDS ---------------------------------------------------------------------------------- */

/* "<base without trailing slashes><path>", malloc'd. */
static char *join_url(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    size_t len = n + strlen(path) + 1;
    char *url = malloc(len);
    if (url != NULL)
        snprintf(url, len, "%.*s%s", (int)n, base, path);
    return url;
}

static enum kr_err get_json(const struct kr_http_resp *resp, enum kr_stage stage, const char *what,
                            json_t **out)
{
    *out = json_loadb(resp->body != NULL ? resp->body : "", resp->body_len, 0, NULL);
    if (*out == NULL || !json_is_object(*out)) {
        U_LOG_ERR("kr", "%s: %s: response is not a JSON object (x-ms-request-id %s)",
                  kr_stage_name(stage), what, resp->request_id);
        json_decref(*out);
        *out = NULL;
        return KR_ERR_PARSE;
    }
    return KR_OK;
}

static enum kr_err thim_chain(const json_t *j, struct kr_blob *chain)
{
    const char *vcek = json_string_value(json_object_get(j, "vcekCert"));
    const char *rest = json_string_value(json_object_get(j, "certificateChain"));
    if (vcek == NULL || rest == NULL) {
        U_LOG_ERR("kr", "evidence: THIM response lacks vcekCert/certificateChain");
        return KR_ERR_PARSE;
    }
    size_t a = strlen(vcek), b = strlen(rest);
    chain->data = malloc(a + b + 1);
    if (chain->data == NULL)
        return KR_ERR_NOMEM;
    memcpy(chain->data, vcek, a);
    memcpy(chain->data + a, rest, b + 1);
    chain->len = a + b;
    return KR_OK;
}

enum kr_err kr_maa_thim_fetch(struct kr_http *http, const char *imds, struct kr_blob *chain)
{
    static const char *const headers[] = {"Metadata: true", NULL};
    struct kr_http_resp resp = {0};
    json_t *j = NULL;
    char *url = join_url(imds, "/metadata/THIM/amd/certification");
    if (url == NULL)
        return KR_ERR_NOMEM;
    struct kr_http_req req = {.stage = KR_STAGE_EVIDENCE,
                              .method = "GET",
                              .url = url,
                              .headers = headers,
                              .no_proxy = true};
    enum kr_err err = kr_http_request(http, &req, &resp);
    if (err == KR_OK)
        err = get_json(&resp, KR_STAGE_EVIDENCE, "THIM", &j);
    if (err == KR_OK)
        err = thim_chain(j, chain);
    json_decref(j);
    kr_http_resp_cleanup(&resp);
    free(url);
    return err;
}

static enum kr_err tdquote_decode(const json_t *j, struct kr_blob *quote)
{
    const char *q = json_string_value(json_object_get(j, "quote"));
    if (q == NULL || kr_b64_decode(q, (size_t)-1, &quote->data, &quote->len) != KR_OK) {
        U_LOG_ERR("kr", "evidence: /acc/tdquote response has no valid \"quote\"");
        return KR_ERR_PARSE;
    }
    return KR_OK;
}

/* POST {"<field>": base64url(data)} to base + path and parse the JSON answer into *j; resp is the
 * caller's (for its request id), cleaned by the caller. */
static enum kr_err post_b64_field(struct kr_http *http, const char *base, const char *path,
                                  const char *const *headers, bool no_proxy, enum kr_stage stage,
                                  const char *what, const char *field, const unsigned char *data,
                                  size_t len, struct kr_http_resp *resp, json_t **j)
{
    char *body = NULL;
    char *b64 = kr_b64url_encode(data, len);
    char *url = join_url(base, path);
    json_t *req_body = b64 != NULL ? json_pack("{s:s}", field, b64) : NULL;
    enum kr_err err = KR_ERR_NOMEM;
    if (url == NULL || req_body == NULL)
        goto out;
    body = json_dumps(req_body, JSON_COMPACT);
    if (body == NULL)
        goto out;
    struct kr_http_req req = {.stage = stage,
                              .method = "POST",
                              .url = url,
                              .headers = headers,
                              .body = body,
                              .body_len = strlen(body),
                              .no_proxy = no_proxy};
    err = kr_http_request(http, &req, resp);
    if (err == KR_OK)
        err = get_json(resp, stage, what, j);
out:
    json_decref(req_body);
    free(body);
    free(b64);
    free(url);
    return err;
}

enum kr_err kr_maa_tdquote_fetch(struct kr_http *http, const char *imds, const unsigned char *td,
                                 size_t td_len, struct kr_blob *quote)
{
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    struct kr_http_resp resp = {0};
    json_t *j = NULL;
    enum kr_err err = post_b64_field(http, imds, "/acc/tdquote", headers, true, KR_STAGE_EVIDENCE,
                                     "TD quote", "report", td, td_len, &resp, &j);
    if (err == KR_OK)
        err = tdquote_decode(j, quote);
    json_decref(j);
    kr_http_resp_cleanup(&resp);
    return err;
}

/* ---- MAA ----------------------------------------------------------------------------------- */

enum kr_err kr_maa_attest_post(struct kr_http *http, const char *maa, const char *info,
                               char **token_out)
{
    static const char *const headers[] = {"Content-Type: application/json",
                                          "Accept: application/json", NULL};
    struct kr_http_resp resp = {0};
    json_t *j = NULL;
    enum kr_err err =
            post_b64_field(http, maa, "/attest/AzureGuest?api-version=2020-10-01", headers, false,
                           KR_STAGE_ATTEST, "MAA AzureGuest", "AttestationInfo",
                           (const unsigned char *)info, strlen(info), &resp, &j);
    if (err == KR_OK) {
        const char *tok = json_string_value(json_object_get(j, "token"));
        *token_out = tok != NULL ? strdup(tok) : NULL;
        err = tok == NULL ? KR_ERR_PARSE : (*token_out == NULL ? KR_ERR_NOMEM : KR_OK);
        if (tok == NULL)
            U_LOG_ERR("kr", "attest: MAA response has no \"token\" (x-ms-request-id %s)",
                      resp.request_id);
    }
    json_decref(j);
    kr_http_resp_cleanup(&resp);
    return err;
}

/* ---- envelope ------------------------------------------------------------------------------ */

struct envelope {
    unsigned char *inner, *iv, *tag, *jwt;
    size_t inner_len, iv_len, tag_len, jwt_len;
};

static void envelope_cleanup(struct envelope *e)
{
    free(e->inner);
    free(e->iv);
    free(e->tag);
    free(e->jwt);
    memset(e, 0, sizeof(*e));
}

static enum kr_err env_fail(const char *why)
{
    U_LOG_ERR("kr", "attest: MAA envelope: %s", why);
    return KR_ERR_PARSE;
}

static bool b64_field(const json_t *o, const char *key, unsigned char **out, size_t *len)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL && kr_b64_decode(s, (size_t)-1, out, len) == KR_OK;
}

static enum kr_err envelope_parse(const json_t *env, struct envelope *e)
{
    const json_t *p = json_object_get(env, "EncryptionParams");
    const char *mode = json_string_value(json_object_get(p, "BlockMode"));
    const char *pad = json_string_value(json_object_get(p, "BlockPadding"));
    const char *cipher = json_string_value(json_object_get(p, "Cipher"));
    json_int_t bits = json_integer_value(json_object_get(p, "KeySizeInBits"));
    if (!json_is_object(p) || mode == NULL || strcmp(mode, "ChainingModeGCM") != 0 || pad == NULL ||
        strcmp(pad, "PKCS7") != 0 || cipher == NULL || strcmp(cipher, "AES") != 0)
        return env_fail("EncryptionParams is not AES/ChainingModeGCM/PKCS7");
    if (bits <= 0)
        return env_fail("KeySizeInBits missing or zero");
    if (!b64_field(p, "Iv", &e->iv, &e->iv_len) || e->iv_len == 0)
        return env_fail("Iv missing or not base64");
    if (!b64_field(env, "EncryptedInnerKey", &e->inner, &e->inner_len) ||
        !b64_field(env, "AuthenticationData", &e->tag, &e->tag_len) ||
        !b64_field(env, "Jwt", &e->jwt, &e->jwt_len))
        return env_fail("EncryptedInnerKey/AuthenticationData/Jwt missing or not base64");
    if (e->tag_len != GCM_TAG_LEN)
        return env_fail("AuthenticationData is not a 16-byte GCM tag");
    return KR_OK;
}

static const EVP_CIPHER *gcm_cipher(size_t key_len)
{
    switch (key_len) {
    case 16:
        return EVP_aes_128_gcm();
    case 24:
        return EVP_aes_192_gcm();
    case 32:
        return EVP_aes_256_gcm();
    default:
        return NULL;
    }
}

static enum kr_err gcm_open(const struct envelope *e, const struct u_secbuf *key, char **jwt_out)
{
    const EVP_CIPHER *c = gcm_cipher(key->len);
    if (c == NULL)
        return env_fail("inner key is not 16, 24 or 32 bytes");
    enum kr_err err = KR_ERR_NOMEM;
    int n = 0, fin = 0;
    char *pt = malloc(e->jwt_len + 1);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (pt == NULL || ctx == NULL)
        goto out;
    err = KR_ERR_VERIFY;
    if (EVP_DecryptInit_ex(ctx, c, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)e->iv_len, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key->data, e->iv) != 1 ||
        EVP_DecryptUpdate(ctx, NULL, &n, (const unsigned char *)GCM_AAD, 13) != 1 ||
        EVP_DecryptUpdate(ctx, (unsigned char *)pt, &n, e->jwt, (int)e->jwt_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, e->tag) != 1 ||
        EVP_DecryptFinal_ex(ctx, (unsigned char *)pt + n, &fin) != 1) {
        U_LOG_ERR("kr", "attest: MAA envelope: AES-GCM authentication failed");
        goto out;
    }
    pt[n + fin] = '\0';
    *jwt_out = pt;
    pt = NULL;
    err = KR_OK;
out:
    free(pt);
    EVP_CIPHER_CTX_free(ctx);
    return err;
}

enum kr_err kr_maa_envelope_open(const char *token, kr_maa_rsaes_fn rsaes, void *arg,
                                 char **jwt_out)
{
    if (token == NULL || rsaes == NULL || jwt_out == NULL)
        return KR_ERR_INVALID;
    struct envelope e;
    struct u_secbuf *key = NULL;
    unsigned char *raw = NULL;
    size_t raw_len = 0;
    json_t *env = NULL;
    enum kr_err err;

    memset(&e, 0, sizeof(e));
    if (kr_b64_decode(token, (size_t)-1, &raw, &raw_len) != KR_OK) {
        err = env_fail("token is not base64url");
        goto out;
    }
    env = json_loadb((const char *)raw, raw_len, 0, NULL);
    if (!json_is_object(env)) {
        err = env_fail("not a JSON object");
        goto out;
    }
    err = envelope_parse(env, &e);
    if (err != KR_OK)
        goto out;
    err = rsaes(arg, e.inner, e.inner_len, &key);
    if (err != KR_OK)
        goto out;
    err = gcm_open(&e, key, jwt_out);
out:
    u_secbuf_free(key);
    envelope_cleanup(&e);
    json_decref(env);
    free(raw);
    return err;
}

/* ---- runtime key binding ------------------------------------------------------------------ */

/* Decode a base64url big-endian integer and strip leading zero bytes. */
static bool jwk_uint(const json_t *jwk, const char *name, unsigned char **out, size_t *len,
                     size_t *skip)
{
    const char *s = json_string_value(json_object_get(jwk, name));
    if (s == NULL || kr_b64_decode(s, (size_t)-1, out, len) != KR_OK)
        return false;
    *skip = 0;
    while (*skip < *len && (*out)[*skip] == 0)
        (*skip)++;
    return true;
}

static bool runtime_key_matches(const json_t *jwk, const unsigned char *mod, size_t mod_len,
                                uint32_t exponent)
{
    unsigned char *n = NULL, *e = NULL;
    size_t nlen = 0, elen = 0, nskip = 0, eskip = 0;
    bool ok = false;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    if (kty == NULL || strncmp(kty, "RSA", 3) != 0 || !jwk_uint(jwk, "n", &n, &nlen, &nskip) ||
        !jwk_uint(jwk, "e", &e, &elen, &eskip) || elen - eskip > 4)
        goto out;
    while (mod_len > 0 && mod[0] == 0) {
        mod++;
        mod_len--;
    }
    uint32_t ev = 0;
    for (size_t i = eskip; i < elen; i++)
        ev = ev << 8 | e[i];
    ok = nlen - nskip == mod_len && memcmp(n + nskip, mod, mod_len) == 0 &&
         ev == (exponent != 0 ? exponent : 65537u);
out:
    free(n);
    free(e);
    return ok;
}

enum kr_err kr_maa_check_runtime_key(const json_t *claims, const unsigned char *modulus,
                                     size_t mod_len, uint32_t exponent)
{
    const json_t *keys = json_object_get(json_object_get(claims, "x-ms-runtime"), "keys");
    size_t i;
    const json_t *jwk;
    json_array_foreach(keys, i, jwk)
    {
        const char *kid = json_string_value(json_object_get(jwk, "kid"));
        if (kid != NULL && strcmp(kid, KR_EPHEMERAL_KID) == 0 &&
            runtime_key_matches(jwk, modulus, mod_len, exponent))
            return KR_OK;
    }
    U_LOG_ERR("kr",
              "token-verify: the token's x-ms-runtime.keys has no %s equal to the "
              "ephemeral TPM key",
              KR_EPHEMERAL_KID);
    return KR_ERR_VERIFY;
}

/* ---- release policy suggestion -------------------------------------------------------------- */

/* Append {"claim": "<prefix><name>", "equals": <string form of the claim>} if present. */
static bool policy_claim(json_t *all, const json_t *scope, const char *prefix, const char *name)
{
    const json_t *v = json_object_get(scope, name);
    char path[160], num[32];
    const char *text = NULL;
    if (json_is_string(v)) {
        text = json_string_value(v);
    } else if (json_is_boolean(v)) {
        text = json_is_true(v) ? "true" : "false"; /* AKV compares string forms (§g) */
    } else if (json_is_integer(v)) {
        snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
        text = num;
    }
    if (text == NULL) {
        U_LOG_ERR("kr", "policy: the token has no claim %s%s", prefix, name);
        return false;
    }
    snprintf(path, sizeof(path), "%s%s", prefix, name);
    return json_array_append_new(all, json_pack("{s:s,s:s}", "claim", path, "equals", text)) == 0;
}

enum kr_err kr_maa_policy_suggest(const char *claims_json, const char *authority, bool measurement,
                                  char **out)
{
    json_t *claims = json_loads(claims_json, 0, NULL);
    json_t *all = json_array();
    json_t *policy = NULL;
    enum kr_err err = KR_ERR_PARSE;
    if (claims == NULL || all == NULL || authority == NULL)
        goto out;
    const json_t *tee = json_object_get(claims, "x-ms-isolation-tee");
    const json_t *scope = json_is_object(tee) ? tee : claims; /* AzureGuest vs SevSnpVm */
    const char *prefix = json_is_object(tee) ? "x-ms-isolation-tee." : "";
    const char *type = json_string_value(json_object_get(scope, "x-ms-attestation-type"));
    /* the launch measurement: SNP MEASUREMENT, or TDX MRTD (the paravisor's initial image) */
    const char *launch = (type != NULL && strcmp(type, "tdxvm") == 0)
                                 ? "tdx_mrtd"
                                 : "x-ms-sevsnpvm-launchmeasurement";
    if (!policy_claim(all, scope, prefix, "x-ms-attestation-type") ||
        !policy_claim(all, scope, prefix, "x-ms-compliance-status") ||
        (measurement && !policy_claim(all, scope, prefix, launch)))
        goto out;
    err = KR_ERR_NOMEM;
    policy = json_pack("{s:s,s:[{s:s,s:O}]}", "version", "1.0.0", "anyOf", "authority", authority,
                       "allOf", all);
    if (policy == NULL)
        goto out;
    *out = json_dumps(policy, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    err = *out != NULL ? KR_OK : KR_ERR_NOMEM;
out:
    json_decref(claims);
    json_decref(all);
    json_decref(policy);
    return err;
}
