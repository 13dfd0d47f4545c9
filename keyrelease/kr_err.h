/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Error codes and stage names of keyrelease/. Every kr_* function that can fail returns an
 * `enum kr_err`; module/ maps it to a CK_RV in exactly one place (mod_kr_rv.c, kr_err_to_rv).
 * A failure is reported as (stage, error, message): the stage says which step of the SKR flow
 * failed (ARCHITECTURE.md "Failure is visible and specific"), the error says how.
 */
#ifndef SKR_KEYRELEASE_KR_ERR_H
#define SKR_KEYRELEASE_KR_ERR_H

enum kr_err {
    KR_OK = 0,
    KR_ERR_NOMEM,          /* allocation failed */
    KR_ERR_CONFIG,         /* missing/invalid configuration value (e.g. no vault URL) */
    KR_ERR_INVALID,        /* invalid argument (programmer error: bad length, unknown hash) */
    KR_ERR_NETWORK,        /* connect, DNS, TLS handshake/verification, timeout, size cap */
    KR_ERR_HTTP,           /* non-2xx answer not covered by a more precise code below */
    KR_ERR_PARSE,          /* bad JSON, bad base64, unexpected shape */
    KR_ERR_VERIFY,         /* signature, issuer, exp/nbf, x5c chain or host name check failed */
    KR_ERR_POLICY,         /* release refused: the attestation token does not satisfy the policy */
    KR_ERR_NOT_EXPORTABLE, /* release refused: key not exportable / has no release policy */
    KR_ERR_FORBIDDEN,      /* 403 for another reason: missing keys/release permission */
    KR_ERR_NOT_FOUND,      /* 404: key, version or certificate does not exist */
    KR_ERR_AUTH,           /* identity: no bearer token (IMDS/Entra refused, 401 from AKV) */
    KR_ERR_TPM,            /* TPM command failed (tss2 error) */
    KR_ERR_UNWRAP,         /* RSA-OAEP or AES-KWP unwrap failed, or bad plaintext format */
    KR_ERR_MISMATCH,       /* released key's public part != the published public key */
    KR_ERR_UNSUPPORTED,    /* algorithm/key type/provider not supported */
    KR_ERR_INTERNAL,       /* OpenSSL/curl internal failure not caused by input */
};

enum kr_stage {
    KR_STAGE_NONE = 0,
    KR_STAGE_IDENTITY,       /* bearer token from IMDS / Entra */
    KR_STAGE_EVIDENCE,       /* vTPM / SNP / TDX evidence collection */
    KR_STAGE_ATTEST,         /* MAA request and envelope decrypt */
    KR_STAGE_TOKEN_VERIFY,   /* MAA JWT verification (OIDC → JWKS → kid, iss, exp/nbf) */
    KR_STAGE_METADATA,       /* AKV GET key / GET certificate */
    KR_STAGE_RELEASE,        /* AKV POST release */
    KR_STAGE_RELEASE_VERIFY, /* release JWS verification (x5c, host, RS256, kid) */
    KR_STAGE_UNWRAP,         /* key_hsm: RSA-OAEP + AES-KWP, public-part comparison */
};

/** Short constant English text for `e` ("network error", ...). Never NULL. */
const char *kr_err_str(enum kr_err e);

/** Stage name as logged: "identity", "evidence", "attest", "token-verify", "metadata",
 *  "release", "release-verify", "unwrap" ("-" for KR_STAGE_NONE). Never NULL. */
const char *kr_stage_name(enum kr_stage s);

#endif /* SKR_KEYRELEASE_KR_ERR_H */
