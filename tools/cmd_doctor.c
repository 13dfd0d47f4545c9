/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skr-tool doctor [--config PATH]: run every stage of Secure Key Release against the configured
 * endpoints and print, per stage, OK or the precise failure:
 *   config, evidence (TPM reachable, HCL report parses, binding OK, quote, ephemeral key),
 *   thim / td-quote, attest, token-verify, identity (per resource), then per key metadata,
 *   release and unwrap (through the same code path C_Initialize uses).
 * The failure details are also in the log lines on stderr. Exit status 1 if any stage failed;
 * a key with `required = no` that fails is printed as WARN and does not change the status.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kr.h"
#include "kr_attest.h"
#include "kr_http.h"
#include "kr_identity.h"
#include "skr_tool.h"
#include "u_log.h"

struct doctor {
    int failures;
    char last_error[1024]; /* the last error log line: the precise reason for a failed stage */
};

/* Log sink (called under the log lock): forward to stderr, remember the last error line. */
static void doctor_sink(enum u_log_level level, const char *text, void *arg)
{
    struct doctor *d = arg;
    fprintf(stderr, "skr-pkcs11: %s\n", text);
    if (level == U_LOG_ERROR) {
        const char *msg = strstr(text, ": ");
        snprintf(d->last_error, sizeof(d->last_error), "%s", msg != NULL ? msg + 2 : text);
    }
}

static void line(struct doctor *d, const char *stage, const char *what, bool ok, const char *detail)
{
    if (!ok)
        d->failures++;
    printf("%-14s %-4s %s%s%s\n", stage, ok ? "OK" : "FAIL", what,
           (what[0] && detail[0]) ? ": " : "", detail);
    fflush(stdout);
}

static void on_stage(void *arg, const char *stage, enum kr_err err, const char *detail)
{
    struct doctor *d = arg;
    bool precise = err != KR_OK && d->last_error[0] != '\0';
    line(d, stage, "", err == KR_OK, precise ? d->last_error : detail);
    d->last_error[0] = '\0';
}

static void doctor_attest(struct doctor *d, const struct cfg *c, struct kr_http *http)
{
    struct kr_attester *a = NULL;
    if (c->att.provider == CFG_ATTEST_NONE) {
        printf("%-14s %-4s %s\n", "attest", "SKIP", "provider = none: no attestation");
        return;
    }
    enum kr_err err = kr_attester_new(c, http, &a);
    if (err != KR_OK) {
        line(d, "attest", "", false, kr_err_str(err));
        return;
    }
    kr_attest_diagnose(a, on_stage, d);
    kr_attester_free(a);
}

static void doctor_identity(struct doctor *d, const struct cfg *c, struct kr_http *http)
{
    struct kr_identity *id = NULL;
    if (kr_identity_new(c, http, &id) != KR_OK) {
        line(d, "identity", "", false, "out of memory");
        return;
    }
    for (size_t i = 0; i < c->ntokens; i++) {
        const struct cfg_token *t = c->tokens[i];
        if (t->source != CFG_SOURCE_KEYVAULT || t->vault == NULL)
            continue;
        char *res = kr_identity_resource_for(c, t->vault);
        struct u_secbuf *tok = NULL;
        enum kr_err err = res != NULL ? kr_identity_token(id, res, &tok) : KR_ERR_NOMEM;
        char what[300];
        snprintf(what, sizeof(what), "token %s, resource %s", t->name, res ? res : "?");
        line(d, "identity", what, err == KR_OK,
             err == KR_OK ? "bearer token obtained" : kr_err_str(err));
        u_secbuf_free(tok);
        free(res);
    }
    kr_identity_free(id);
}

/* Which of metadata (0), release (1), unwrap (2) a key's failing stage belongs to. */
static size_t failed_step(enum kr_stage s)
{
    if (s == KR_STAGE_METADATA)
        return 0;
    if (s == KR_STAGE_RELEASE_VERIFY || s == KR_STAGE_UNWRAP)
        return 2;
    return 1; /* identity, evidence, attest, token-verify, release */
}

static void key_lines(struct doctor *d, const struct kr_key_result *k, size_t nsteps)
{
    static const char *const steps[] = {"metadata", "release", "unwrap"};
    char what[200], detail[800];
    size_t fail = k->err == KR_OK ? 3 : failed_step(k->stage);
    snprintf(what, sizeof(what), "%s/%s%s", k->token->name, k->key->name,
             k->key->required ? "" : " (required = no)");
    for (size_t i = 0; i < nsteps && i <= fail; i++) {
        if (i == fail) {
            if (k->msg[0] != '\0')
                snprintf(detail, sizeof(detail), "%s", k->msg);
            else
                snprintf(detail, sizeof(detail), "%s: %s", kr_stage_name(k->stage),
                         kr_err_str(k->err));
            if (k->key->required) {
                line(d, steps[i], what, false, detail);
            } else {
                /* an optional key may legitimately be refused: reported, not a failure */
                printf("%-14s %-4s %s: %s\n", steps[i], "WARN", what, detail);
            }
        } else {
            line(d, steps[i], what, true, "");
        }
    }
}

static void doctor_keys(struct doctor *d, const struct cfg *c)
{
    struct kr_ctx *ctx = NULL;
    struct kr_result *r = NULL;
    enum kr_err err = kr_ctx_new(c, &ctx);
    if (err == KR_OK)
        err = c->att.provider == CFG_ATTEST_NONE ? kr_metadata_all(ctx, &r)
                                                 : kr_release_all(ctx, &r);
    if (err != KR_OK) {
        line(d, "release", "", false, kr_err_str(err));
        kr_ctx_free(ctx);
        return;
    }
    for (size_t i = 0; i < r->nkeys; i++)
        key_lines(d, &r->keys[i], c->att.provider == CFG_ATTEST_NONE ? 1 : 3);
    kr_result_free(r);
    kr_ctx_free(ctx);
}

int cmd_doctor(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL;
    struct doctor d = {0};
    struct kr_http *http = NULL;
    int o;
    optind = 1;
    /* our own log lines carry the TPM error text; silence tpm2-tss unless asked for */
    setenv("TSS2_LOG", "all+none", 0);
    while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (o != 'c') {
            fprintf(o == 'h' ? stdout : stderr, "usage: skr-tool doctor [--config PATH]\n");
            return o == 'h' ? TOOL_OK : TOOL_USAGE;
        }
        config = optarg;
    }
    struct cfg *c = tool_load_config(config);
    line(&d, "config", "", c != NULL, c != NULL ? c->path : "configuration does not load");
    if (c == NULL)
        return TOOL_FAIL;
    if (kr_http_new(&c->http, &http) != KR_OK) {
        line(&d, "http", "", false, "cannot initialise libcurl");
        cfg_free(c);
        return TOOL_FAIL;
    }
    u_log_set_sink(doctor_sink, &d);
    doctor_attest(&d, c, http);
    doctor_identity(&d, c, http);
    doctor_keys(&d, c);
    u_log_set_sink(NULL, NULL);
    kr_http_free(http);
    cfg_free(c);
    printf("%s\n", d.failures == 0 ? "all stages OK" : "some stages FAILED");
    return d.failures == 0 ? TOOL_OK : TOOL_FAIL;
}
