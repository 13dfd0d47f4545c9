/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The module's configuration, parsed from an INI file (libinih). The file format is documented
 * in examples/skr-pkcs11.conf and docs/configuration.md. Sections:
 *
 *   [module]       log-level, log-target, ca-file, timeouts and retry policy
 *   [attestation]  provider, maa-endpoint, tcti, pcrs, imds-endpoint
 *   [identity]     type and its parameters (managed identity, service principal, workload)
 *   [token NAME]   one PKCS#11 token/slot: label, pin, vault, source
 *   [key NAME]     one key of a token: token = NAME, key name/version in the vault, label, id,
 *                  certificate, required, oct-type; with `source = file`: file, cert-file
 *
 * Every value is validated; unknown sections/keys and bad values are errors naming file and
 * line. Nothing here talks to the network, the TPM or OpenSSL.
 */
#ifndef SKR_CONFIG_CFG_H
#define SKR_CONFIG_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "u_log.h"
#include "u_secmem.h"

enum cfg_attest_provider {
    CFG_ATTEST_NONE = 0,       /* no attestation: only public metadata is loaded */
    CFG_ATTEST_AZURE_CVM_VTPM, /* SEV-SNP or TDX CVM with the Azure vTPM, MAA AzureGuest */
    CFG_ATTEST_SEV_SNP,        /* raw SNP report, MAA SevSnpVm (reserved, not yet built) */
    CFG_ATTEST_SGX,            /* SGX enclave (reserved, not yet built) */
};

enum cfg_identity_type {
    CFG_IDENTITY_MANAGED = 0,       /* IMDS managed identity */
    CFG_IDENTITY_SERVICE_PRINCIPAL, /* Entra client credentials: secret or certificate */
    CFG_IDENTITY_WORKLOAD,          /* AKS workload identity: federated token file */
};

enum cfg_key_source {
    CFG_SOURCE_KEYVAULT = 0, /* Key Vault / Managed HSM through Secure Key Release */
    CFG_SOURCE_FILE,         /* local key files; tests and development only */
};

enum cfg_oct_type {
    CFG_OCT_AES = 0, /* oct keys become CKK_AES */
    CFG_OCT_GENERIC, /* oct keys become CKK_GENERIC_SECRET */
};

struct cfg_key {
    char *section;        /* the section name after "key ", for messages */
    unsigned line;        /* line of the section header */
    char *token;          /* name of the [token NAME] it belongs to (required) */
    char *name;           /* Key Vault key name (default: section name) */
    char *version;        /* Key Vault key version, NULL = latest */
    char *label;          /* CKA_LABEL (default: name) */
    unsigned char id[64]; /* CKA_ID from hex `id =`; id_len 0 = SHA-1 of the public key */
    size_t id_len;
    char *certificate; /* Key Vault certificate name, NULL = none */
    bool required;     /* failure to release fails C_Initialize (default yes) */
    enum cfg_oct_type oct_type;
    char *file;      /* source=file: PKCS#8 (PEM or DER) private key, or raw secret bytes */
    char *cert_file; /* source=file: X.509 certificate (PEM or DER) */
    char *key_type;  /* source=file, secret keys: "aes" | "generic-secret" (default from file) */
};

struct cfg_token {
    char *name; /* section name after "token " */
    unsigned line;
    char *label;          /* CKA token label, ≤ 32 bytes (default: name) */
    char *serial;         /* ≤ 16 chars; default derived from the label */
    struct u_secbuf *pin; /* user PIN; NULL = no login required */
    char *vault;          /* https://NAME.vault.azure.net or https://NAME.managedhsm.azure.net */
    enum cfg_key_source source;
    struct cfg_key **keys; /* in file order */
    size_t nkeys;
};

struct cfg_attestation {
    enum cfg_attest_provider provider;
    char *maa_endpoint;         /* https://HOST; the issuer the MAA token must carry */
    char *tcti;                 /* tpm2-tss TCTI config, default "device:/dev/tpmrm0" */
    uint32_t pcr_mask;          /* bit i = PCR i in the SHA-256 bank; default 0-7 */
    char *imds_endpoint;        /* default http://169.254.169.254 (also THIM and /acc/tdquote) */
    char *client_payload_nonce; /* optional nonce sent in ClientPayload */
};

struct cfg_identity {
    enum cfg_identity_type type;
    char *client_id;  /* managed identity selector, or the app id of a service principal */
    char *object_id;  /* managed identity selector */
    char *msi_res_id; /* managed identity selector (ARM resource id) */
    char *tenant_id;
    struct u_secbuf *client_secret; /* service principal secret (from client-secret-file) */
    char *client_secret_file;       /* where client_secret was read from (for messages) */
    char *client_certificate;       /* PEM file with certificate and private key */
    char *federated_token_file;
    char *authority_host; /* default https://login.microsoftonline.com */
    char *resource;       /* default derived from the vault hosts (vault or managedhsm); NULL when
                           * tokens mix Key Vault and Managed HSM and none is configured: derive
                           * per vault then */
};

struct cfg_http {
    char *ca_file; /* extra trust anchors (PEM) for TLS and the release JWS; NULL = system */
    long connect_timeout_ms;   /* default 5000 */
    long request_timeout_ms;   /* per request, default 30000 */
    unsigned retry_max;        /* attempts after the first, default 4 */
    long retry_base_ms;        /* first backoff, default 500, doubled each time, with jitter */
    long retry_budget_ms;      /* total time for one stage incl. retries, default 60000 */
    size_t max_response_bytes; /* default 1 MiB */
};

struct cfg {
    char *path;
    enum u_log_level log_level;   /* default error */
    enum u_log_target log_target; /* default stderr */
    struct cfg_attestation att;
    struct cfg_identity identity;
    struct cfg_http http;
    struct cfg_token **tokens; /* in file order */
    size_t ntokens;
};

enum cfg_err {
    CFG_OK = 0,
    CFG_ERR_NOMEM,
    CFG_ERR_NOFILE, /* cannot open or read the file */
    CFG_ERR_SYNTAX, /* INI syntax, unknown section/key, bad value, missing required value */
};

/** Default path when neither SKR_PKCS11_CONF nor pReserved name one. */
#define CFG_DEFAULT_PATH "/etc/skr-pkcs11/skr-pkcs11.conf"

/**
 * Pick the config path: SKR_PKCS11_CONF, else "config=PATH" inside `reserved` (the string
 * p11-kit passes from x-init-reserved; other space-separated words are ignored), else the
 * default. Returns a newly allocated string (caller frees) or NULL on OOM.
 */
char *cfg_path_select(const char *reserved);

/**
 * Parse and validate `path`. On success *out owns the result (free with cfg_free). On error
 * nothing is returned, and one log line names file, line and reason; `errbuf` (if not NULL)
 * receives the same text.
 */
enum cfg_err cfg_load(const char *path, struct cfg **out, char *errbuf, size_t errlen);

/** Parse from a memory buffer (fuzzing, tests); `name` is used in messages. */
enum cfg_err cfg_load_string(const char *text, const char *name, struct cfg **out, char *errbuf,
                             size_t errlen);

/** Free; wipes secrets. NULL-safe. */
void cfg_free(struct cfg *c);

#endif /* SKR_CONFIG_CFG_H */
