/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skr-tool attest [--config PATH] [--jwt]: evidence from the vTPM, MAA AzureGuest, token
 * verification and ephemeral-key binding (kr_attest); prints the verified claims as JSON, or
 * the compact token with --jwt.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "kr_attest.h"
#include "kr_http.h"
#include "skr_tool.h"
#include "u_secmem.h"

static void attest_usage(FILE *f)
{
    fprintf(f, "usage: skr-tool attest [--config PATH] [--jwt]\n"
               "  Attest with the configured vTPM and MAA; print the verified claims (JSON),\n"
               "  or the verified token itself with --jwt.\n");
}

static int attest_run(const struct cfg *c, bool want_jwt)
{
    struct kr_http *http = NULL;
    struct kr_attester *a = NULL;
    char *out = NULL;
    int rc = TOOL_FAIL;
    enum kr_err err = kr_http_new(&c->http, &http);
    if (err == KR_OK)
        err = kr_attester_new(c, http, &a);
    if (err == KR_ERR_CONFIG) {
        rc = TOOL_USAGE;
        goto out;
    }
    if (err == KR_OK)
        err = want_jwt ? kr_attest(a, &out, NULL) : kr_attest_claims(a, &out);
    if (err != KR_OK) {
        fprintf(stderr, "skr-tool attest: %s\n", kr_err_str(err));
        goto out;
    }
    printf("%s\n", out);
    rc = TOOL_OK;
out:
    u_strfree_secret(out);
    kr_attester_free(a);
    kr_http_free(http);
    return rc;
}

int cmd_attest(int argc, char **argv)
{
    static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
                                         {"jwt", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *config = NULL;
    bool want_jwt = false;
    int o;
    optind = 1;
    /* our own log lines carry the TPM error text; silence tpm2-tss unless asked for */
    setenv("TSS2_LOG", "all+none", 0);
    while ((o = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
        if (o == 'c') {
            config = optarg;
        } else if (o == 'j') {
            want_jwt = true;
        } else {
            attest_usage(o == 'h' ? stdout : stderr);
            return o == 'h' ? TOOL_OK : TOOL_USAGE;
        }
    }
    struct cfg *c = tool_load_config(config);
    if (c == NULL)
        return TOOL_USAGE;
    int rc = attest_run(c, want_jwt);
    cfg_free(c);
    return rc;
}
