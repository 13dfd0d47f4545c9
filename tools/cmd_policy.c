/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skr-tool policy [--config PATH] [--measurement] [--claims FILE]: print a Key Vault release
 * policy (AZURE-SKR.md §g) that the current environment's verified MAA claims satisfy:
 * authority = the configured MAA, attestation type and compliance status, optionally the SNP
 * launch measurement. --claims takes the claims JSON (as `skr-tool attest` prints it) from a
 * file instead of attesting.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "kr_attest.h"
#include "kr_http.h"
#include "skr_tool.h"

static void policy_usage(FILE *f)
{
    fprintf(f, "usage: skr-tool policy [--config PATH] [--measurement] [--claims FILE]\n"
               "  Print a release policy the current environment satisfies.\n");
}

static char *current_claims(const struct cfg *c)
{
    struct kr_http *http = NULL;
    struct kr_attester *a = NULL;
    char *claims = NULL;
    enum kr_err err = kr_http_new(&c->http, &http);
    if (err == KR_OK)
        err = kr_attester_new(c, http, &a);
    if (err == KR_OK)
        err = kr_attest_claims(a, &claims);
    if (err != KR_OK)
        fprintf(stderr, "skr-tool policy: attestation failed: %s\n", kr_err_str(err));
    kr_attester_free(a);
    kr_http_free(http);
    return claims;
}

static int policy_run(const struct cfg *c, const char *claims_file, bool measurement)
{
    char *claims = claims_file != NULL ? tool_read_file(claims_file, NULL) : current_claims(c);
    char *policy = NULL;
    if (claims == NULL)
        return TOOL_FAIL;
    const char *authority = c->att.maa_endpoint;
    enum kr_err err = authority != NULL ? kr_attest_policy(claims, authority, measurement, &policy)
                                        : KR_ERR_CONFIG;
    free(claims);
    if (err != KR_OK) {
        fprintf(stderr, "skr-tool policy: %s\n",
                err == KR_ERR_CONFIG ? "no maa-endpoint configured" : kr_err_str(err));
        return err == KR_ERR_CONFIG ? TOOL_USAGE : TOOL_FAIL;
    }
    printf("%s\n", policy);
    free(policy);
    return TOOL_OK;
}

int cmd_policy(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"measurement", no_argument, NULL, 'm'},
                                         {"claims", required_argument, NULL, 'C'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL, *claims_file = NULL;
    bool measurement = false;
    int o;
    optind = 1;
    /* our own log lines carry the TPM error text; silence tpm2-tss unless asked for */
    setenv("TSS2_LOG", "all+none", 0);
    while ((o = getopt_long(argc, argv, "c:mC:h", opts, NULL)) != -1) {
        if (o == 'c') {
            config = optarg;
        } else if (o == 'm') {
            measurement = true;
        } else if (o == 'C') {
            claims_file = optarg;
        } else {
            policy_usage(o == 'h' ? stdout : stderr);
            return o == 'h' ? TOOL_OK : TOOL_USAGE;
        }
    }
    struct cfg *c = tool_load_config(config);
    if (c == NULL)
        return TOOL_USAGE;
    int rc = policy_run(c, claims_file, measurement);
    cfg_free(c);
    return rc;
}
