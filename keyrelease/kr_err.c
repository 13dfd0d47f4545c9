/* SPDX-License-Identifier: Apache-2.0 */
/* Names of keyrelease/ errors and stages, for log lines and skr-tool output. */
#include "kr_err.h"

#include <stddef.h>

#include "u_macros.h"

static const char *const err_names[] = {
        [KR_OK] = "ok",
        [KR_ERR_NOMEM] = "out of memory",
        [KR_ERR_CONFIG] = "configuration error",
        [KR_ERR_INVALID] = "invalid argument",
        [KR_ERR_NETWORK] = "network error",
        [KR_ERR_HTTP] = "HTTP error",
        [KR_ERR_PARSE] = "malformed response",
        [KR_ERR_VERIFY] = "verification failed",
        [KR_ERR_POLICY] = "release refused by policy",
        [KR_ERR_NOT_EXPORTABLE] = "key not exportable",
        [KR_ERR_FORBIDDEN] = "forbidden",
        [KR_ERR_NOT_FOUND] = "not found",
        [KR_ERR_AUTH] = "authentication failed",
        [KR_ERR_TPM] = "TPM error",
        [KR_ERR_UNWRAP] = "unwrap failed",
        [KR_ERR_MISMATCH] = "released key does not match the published public key",
        [KR_ERR_UNSUPPORTED] = "unsupported",
        [KR_ERR_INTERNAL] = "internal error",
};

static const char *const stage_names[] = {
        [KR_STAGE_NONE] = "-",
        [KR_STAGE_IDENTITY] = "identity",
        [KR_STAGE_EVIDENCE] = "evidence",
        [KR_STAGE_ATTEST] = "attest",
        [KR_STAGE_TOKEN_VERIFY] = "token-verify",
        [KR_STAGE_METADATA] = "metadata",
        [KR_STAGE_RELEASE] = "release",
        [KR_STAGE_RELEASE_VERIFY] = "release-verify",
        [KR_STAGE_UNWRAP] = "unwrap",
};

const char *kr_err_str(enum kr_err e)
{
    if ((size_t)e >= U_ARRAY_SIZE(err_names) || err_names[e] == NULL)
        return "unknown error";
    return err_names[e];
}

const char *kr_stage_name(enum kr_stage s)
{
    if ((size_t)s >= U_ARRAY_SIZE(stage_names) || stage_names[s] == NULL)
        return "-";
    return stage_names[s];
}
