/* SPDX-License-Identifier: Apache-2.0 */
/* vTPM evidence and the ephemeral key through tpm2-tss ESAPI (AZURE-SKR.md §a, §i). */
#include "kr_vtpm.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include "u_log.h"

#define EPHEMERAL_ATTRS 0x00020432u /* decrypt|fixedTPM|fixedParent|sensitiveDataOrigin|noDA */
#define PCRS_PER_READ   8

struct kr_vtpm {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    TSS2_RC last_rc;
    ESYS_TR policy_sess; /* kr_vtpm_decrypt's policy session, kept between calls, or NONE */
    pid_t pid;           /* process that opened the context (a child never flushes) */
};

struct kr_vtpm_key {
    ESYS_TR handle;
    struct kr_blob pub;  /* marshaled TPM2B_PUBLIC */
    struct kr_blob name; /* TPM2B_NAME.name */
    unsigned char modulus[TPM2_MAX_RSA_KEY_BYTES];
    size_t mod_len;
};

void kr_blob_clear(struct kr_blob *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static enum kr_err blob_set(struct kr_blob *b, const void *p, size_t len)
{
    b->data = malloc(len > 0 ? len : 1);
    if (b->data == NULL)
        return KR_ERR_NOMEM;
    if (len > 0)
        memcpy(b->data, p, len);
    b->len = len;
    return KR_OK;
}

static enum kr_err tpm_fail(struct kr_vtpm *t, enum kr_stage stage, const char *what, TSS2_RC rc)
{
    if (t != NULL)
        t->last_rc = rc;
    U_LOG_ERR("kr", "%s: TPM %s failed: %s", kr_stage_name(stage), what, Tss2_RC_Decode(rc));
    return KR_ERR_TPM;
}

bool kr_vtpm_transport_failed(const struct kr_vtpm *t)
{
    return t != NULL && t->last_rc != TSS2_RC_SUCCESS &&
           (t->last_rc & TSS2_RC_LAYER_MASK) == TSS2_TCTI_RC_LAYER;
}

enum kr_err kr_vtpm_open(const char *tcti, struct kr_vtpm **out)
{
    struct kr_vtpm *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return KR_ERR_NOMEM;
    TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        U_LOG_ERR("kr", "evidence: TPM TCTI \"%s\" failed: %s", tcti ? tcti : "(default)",
                  Tss2_RC_Decode(rc));
        free(t);
        return KR_ERR_TPM;
    }
    rc = Esys_Initialize(&t->esys, t->tcti, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        tpm_fail(t, KR_STAGE_EVIDENCE, "Esys_Initialize", rc);
        Tss2_TctiLdr_Finalize(&t->tcti);
        free(t);
        return KR_ERR_TPM;
    }
    t->policy_sess = ESYS_TR_NONE;
    t->pid = getpid();
    *out = t;
    return KR_OK;
}

static void policy_session_drop(struct kr_vtpm *t)
{
    if (t->policy_sess != ESYS_TR_NONE && t->pid == getpid())
        Esys_FlushContext(t->esys, t->policy_sess);
    t->policy_sess = ESYS_TR_NONE;
}

void kr_vtpm_close(struct kr_vtpm *t)
{
    if (t == NULL)
        return;
    if (t->esys != NULL)
        policy_session_drop(t);
    if (t->esys != NULL)
        Esys_Finalize(&t->esys);
    if (t->tcti != NULL)
        Tss2_TctiLdr_Finalize(&t->tcti);
    free(t);
}

static void pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
    memset(sel, 0, sizeof(*sel));
    sel->count = 1;
    sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
    sel->pcrSelections[0].sizeofSelect = 3;
    for (unsigned i = 0; i < KR_VTPM_MAX_PCRS; i++) {
        if (mask & (1u << i))
            sel->pcrSelections[0].pcrSelect[i / 8] |= (BYTE)(1u << (i % 8));
    }
}

static uint32_t nv_chunk_size(struct kr_vtpm *t)
{
    TPMS_CAPABILITY_DATA *cap = NULL;
    TPMI_YES_NO more = 0;
    uint32_t chunk = KR_VTPM_NV_CHUNK;
    TSS2_RC rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                    TPM2_CAP_TPM_PROPERTIES, TPM2_PT_NV_BUFFER_MAX, 1, &more, &cap);
    if (rc == TSS2_RC_SUCCESS && cap->data.tpmProperties.count == 1 &&
        cap->data.tpmProperties.tpmProperty[0].property == TPM2_PT_NV_BUFFER_MAX &&
        cap->data.tpmProperties.tpmProperty[0].value > 0 &&
        cap->data.tpmProperties.tpmProperty[0].value < chunk)
        chunk = cap->data.tpmProperties.tpmProperty[0].value;
    Esys_Free(cap);
    return chunk;
}

static enum kr_err nv_read_chunks(struct kr_vtpm *t, ESYS_TR auth, ESYS_TR nv, uint16_t size,
                                  unsigned char *buf)
{
    uint32_t chunk = nv_chunk_size(t);
    for (uint32_t off = 0; off < size;) {
        uint16_t n = (uint16_t)(size - off < chunk ? size - off : chunk);
        TPM2B_MAX_NV_BUFFER *data = NULL;
        TSS2_RC rc = Esys_NV_Read(t->esys, auth, nv, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                                  n, (uint16_t)off, &data);
        if (rc != TSS2_RC_SUCCESS)
            return tpm_fail(t, KR_STAGE_EVIDENCE, "NV_Read", rc);
        if (data->size != n) {
            Esys_Free(data);
            return tpm_fail(t, KR_STAGE_EVIDENCE, "NV_Read (short read)",
                            TSS2_ESYS_RC_MALFORMED_RESPONSE);
        }
        memcpy(buf + off, data->buffer, n);
        Esys_Free(data);
        off += n;
    }
    return KR_OK;
}

enum kr_err kr_vtpm_nv_read(struct kr_vtpm *t, uint32_t index, struct kr_blob *out)
{
    enum kr_err err = KR_ERR_TPM;
    ESYS_TR nv = ESYS_TR_NONE;
    TPM2B_NV_PUBLIC *pub = NULL;
    unsigned char *buf = NULL;
    char what[64];

    snprintf(what, sizeof(what), "NV_ReadPublic 0x%08X", index);
    TSS2_RC rc =
            Esys_TR_FromTPMPublic(t->esys, index, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &nv);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_NV_ReadPublic(t->esys, nv, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        err = tpm_fail(t, KR_STAGE_EVIDENCE, what, rc);
        goto out;
    }
    uint16_t size = pub->nvPublic.dataSize;
    ESYS_TR auth = (pub->nvPublic.attributes & TPMA_NV_OWNERREAD) ? ESYS_TR_RH_OWNER : nv;
    buf = malloc(size > 0 ? size : 1);
    if (buf == NULL) {
        err = KR_ERR_NOMEM;
        goto out;
    }
    err = nv_read_chunks(t, auth, nv, size, buf);
    if (err != KR_OK)
        goto out;
    out->data = buf;
    out->len = size;
    buf = NULL;
out:
    free(buf);
    Esys_Free(pub);
    if (nv != ESYS_TR_NONE)
        Esys_TR_Close(t->esys, &nv);
    return err;
}

static enum kr_err marshal_public(const TPM2B_PUBLIC *pub, struct kr_blob *out)
{
    unsigned char buf[sizeof(TPM2B_PUBLIC)];
    size_t off = 0;
    if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        return KR_ERR_INTERNAL;
    return blob_set(out, buf, off);
}

enum kr_err kr_vtpm_read_public(struct kr_vtpm *t, uint32_t handle, struct kr_blob *out)
{
    ESYS_TR tr = ESYS_TR_NONE;
    TPM2B_PUBLIC *pub = NULL;
    enum kr_err err;
    char what[64];

    snprintf(what, sizeof(what), "ReadPublic 0x%08X", handle);
    TSS2_RC rc =
            Esys_TR_FromTPMPublic(t->esys, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_ReadPublic(t->esys, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, NULL,
                             NULL);
    if (rc != TSS2_RC_SUCCESS)
        err = tpm_fail(t, KR_STAGE_EVIDENCE, what, rc);
    else
        err = marshal_public(pub, out);
    Esys_Free(pub);
    if (tr != ESYS_TR_NONE)
        Esys_TR_Close(t->esys, &tr);
    return err;
}

/* Read one group of ≤ 8 PCRs and store the values by index. */
static enum kr_err pcr_read_group(struct kr_vtpm *t, uint32_t group,
                                  unsigned char digests[KR_VTPM_MAX_PCRS][32])
{
    TPML_PCR_SELECTION sel;
    TPML_PCR_SELECTION *sel_out = NULL;
    TPML_DIGEST *values = NULL;
    uint32_t counter = 0;
    enum kr_err err = KR_ERR_TPM;

    pcr_selection(group, &sel);
    TSS2_RC rc = Esys_PCR_Read(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &sel, &counter,
                               &sel_out, &values);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, KR_STAGE_EVIDENCE, "PCR_Read", rc);
    uint32_t j = 0;
    for (unsigned i = 0; i < KR_VTPM_MAX_PCRS; i++) {
        if (!(group & (1u << i)))
            continue;
        if (j >= values->count || values->digests[j].size != 32) {
            err = tpm_fail(t, KR_STAGE_EVIDENCE, "PCR_Read (SHA-256 bank incomplete)",
                           TSS2_ESYS_RC_MALFORMED_RESPONSE);
            goto out;
        }
        memcpy(digests[i], values->digests[j].buffer, 32);
        j++;
    }
    err = KR_OK;
out:
    Esys_Free(sel_out);
    Esys_Free(values);
    return err;
}

enum kr_err kr_vtpm_pcr_read(struct kr_vtpm *t, uint32_t mask,
                             unsigned char digests[KR_VTPM_MAX_PCRS][32])
{
    if (mask == 0 || (mask >> KR_VTPM_MAX_PCRS) != 0)
        return KR_ERR_INVALID;
    uint32_t group = 0;
    unsigned n = 0;
    for (unsigned i = 0; i < KR_VTPM_MAX_PCRS; i++) {
        if (!(mask & (1u << i)))
            continue;
        group |= 1u << i;
        if (++n == PCRS_PER_READ) {
            enum kr_err err = pcr_read_group(t, group, digests);
            if (err != KR_OK)
                return err;
            group = 0;
            n = 0;
        }
    }
    return group != 0 ? pcr_read_group(t, group, digests) : KR_OK;
}

enum kr_err kr_vtpm_policy_pcr(uint32_t mask, const unsigned char digests[KR_VTPM_MAX_PCRS][32],
                               unsigned char policy[32])
{
    unsigned char pcr_digest[32];
    unsigned char sel_buf[sizeof(TPML_PCR_SELECTION)];
    unsigned char zero[32] = {0};
    unsigned char cc[4] = {0, 0, (TPM2_CC_PolicyPCR >> 8) & 0xff, TPM2_CC_PolicyPCR & 0xff};
    size_t sel_len = 0;
    TPML_PCR_SELECTION sel;
    enum kr_err err = KR_ERR_INTERNAL;

    pcr_selection(mask, &sel);
    if (Tss2_MU_TPML_PCR_SELECTION_Marshal(&sel, sel_buf, sizeof(sel_buf), &sel_len) !=
        TSS2_RC_SUCCESS)
        return KR_ERR_INTERNAL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (md == NULL)
        return KR_ERR_NOMEM;
    /* pcrDigest = H(PCR values in selection order); policy = H(0 || CC || selection || it) */
    if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
        goto out;
    for (unsigned i = 0; i < KR_VTPM_MAX_PCRS; i++) {
        if ((mask & (1u << i)) && EVP_DigestUpdate(md, digests[i], 32) != 1)
            goto out;
    }
    if (EVP_DigestFinal_ex(md, pcr_digest, NULL) != 1 ||
        EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(md, zero, sizeof(zero)) != 1 ||
        EVP_DigestUpdate(md, cc, sizeof(cc)) != 1 || EVP_DigestUpdate(md, sel_buf, sel_len) != 1 ||
        EVP_DigestUpdate(md, pcr_digest, sizeof(pcr_digest)) != 1 ||
        EVP_DigestFinal_ex(md, policy, NULL) != 1)
        goto out;
    err = KR_OK;
out:
    EVP_MD_CTX_free(md);
    return err;
}

static enum kr_err ak_open(struct kr_vtpm *t, uint32_t ak, enum kr_stage stage, ESYS_TR *tr)
{
    TSS2_RC rc = Esys_TR_FromTPMPublic(t->esys, ak, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, tr);
    return rc == TSS2_RC_SUCCESS ? KR_OK : tpm_fail(t, stage, "load AK handle", rc);
}

enum kr_err kr_vtpm_quote(struct kr_vtpm *t, uint32_t ak, uint32_t mask, struct kr_blob *attest,
                          struct kr_blob *sig)
{
    ESYS_TR ak_tr = ESYS_TR_NONE;
    TPM2B_ATTEST *quoted = NULL;
    TPMT_SIGNATURE *signature = NULL;
    TPM2B_DATA qualifying = {.size = 0};
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};
    TPML_PCR_SELECTION sel;
    unsigned char buf[sizeof(TPM2B_ATTEST) + sizeof(TPMT_SIGNATURE)];
    size_t off = 0;

    pcr_selection(mask, &sel);
    enum kr_err err = ak_open(t, ak, KR_STAGE_EVIDENCE, &ak_tr);
    if (err != KR_OK)
        return err;
    TSS2_RC rc = Esys_Quote(t->esys, ak_tr, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                            &qualifying, &scheme, &sel, &quoted, &signature);
    if (rc != TSS2_RC_SUCCESS) {
        err = tpm_fail(t, KR_STAGE_EVIDENCE, "Quote", rc);
        goto out;
    }
    err = KR_ERR_INTERNAL;
    if (Tss2_MU_TPM2B_ATTEST_Marshal(quoted, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        goto out;
    err = blob_set(attest, buf, off);
    if (err != KR_OK)
        goto out;
    off = 0;
    err = KR_ERR_INTERNAL;
    if (Tss2_MU_TPMT_SIGNATURE_Marshal(signature, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
        goto out;
    err = blob_set(sig, buf, off);
out:
    if (err != KR_OK)
        kr_blob_clear(attest);
    Esys_Free(quoted);
    Esys_Free(signature);
    Esys_TR_Close(t->esys, &ak_tr);
    return err;
}

static void ephemeral_template(const unsigned char policy[32], TPM2B_PUBLIC *in)
{
    memset(in, 0, sizeof(*in));
    TPMT_PUBLIC *p = &in->publicArea;
    p->type = TPM2_ALG_RSA;
    p->nameAlg = TPM2_ALG_SHA256;
    p->objectAttributes = EPHEMERAL_ATTRS;
    p->authPolicy.size = 32;
    memcpy(p->authPolicy.buffer, policy, 32);
    p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
    p->parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
    p->parameters.rsaDetail.keyBits = 2048;
    p->parameters.rsaDetail.exponent = 0;
    p->unique.rsa.size = 256; /* zero-filled, as the Microsoft library does */
}

static enum kr_err key_fill(struct kr_vtpm *t, const TPM2B_PUBLIC *pub, struct kr_vtpm_key *k)
{
    TPM2B_NAME *name = NULL;
    TSS2_RC rc = Esys_TR_GetName(t->esys, k->handle, &name);
    if (rc != TSS2_RC_SUCCESS)
        return tpm_fail(t, KR_STAGE_EVIDENCE, "TR_GetName", rc);
    enum kr_err err = blob_set(&k->name, name->name, name->size);
    Esys_Free(name);
    if (err != KR_OK)
        return err;
    k->mod_len = pub->publicArea.unique.rsa.size;
    if (k->mod_len == 0 || k->mod_len > sizeof(k->modulus))
        return tpm_fail(t, KR_STAGE_EVIDENCE, "CreatePrimary (bad modulus)",
                        TSS2_ESYS_RC_MALFORMED_RESPONSE);
    memcpy(k->modulus, pub->publicArea.unique.rsa.buffer, k->mod_len);
    return marshal_public(pub, &k->pub);
}

enum kr_err kr_vtpm_key_create(struct kr_vtpm *t, const unsigned char policy[32],
                               struct kr_vtpm_key **out)
{
    TPM2B_PUBLIC in;
    TPM2B_SENSITIVE_CREATE sens;
    TPM2B_DATA outside = {.size = 0};
    TPML_PCR_SELECTION creation_pcr = {.count = 0};
    TPM2B_PUBLIC *pub = NULL;

    ephemeral_template(policy, &in);
    memset(&sens, 0, sizeof(sens));
    struct kr_vtpm_key *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return KR_ERR_NOMEM;
    k->handle = ESYS_TR_NONE;
    TSS2_RC rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_NULL, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                    ESYS_TR_NONE, &sens, &in, &outside, &creation_pcr, &k->handle,
                                    &pub, NULL, NULL, NULL);
    enum kr_err err;
    if (rc != TSS2_RC_SUCCESS)
        err = tpm_fail(t, KR_STAGE_EVIDENCE, "CreatePrimary (ephemeral key)", rc);
    else
        err = key_fill(t, pub, k);
    Esys_Free(pub);
    if (err != KR_OK) {
        kr_vtpm_key_free(t, k);
        return err;
    }
    *out = k;
    return KR_OK;
}

void kr_vtpm_key_forget(struct kr_vtpm_key *k)
{
    if (k == NULL)
        return;
    kr_blob_clear(&k->pub);
    kr_blob_clear(&k->name);
    free(k);
}

void kr_vtpm_key_free(struct kr_vtpm *t, struct kr_vtpm_key *k)
{
    if (k == NULL)
        return;
    if (t != NULL && k->handle != ESYS_TR_NONE)
        Esys_FlushContext(t->esys, k->handle);
    kr_vtpm_key_forget(k);
}

const struct kr_blob *kr_vtpm_key_public(const struct kr_vtpm_key *k)
{
    return &k->pub;
}

const unsigned char *kr_vtpm_key_modulus(const struct kr_vtpm_key *k, size_t *len)
{
    *len = k->mod_len;
    return k->modulus;
}

const struct kr_blob *kr_vtpm_key_name(const struct kr_vtpm_key *k)
{
    return &k->name;
}

static enum kr_err raw_signature(struct kr_vtpm *t, const TPMT_SIGNATURE *s, struct kr_blob *out)
{
    if (s->sigAlg == TPM2_ALG_RSASSA)
        return blob_set(out, s->signature.rsassa.sig.buffer, s->signature.rsassa.sig.size);
    if (s->sigAlg == TPM2_ALG_RSAPSS)
        return blob_set(out, s->signature.rsapss.sig.buffer, s->signature.rsapss.sig.size);
    return tpm_fail(t, KR_STAGE_EVIDENCE, "Certify (AK is not an RSA signing key)",
                    TSS2_ESYS_RC_BAD_VALUE);
}

enum kr_err kr_vtpm_certify(struct kr_vtpm *t, const struct kr_vtpm_key *k, uint32_t ak,
                            struct kr_blob *info, struct kr_blob *sig)
{
    ESYS_TR ak_tr = ESYS_TR_NONE;
    TPM2B_ATTEST *certify_info = NULL;
    TPMT_SIGNATURE *signature = NULL;
    TPM2B_DATA qualifying = {.size = 0};
    TPMT_SIG_SCHEME scheme = {.scheme = TPM2_ALG_NULL};

    enum kr_err err = ak_open(t, ak, KR_STAGE_EVIDENCE, &ak_tr);
    if (err != KR_OK)
        return err;
    TSS2_RC rc = Esys_Certify(t->esys, k->handle, ak_tr, ESYS_TR_PASSWORD, ESYS_TR_PASSWORD,
                              ESYS_TR_NONE, &qualifying, &scheme, &certify_info, &signature);
    if (rc != TSS2_RC_SUCCESS) {
        err = tpm_fail(t, KR_STAGE_EVIDENCE, "Certify", rc);
        goto out;
    }
    err = blob_set(info, certify_info->attestationData, certify_info->size);
    if (err != KR_OK)
        goto out;
    err = raw_signature(t, signature, sig);
    if (err != KR_OK)
        kr_blob_clear(info);
out:
    Esys_Free(certify_info);
    Esys_Free(signature);
    Esys_TR_Close(t->esys, &ak_tr);
    return err;
}

static void decrypt_scheme(enum kr_vtpm_scheme s, TPMT_RSA_DECRYPT *out)
{
    memset(out, 0, sizeof(*out));
    out->scheme = TPM2_ALG_OAEP;
    switch (s) {
    case KR_VTPM_RSAES:
        out->scheme = TPM2_ALG_RSAES;
        break;
    case KR_VTPM_OAEP_SHA1:
        out->details.oaep.hashAlg = TPM2_ALG_SHA1;
        break;
    case KR_VTPM_OAEP_SHA256:
        out->details.oaep.hashAlg = TPM2_ALG_SHA256;
        break;
    case KR_VTPM_OAEP_SHA384:
        out->details.oaep.hashAlg = TPM2_ALG_SHA384;
        break;
    }
}

/* The SYS context under t's ESYS context and the TPM handle of its policy session: PolicyPCR
 * and RSA_Decrypt go through SAPI (see sapi_rsa_decrypt). */
static TSS2_RC policy_sys(struct kr_vtpm *t, TSS2_SYS_CONTEXT **sys, TPM2_HANDLE *sess)
{
    TSS2_RC rc = Esys_GetSysContext(t->esys, sys);
    return rc == TSS2_RC_SUCCESS ? Esys_TR_GetTpmHandle(t->esys, t->policy_sess, sess) : rc;
}

/*
 * The policy session for RSA_Decrypt is started once and kept (continueSession): after a
 * successful use the TPM resets its policy digest, so each decrypt only re-runs PolicyPCR over
 * the current values (2 commands per decrypt instead of 4). Any failure drops the session, so
 * the next call starts from a fresh one.
 */
static enum kr_err policy_session(struct kr_vtpm *t, uint32_t mask, enum kr_stage stage)
{
    TPMT_SYM_DEF sym = {.algorithm = TPM2_ALG_NULL};
    TPM2B_DIGEST current = {.size = 0}; /* empty: the TPM uses the current PCR values */
    TPML_PCR_SELECTION sel;
    TSS2_RC rc;

    pcr_selection(mask, &sel);
    if (t->policy_sess == ESYS_TR_NONE) {
        rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                   ESYS_TR_NONE, NULL, TPM2_SE_POLICY, &sym, TPM2_ALG_SHA256,
                                   &t->policy_sess);
        if (rc != TSS2_RC_SUCCESS) {
            t->policy_sess = ESYS_TR_NONE;
            return tpm_fail(t, stage, "StartAuthSession (policy)", rc);
        }
        rc = Esys_TRSess_SetAttributes(t->esys, t->policy_sess, TPMA_SESSION_CONTINUESESSION,
                                       TPMA_SESSION_CONTINUESESSION);
        if (rc != TSS2_RC_SUCCESS) {
            policy_session_drop(t);
            return tpm_fail(t, stage, "TRSess_SetAttributes (policy session)", rc);
        }
    }
    /* Through SAPI as RSA_Decrypt below: PolicyPCR takes no authorization; ESYS's bookkeeping
     * cost ~0.15 ms of CPU per call (start-up bench, 64 keys: 253 -> 243 ms median CPU). */
    TSS2_SYS_CONTEXT *sys = NULL;
    TPM2_HANDLE sess = 0;
    rc = policy_sys(t, &sys, &sess);
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_Sys_PolicyPCR(sys, sess, NULL, &current, &sel, NULL);
    if (rc != TSS2_RC_SUCCESS) {
        policy_session_drop(t);
        return tpm_fail(t, stage, "PolicyPCR", rc);
    }
    return KR_OK;
}

/*
 * RSA_Decrypt through the SYS API of the ESYS context. ESYS (3.x) would draw each nonceCaller
 * from a brand-new OpenSSL library context (OSSL_LIB_CTX_new, DRBG instantiation, provider
 * fetches: about 4 ms of CPU per command); a policy session without PolicyAuthValue/Password
 * needs no HMAC, so the authorization is just the session handle, a fresh nonceCaller from the
 * process DRBG and continueSession. The response authorization carries nothing to check for
 * such a session (the TPM's nonce is only used for HMACs).
 */
static TSS2_RC sapi_rsa_decrypt(struct kr_vtpm *t, const struct kr_vtpm_key *k,
                                const TPM2B_PUBLIC_KEY_RSA *cipher, const TPMT_RSA_DECRYPT *sc,
                                TPM2B_PUBLIC_KEY_RSA *msg)
{
    TSS2_SYS_CONTEXT *sys = NULL;
    TPM2_HANDLE key = 0, sess = 0;
    TPM2B_DATA label = {.size = 0};
    TSS2L_SYS_AUTH_COMMAND cmd = {.count = 1};
    TSS2L_SYS_AUTH_RESPONSE rsp = {.count = 0};
    TSS2_RC rc = policy_sys(t, &sys, &sess);
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_TR_GetTpmHandle(t->esys, k->handle, &key);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    cmd.auths[0].sessionHandle = sess;
    cmd.auths[0].sessionAttributes = TPMA_SESSION_CONTINUESESSION;
    cmd.auths[0].nonce.size = 32;
    if (RAND_bytes(cmd.auths[0].nonce.buffer, 32) != 1)
        return TSS2_ESYS_RC_GENERAL_FAILURE;
    return Tss2_Sys_RSA_Decrypt(sys, key, &cmd, cipher, sc, &label, msg, &rsp);
}

enum kr_err kr_vtpm_decrypt(struct kr_vtpm *t, const struct kr_vtpm_key *k, uint32_t mask,
                            enum kr_vtpm_scheme scheme, const unsigned char *in, size_t in_len,
                            enum kr_stage stage, struct u_secbuf **out)
{
    if (in == NULL || in_len != k->mod_len)
        return KR_ERR_INVALID;
    TPM2B_PUBLIC_KEY_RSA cipher = {.size = (UINT16)in_len};
    TPM2B_PUBLIC_KEY_RSA msg = {.size = 0};
    TPMT_RSA_DECRYPT sc;

    memcpy(cipher.buffer, in, in_len);
    decrypt_scheme(scheme, &sc);
    enum kr_err err = policy_session(t, mask, stage);
    if (err != KR_OK)
        return err;
    TSS2_RC rc = sapi_rsa_decrypt(t, k, &cipher, &sc, &msg);
    if (rc != TSS2_RC_SUCCESS) {
        /* a failed authorization leaves the session's policy digest extended: start over */
        policy_session_drop(t);
        OPENSSL_cleanse(&msg, sizeof(msg));
        return tpm_fail(t, stage, "RSA_Decrypt (ephemeral key, PCR policy)", rc);
    }
    *out = u_secbuf_dup(msg.buffer, msg.size);
    OPENSSL_cleanse(&msg, sizeof(msg));
    return *out != NULL ? KR_OK : KR_ERR_NOMEM;
}
