/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bearer tokens for Key Vault / Managed HSM (AZURE-SKR.md §d.1, §d.2):
 *   managed-identity   GET <imds>/metadata/identity/oauth2/token?api-version=2018-02-01
 *                      &resource=..[&client_id|object_id|msi_res_id], "Metadata: true", no proxy
 *   service-principal  POST <authority>/<tenant>/oauth2/v2.0/token, client_credentials with
 *                      client_secret (from client-secret-file) or a client assertion JWT (RS256,
 *                      header x5t = SHA-1 of the certificate, aud = the token endpoint) signed
 *                      with the key in client-certificate
 *   workload-identity  same endpoint, client_assertion = contents of the federated token file
 * scope/resource: cfg identity.resource, else derived from the vault host
 * (https://vault.azure.net or https://managedhsm.azure.net).
 *
 * Tokens are cached per resource until 5 minutes before expiry, kept in u_secbuf, never logged.
 * Thread-safe (one lock around the cache; no network I/O under it when a token is cached).
 */
#ifndef SKR_KEYRELEASE_KR_IDENTITY_H
#define SKR_KEYRELEASE_KR_IDENTITY_H

#include "cfg.h"
#include "kr_err.h"
#include "u_secmem.h"

struct kr_http;
struct kr_identity;

/** Create (no I/O). `cfg`, `http` borrowed, must outlive it. KR_OK, KR_ERR_NOMEM. */
enum kr_err kr_identity_new(const struct cfg *cfg, struct kr_http *http, struct kr_identity **out);

/** Free; wipes cached tokens. NULL-safe. */
void kr_identity_free(struct kr_identity *id);

/**
 * Resource (audience) for a vault URL: cfg identity.resource if set, else
 * "https://managedhsm.azure.net" for *.managedhsm.* hosts, else "https://vault.azure.net".
 * Returns a malloc'd string or NULL on OOM.
 */
char *kr_identity_resource_for(const struct cfg *cfg, const char *vault_url);

/**
 * Bearer token for `resource`. *out is a NEW secure buffer holding the token text (NUL-
 * terminated, len without NUL); the caller frees it with u_secbuf_free. Failures log one line
 * with stage "identity". KR_OK, KR_ERR_AUTH (refused by IMDS/Entra, 4xx), KR_ERR_NETWORK,
 * KR_ERR_HTTP, KR_ERR_PARSE, KR_ERR_CONFIG (missing tenant/client id/secret file ...),
 * KR_ERR_NOMEM.
 */
enum kr_err kr_identity_token(struct kr_identity *id, const char *resource, struct u_secbuf **out);

#endif /* SKR_KEYRELEASE_KR_IDENTITY_H */
