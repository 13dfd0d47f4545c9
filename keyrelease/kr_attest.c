/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The attestation flow of provider azure-cvm-vtpm (AZURE-SKR.md §a): evidence from the vTPM,
 * MAA AzureGuest, envelope, token verification and binding, token cache; and the unwrapper
 * that keeps the ephemeral key for the release step (design in kr_attest.h).
 */
#define _GNU_SOURCE
#include "kr_attest.h"

#include <jansson.h>
#include <openssl/obj_mac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kr_hcl.h"
#include "kr_http.h"
#include "kr_jose.h"
#include "kr_maa.h"
#include "kr_vtpm.h"
#include "u_log.h"

#define TOKEN_REUSE_MARGIN_S 300 /* reuse the MAA token until 5 minutes before exp */

struct kr_unwrapper {
    pthread_mutex_t lock; /* serializes every TPM command of this unwrapper */
    int refs;             /* atomic */
    char *tcti;
    uint32_t mask;
    unsigned char policy[32];
    unsigned char modulus[256];
    size_t mod_len;
    struct kr_vtpm *tpm;     /* NULL until (re)opened */
    struct kr_vtpm_key *key; /* loaded ephemeral key, NULL with tpm */
    pid_t pid;               /* process that opened tpm */
};

struct kr_attester {
    const struct cfg *cfg;
    struct kr_http *http;
    pthread_mutex_t lock; /* one attestation at a time; guards the cache */
    char *jwt;
    char *claims;
    time_t exp;
    struct kr_unwrapper *unwrapper;
};

/* ---- unwrapper ----------------------------------------------------------------------------- */

static void unwrapper_drop_tpm(struct kr_unwrapper *u)
{
    if (u->pid == getpid()) {
        kr_vtpm_key_free(u->tpm, u->key);
    } else {
        kr_vtpm_key_forget(u->key); /* the parent's handle: never flush it from a child */
    }
    kr_vtpm_close(u->tpm);
    u->key = NULL;
    u->tpm = NULL;
}

/* (Re)open the TPM and re-create the key if needed; the modulus must not change. */
static enum kr_err unwrapper_ensure(struct kr_unwrapper *u, enum kr_stage stage)
{
    if (u->tpm != NULL && u->pid != getpid())
        unwrapper_drop_tpm(u);
    if (u->tpm != NULL)
        return KR_OK;
    enum kr_err err = kr_vtpm_open(u->tcti, &u->tpm);
    if (err != KR_OK)
        return err;
    u->pid = getpid();
    err = kr_vtpm_key_create(u->tpm, u->policy, &u->key);
    if (err == KR_OK) {
        size_t n = 0;
        const unsigned char *m = kr_vtpm_key_modulus(u->key, &n);
        if (n != u->mod_len || memcmp(m, u->modulus, n) != 0) {
            U_LOG_ERR("kr",
                      "%s: the re-created TPM ephemeral key differs from the attested one "
                      "(TPM reset since attestation?)",
                      kr_stage_name(stage));
            err = KR_ERR_TPM;
        }
    }
    if (err != KR_OK)
        unwrapper_drop_tpm(u);
    return err;
}

static enum kr_err unwrapper_decrypt(struct kr_unwrapper *u, enum kr_vtpm_scheme scheme,
                                     const unsigned char *in, size_t len, enum kr_stage stage,
                                     struct u_secbuf **out)
{
    pthread_mutex_lock(&u->lock);
    enum kr_err err = unwrapper_ensure(u, stage);
    if (err == KR_OK)
        err = kr_vtpm_decrypt(u->tpm, u->key, u->mask, scheme, in, len, stage, out);
    if (err == KR_ERR_TPM && kr_vtpm_transport_failed(u->tpm)) {
        /* the connection broke (TPM/RM restarted): one fresh attempt */
        unwrapper_drop_tpm(u);
        err = unwrapper_ensure(u, stage);
        if (err == KR_OK)
            err = kr_vtpm_decrypt(u->tpm, u->key, u->mask, scheme, in, len, stage, out);
    }
    pthread_mutex_unlock(&u->lock);
    return err;
}

struct kr_unwrapper *kr_unwrapper_ref(struct kr_unwrapper *u)
{
    if (u != NULL)
        __atomic_add_fetch(&u->refs, 1, __ATOMIC_RELAXED);
    return u;
}

void kr_unwrapper_free(struct kr_unwrapper *u)
{
    if (u == NULL)
        return;
    int left = __atomic_sub_fetch(&u->refs, 1, __ATOMIC_ACQ_REL);
    if (left == 1) {
        /* only the attester's cache still holds it: give the TPM connection back (swtpm
         * serves one connection at a time); the next decrypt re-creates the key */
        pthread_mutex_lock(&u->lock);
        unwrapper_drop_tpm(u);
        pthread_mutex_unlock(&u->lock);
    }
    if (left != 0)
        return;
    unwrapper_drop_tpm(u);
    pthread_mutex_destroy(&u->lock);
    free(u->tcti);
    free(u);
}

enum kr_err kr_unwrapper_rsa_oaep(struct kr_unwrapper *u, int hash_nid, const unsigned char *c1,
                                  size_t len, struct u_secbuf **k_out)
{
    enum kr_vtpm_scheme scheme;
    if (u == NULL || c1 == NULL || k_out == NULL)
        return KR_ERR_INVALID;
    if (hash_nid == NID_sha1)
        scheme = KR_VTPM_OAEP_SHA1;
    else if (hash_nid == NID_sha256)
        scheme = KR_VTPM_OAEP_SHA256;
    else if (hash_nid == NID_sha384)
        scheme = KR_VTPM_OAEP_SHA384;
    else
        return KR_ERR_INVALID;
    if (len != u->mod_len)
        return KR_ERR_INVALID;
    return unwrapper_decrypt(u, scheme, c1, len, KR_STAGE_UNWRAP, k_out);
}

const unsigned char *kr_unwrapper_modulus(const struct kr_unwrapper *u, size_t *len,
                                          uint32_t *exponent)
{
    *len = u->mod_len;
    if (exponent != NULL)
        *exponent = 65537; /* template exponent 0 = 2^16+1 */
    return u->modulus;
}

/* A new unwrapper owning the opened TPM and the created key. */
static enum kr_err unwrapper_new(const char *tcti, uint32_t mask, const unsigned char policy[32],
                                 struct kr_vtpm *tpm, struct kr_vtpm_key *key,
                                 struct kr_unwrapper **out)
{
    size_t n = 0;
    const unsigned char *m = kr_vtpm_key_modulus(key, &n);
    struct kr_unwrapper *u = calloc(1, sizeof(*u));
    if (u != NULL)
        u->tcti = strdup(tcti);
    if (u == NULL || u->tcti == NULL || n > sizeof(u->modulus)) {
        if (u != NULL)
            free(u->tcti);
        free(u);
        return KR_ERR_NOMEM;
    }
    pthread_mutex_init(&u->lock, NULL);
    u->refs = 1;
    u->mask = mask;
    memcpy(u->policy, policy, 32);
    memcpy(u->modulus, m, n);
    u->mod_len = n;
    u->tpm = tpm;
    u->key = key;
    u->pid = getpid();
    *out = u;
    return KR_OK;
}

/* ---- evidence ------------------------------------------------------------------------------ */

static enum kr_err hcl_evidence(struct kr_vtpm *t, struct kr_maa_evidence *ev)
{
    enum kr_err err = kr_vtpm_nv_read(t, KR_VTPM_NV_HCL_REPORT, &ev->hcl);
    if (err != KR_OK)
        return err;
    err = kr_hcl_parse(ev->hcl.data, ev->hcl.len, &ev->report);
    if (err != KR_OK) {
        U_LOG_ERR("kr", "evidence: the HCL report in NV 0x%08X does not parse (%zu bytes)",
                  KR_VTPM_NV_HCL_REPORT, ev->hcl.len);
        return err;
    }
    err = kr_hcl_check_binding(&ev->report);
    if (err != KR_OK)
        U_LOG_ERR("kr", "evidence: the HCL report's report_data does not bind its runtime data");
    return err;
}

/*
 * Everything from the TPM: HCL report, AK cert/public, PCRs, quote, the ephemeral key and its
 * certification. On success *u owns the TPM context and the key.
 */
static enum kr_err tpm_evidence(const struct cfg_attestation *att, struct kr_maa_evidence *ev,
                                struct kr_unwrapper **u)
{
    struct kr_vtpm *t = NULL;
    struct kr_vtpm_key *key = NULL;
    unsigned char policy[32];
    const char *tcti = att->tcti != NULL ? att->tcti : "device:/dev/tpmrm0";

    ev->pcr_mask = att->pcr_mask != 0 ? att->pcr_mask : 0xFFu;
    enum kr_err err = kr_vtpm_open(tcti, &t);
    if (err != KR_OK)
        return err;
    err = hcl_evidence(t, ev);
    if (err == KR_OK)
        err = kr_vtpm_nv_read(t, KR_VTPM_NV_AK_CERT, &ev->ak_cert);
    if (err == KR_OK)
        err = kr_vtpm_read_public(t, KR_VTPM_AK_HANDLE, &ev->ak_pub);
    if (err == KR_OK)
        err = kr_vtpm_pcr_read(t, ev->pcr_mask, ev->pcrs);
    if (err == KR_OK)
        err = kr_vtpm_quote(t, KR_VTPM_AK_HANDLE, ev->pcr_mask, &ev->quote, &ev->quote_sig);
    if (err == KR_OK)
        err = kr_vtpm_policy_pcr(ev->pcr_mask, ev->pcrs, policy);
    if (err == KR_OK)
        err = kr_vtpm_key_create(t, policy, &key);
    if (err == KR_OK)
        err = kr_vtpm_certify(t, key, KR_VTPM_AK_HANDLE, &ev->certify_info, &ev->certify_sig);
    if (err == KR_OK) {
        const struct kr_blob *pub = kr_vtpm_key_public(key);
        ev->enc_pub.data = malloc(pub->len);
        err = ev->enc_pub.data != NULL ? KR_OK : KR_ERR_NOMEM;
        if (err == KR_OK) {
            memcpy(ev->enc_pub.data, pub->data, pub->len);
            ev->enc_pub.len = pub->len;
        }
    }
    if (err == KR_OK)
        err = unwrapper_new(tcti, ev->pcr_mask, policy, t, key, u);
    if (err != KR_OK) {
        kr_vtpm_key_free(t, key);
        kr_vtpm_close(t);
    }
    return err;
}

static const char *imds_base(const struct cfg_attestation *att)
{
    return att->imds_endpoint != NULL ? att->imds_endpoint : "http://169.254.169.254";
}

/*
 * The quote IMDS made must be of our TD report: same REPORTDATA (which binds the runtime data
 * and so HCLAkPub). MAA would refuse a foreign quote too, but only after a round trip and with
 * a less precise error.
 */
static enum kr_err tdquote_check(const struct kr_maa_evidence *ev)
{
    struct kr_tdquote q;
    if (kr_tdquote_parse(ev->proof_extra.data, ev->proof_extra.len, &q) != KR_OK) {
        U_LOG_ERR("kr",
                  "evidence: the TD quote from IMDS /acc/tdquote is not a TDX quote v4/v5 "
                  "(%zu bytes)",
                  ev->proof_extra.len);
        return KR_ERR_PARSE;
    }
    if (memcmp(q.report_data, ev->report.report_data, 64) != 0) {
        U_LOG_ERR("kr", "evidence: the TD quote from IMDS carries another REPORTDATA than the TD "
                        "report of the HCL report");
        return KR_ERR_VERIFY;
    }
    return KR_OK;
}

/* The hardware part of the proof: the VCEK chain (SNP) or the TD quote (TDX). */
static enum kr_err proof_evidence(struct kr_http *http, const struct cfg_attestation *att,
                                  struct kr_maa_evidence *ev)
{
    if (ev->report.type != KR_HCL_TYPE_TDX)
        return kr_maa_thim_fetch(http, imds_base(att), &ev->proof_extra);
    enum kr_err err = kr_maa_tdquote_fetch(http, imds_base(att), ev->report.hw, ev->report.hw_len,
                                           &ev->proof_extra);
    return err == KR_OK ? tdquote_check(ev) : err;
}

/* ---- attester ------------------------------------------------------------------------------ */

enum kr_err kr_attester_new(const struct cfg *cfg, struct kr_http *http, struct kr_attester **out)
{
    if (cfg == NULL || http == NULL || out == NULL)
        return KR_ERR_INVALID;
    if (cfg->att.provider != CFG_ATTEST_AZURE_CVM_VTPM || cfg->att.maa_endpoint == NULL) {
        U_LOG_ERR("kr", "attest: provider must be azure-cvm-vtpm with a maa-endpoint");
        return KR_ERR_CONFIG;
    }
    struct kr_attester *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return KR_ERR_NOMEM;
    a->cfg = cfg;
    a->http = http;
    pthread_mutex_init(&a->lock, NULL);
    *out = a;
    return KR_OK;
}

static void cache_clear(struct kr_attester *a)
{
    u_strfree_secret(a->jwt);
    free(a->claims);
    kr_unwrapper_free(a->unwrapper);
    a->jwt = NULL;
    a->claims = NULL;
    a->unwrapper = NULL;
    a->exp = 0;
}

void kr_attester_free(struct kr_attester *a)
{
    if (a == NULL)
        return;
    cache_clear(a);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

static enum kr_err rsaes_cb(void *arg, const unsigned char *in, size_t len, struct u_secbuf **out)
{
    struct kr_unwrapper *u = arg;
    if (len != u->mod_len) {
        U_LOG_ERR("kr", "attest: MAA envelope: EncryptedInnerKey is %zu bytes, not %zu", len,
                  u->mod_len);
        return KR_ERR_PARSE;
    }
    return unwrapper_decrypt(u, KR_VTPM_RSAES, in, len, KR_STAGE_ATTEST, out);
}

/* MAA round trip: AttestationInfo → POST → envelope → JWT. */
static enum kr_err maa_token(struct kr_attester *a, const struct kr_maa_evidence *ev,
                             struct kr_unwrapper *u, char **jwt)
{
    struct kr_maa_os os;
    char *info = NULL;
    char *token = NULL;

    kr_maa_os_read(NULL, &os);
    enum kr_err err = kr_maa_attestation_info(ev, a->cfg->att.client_payload_nonce, &os, &info);
    if (err == KR_OK)
        err = kr_maa_attest_post(a->http, a->cfg->att.maa_endpoint, info, &token);
    if (err == KR_OK)
        err = kr_maa_envelope_open(token, rsaes_cb, u, jwt);
    free(info);
    free(token);
    return err;
}

/* Verify the JWT, bind it to the ephemeral key, and store it in the cache. */
static enum kr_err accept_token(struct kr_attester *a, char *jwt, struct kr_unwrapper *u)
{
    json_t *claims = NULL;
    enum kr_err err =
            kr_jwt_verify_maa(a->http, a->cfg->att.maa_endpoint, jwt, time(NULL), &claims);
    if (err == KR_OK)
        err = kr_maa_check_runtime_key(claims, u->modulus, u->mod_len, 65537);
    char *text = err == KR_OK ? json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (err == KR_OK && text == NULL)
        err = KR_ERR_NOMEM;
    if (err == KR_OK) {
        cache_clear(a);
        a->jwt = jwt;
        a->claims = text;
        a->exp = (time_t)json_integer_value(json_object_get(claims, "exp"));
        a->unwrapper = kr_unwrapper_ref(u);
    }
    json_decref(claims);
    return err;
}

static enum kr_err progress(kr_attest_progress_fn fn, void *arg, const char *stage, enum kr_err err,
                            const char *detail)
{
    if (fn != NULL)
        fn(arg, stage, err, err == KR_OK ? detail : kr_err_str(err));
    return err;
}

static void evidence_detail(const struct kr_maa_evidence *ev, char *buf, size_t len)
{
    snprintf(buf, len,
             "%s HCL report (%zu bytes, runtime data %zu bytes, binding OK), AK cert %zu bytes, "
             "quote over PCR mask 0x%06X, ephemeral key certified",
             ev->report.type == KR_HCL_TYPE_TDX ? "TDX" : "SEV-SNP", ev->hcl.len,
             ev->report.var_len, ev->ak_cert.len, ev->pcr_mask);
}

/* A fresh attestation into the cache. With `keep`, the new unwrapper's reference is handed to
 * the caller instead of being dropped (a drop to the cache's single reference would close the
 * TPM, and the first unwrap would re-create the ephemeral key: one CreatePrimary more, 25 to
 * 160 ms on swtpm, on the start-up's critical path). */
static enum kr_err attest_fresh(struct kr_attester *a, kr_attest_progress_fn fn, void *arg,
                                struct kr_unwrapper **keep)
{
    struct kr_maa_evidence ev;
    struct kr_unwrapper *u = NULL;
    char *jwt = NULL;
    char detail[256] = "";

    memset(&ev, 0, sizeof(ev));
    enum kr_err err = tpm_evidence(&a->cfg->att, &ev, &u);
    if (err == KR_OK)
        err = kr_maa_tcg_log_read(NULL, &ev.tcg_log);
    if (err == KR_OK)
        evidence_detail(&ev, detail, sizeof(detail));
    err = progress(fn, arg, "evidence", err, detail);
    if (err != KR_OK)
        goto out;
    err = proof_evidence(a->http, &a->cfg->att, &ev);
    err = progress(fn, arg, ev.report.type == KR_HCL_TYPE_TDX ? "td-quote" : "thim", err,
                   ev.report.type == KR_HCL_TYPE_TDX ? "TD quote from IMDS"
                                                     : "VCEK chain from IMDS THIM");
    if (err != KR_OK)
        goto out;
    err = progress(fn, arg, "attest", maa_token(a, &ev, u, &jwt),
                   "MAA AzureGuest token received and decrypted in the TPM");
    if (err != KR_OK)
        goto out;
    err = progress(fn, arg, "token-verify", accept_token(a, jwt, u),
                   "signature, issuer, exp/nbf and the ephemeral-key binding OK");
out:
    if (err != KR_OK)
        u_strfree_secret(jwt);
    if (err == KR_OK && keep != NULL) {
        *keep = u;
        u = NULL;
    }
    kr_unwrapper_free(u);
    kr_maa_evidence_cleanup(&ev);
    return err;
}

enum kr_err kr_attest_diagnose(struct kr_attester *a, kr_attest_progress_fn fn, void *arg)
{
    if (a == NULL)
        return KR_ERR_INVALID;
    pthread_mutex_lock(&a->lock);
    enum kr_err err = attest_fresh(a, fn, arg, NULL);
    pthread_mutex_unlock(&a->lock);
    return err;
}

static bool cache_valid(const struct kr_attester *a)
{
    return a->jwt != NULL && a->exp - TOKEN_REUSE_MARGIN_S > time(NULL);
}

enum kr_err kr_attest(struct kr_attester *a, char **maa_jwt_out, struct kr_unwrapper **unwrap_out)
{
    if (a == NULL)
        return KR_ERR_INVALID;
    enum kr_err err = KR_OK;
    struct kr_unwrapper *fresh = NULL; /* a reference kept from a fresh attestation */
    pthread_mutex_lock(&a->lock);
    if (!cache_valid(a))
        err = attest_fresh(a, NULL, NULL, &fresh);
    if (err == KR_OK && maa_jwt_out != NULL) {
        *maa_jwt_out = strdup(a->jwt);
        if (*maa_jwt_out == NULL)
            err = KR_ERR_NOMEM;
    }
    if (err == KR_OK && unwrap_out != NULL) {
        *unwrap_out = fresh != NULL ? fresh : kr_unwrapper_ref(a->unwrapper);
        fresh = NULL;
    }
    pthread_mutex_unlock(&a->lock);
    kr_unwrapper_free(fresh); /* not handed out: the cache keeps its own reference */
    return err;
}

enum kr_err kr_attest_claims(struct kr_attester *a, char **claims_json_out)
{
    if (a == NULL || claims_json_out == NULL)
        return KR_ERR_INVALID;
    enum kr_err err = KR_OK;
    pthread_mutex_lock(&a->lock);
    if (!cache_valid(a))
        err = attest_fresh(a, NULL, NULL, NULL);
    if (err == KR_OK) {
        *claims_json_out = strdup(a->claims);
        if (*claims_json_out == NULL)
            err = KR_ERR_NOMEM;
    }
    pthread_mutex_unlock(&a->lock);
    return err;
}

enum kr_err kr_attest_policy(const char *claims_json, const char *authority, bool measurement,
                             char **out)
{
    if (claims_json == NULL || authority == NULL || out == NULL)
        return KR_ERR_INVALID;
    return kr_maa_policy_suggest(claims_json, authority, measurement, out);
}
