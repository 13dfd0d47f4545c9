/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skr-tool list [--config FILE] [--release]: the configured tokens and keys, their public
 * metadata (key type, certificate) and release state. Without --release only the public
 * metadata is fetched (no attestation); with it, the module's whole flow runs and each key says
 * released or why not. Key material is wiped at once and never printed.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "kr.h"
#include "skr_tool.h"

static const char *kind_name(enum kr_kind k)
{
    return k == KR_KIND_EC ? "EC" : k == KR_KIND_OCT ? "oct" : "RSA";
}

static void print_token(const struct cfg_token *t)
{
    printf("token %s (label \"%s\") source=%s vault=%s\n", t->name, t->label ? t->label : t->name,
           t->source == CFG_SOURCE_FILE ? "file" : "keyvault", t->vault ? t->vault : "-");
}

static void print_key(const struct kr_key_result *r, bool released)
{
    const struct cfg_key *k = r->key;
    printf("  key %-24s %-4s public=%s cert=%s required=%s ", k->name ? k->name : k->section,
           r->have_public || r->kind == KR_KIND_OCT ? kind_name(r->kind) : "?",
           r->have_public ? "yes" : "no", r->cert ? "yes" : (k->certificate ? "failed" : "-"),
           k->required ? "yes" : "no");
    if (r->priv != NULL)
        printf("state=released\n");
    else if (r->err != KR_OK &&
             (released || r->stage == KR_STAGE_METADATA || r->stage == KR_STAGE_IDENTITY))
        printf("state=failed (%s)\n", r->msg);
    else
        printf("state=not-attempted\n");
}

int cmd_list(int argc, char **argv)
{
    static const struct option lo[] = {{"config", required_argument, NULL, 'c'},
                                       {"release", no_argument, NULL, 'r'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    const char *path = NULL;
    bool release = false;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'c') {
            path = optarg;
        } else if (c == 'r') {
            release = true;
        } else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: skr-tool list [--config FILE] [--release]\n");
            return c == 'h' ? TOOL_OK : TOOL_USAGE;
        }
    }
    struct cfg *cfg = tool_load_config(path);
    if (cfg == NULL)
        return TOOL_USAGE;
    struct kr_ctx *ctx = NULL;
    struct kr_result *res = NULL;
    enum kr_err err = kr_ctx_new(cfg, &ctx);
    if (err == KR_OK)
        err = release ? kr_release_all(ctx, &res) : kr_metadata_all(ctx, &res);
    int rc = err == KR_OK ? TOOL_OK : TOOL_FAIL;
    for (size_t t = 0; err == KR_OK && t < cfg->ntokens; t++) {
        print_token(cfg->tokens[t]);
        for (size_t i = 0; i < res->nkeys; i++) {
            if (res->keys[i].token != cfg->tokens[t])
                continue;
            print_key(&res->keys[i], release);
            if (res->keys[i].err != KR_OK && res->keys[i].key->required)
                rc = TOOL_FAIL;
        }
    }
    if (err != KR_OK)
        fprintf(stderr, "skr-tool list: %s\n", kr_err_str(err));
    kr_result_free(res); /* wipes any released material */
    kr_ctx_free(ctx);
    cfg_free(cfg);
    return rc;
}
