/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rules that span keys or sections, checked once the whole file is read: what each identity
 * type needs and forbids (with the AKS workload-identity environment as defaults), the
 * attestation endpoint keyvault tokens need, per-token and per-key defaults that depend on
 * other values, keys naming existing tokens, and the Key Vault resource. Each error names the
 * line of the key at fault, or the section header when a key is missing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_internal.h"
#include "u_macros.h"
#include "u_secmem.h"

/* Longest client secret file accepted. */
#define SECRET_FILE_MAX 8192

/* Line of `key` in section record `r`, or 0 when the key was not in the file. */
static unsigned key_line(const struct cfg_rec *r, enum cfg_sect s, const char *key)
{
    int i = cfg_schema_find(s, key);
    return i < 0 ? 0 : r->lines[i];
}

static bool is_set(const struct cfg_rec *r, enum cfg_sect s, const char *key)
{
    return key_line(r, s, key) != 0;
}

/* ---- identity --------------------------------------------------------------------------- */

/* AKS workload identity: the webhook injects these; config keys win when present. */
static void workload_env(struct cfg_ctx *x)
{
    static const char *const map[][2] = {
            {"client-id", "AZURE_CLIENT_ID"},
            {"tenant-id", "AZURE_TENANT_ID"},
            {"federated-token-file", "AZURE_FEDERATED_TOKEN_FILE"},
            {"authority-host", "AZURE_AUTHORITY_HOST"},
    };
    struct cfg_rec *r = &x->glob[CFG_SECT_IDENTITY];
    size_t n;
    const struct cfg_field *f = cfg_schema_fields(CFG_SECT_IDENTITY, &n);
    char why[256];
    for (size_t i = 0; i < U_ARRAY_SIZE(map); i++) {
        const char *v = secure_getenv(map[i][1]);
        if (is_set(r, CFG_SECT_IDENTITY, map[i][0]) || v == NULL || *v == '\0')
            continue;
        enum cfg_err e = cfg_schema_set(&f[cfg_schema_find(CFG_SECT_IDENTITY, map[i][0])], x->cfg,
                                        v, NULL, why, sizeof(why));
        if (e != CFG_OK) {
            cfg_fail(x, e, r->line, CFG_SECT_IDENTITY, NULL, "%s from the environment (%s): %s",
                     map[i][0], map[i][1], why);
            return;
        }
    }
}

struct id_rule {
    enum cfg_identity_type type;
    const char *name;
    const char *forbidden[4];
    const char *required[3];
};

static const struct id_rule g_id_rules[] = {
        {CFG_IDENTITY_MANAGED,
         "managed-identity",
         {"client-secret-file", "client-certificate", "federated-token-file"},
         {NULL}},
        {CFG_IDENTITY_SERVICE_PRINCIPAL,
         "service-principal",
         {"object-id", "msi-res-id", "federated-token-file"},
         {"client-id", "tenant-id"}},
        {CFG_IDENTITY_WORKLOAD,
         "workload-identity",
         {"object-id", "msi-res-id", "client-secret-file", "client-certificate"},
         {"client-id", "tenant-id", "federated-token-file"}},
};

static bool field_present(const struct cfg *c, const char *key)
{
    size_t n;
    const struct cfg_field *f = cfg_schema_fields(CFG_SECT_IDENTITY, &n);
    int i = cfg_schema_find(CFG_SECT_IDENTITY, key);
    return *(char *const *)((const unsigned char *)c + f[i].off) != NULL;
}

static void identity_rules(struct cfg_ctx *x, const struct id_rule *rule)
{
    struct cfg_rec *r = &x->glob[CFG_SECT_IDENTITY];
    for (size_t i = 0; i < U_ARRAY_SIZE(rule->forbidden) && rule->forbidden[i]; i++) {
        unsigned ln = key_line(r, CFG_SECT_IDENTITY, rule->forbidden[i]);
        if (ln != 0)
            cfg_fail(x, CFG_ERR_SYNTAX, ln, CFG_SECT_IDENTITY, NULL,
                     "'%s' does not apply to type = %s", rule->forbidden[i], rule->name);
    }
    for (size_t i = 0; i < U_ARRAY_SIZE(rule->required) && rule->required[i]; i++) {
        if (!field_present(x->cfg, rule->required[i]))
            cfg_fail(x, CFG_ERR_SYNTAX, r->line, CFG_SECT_IDENTITY, NULL, "type = %s needs '%s'%s",
                     rule->name, rule->required[i],
                     rule->type == CFG_IDENTITY_WORKLOAD ? " (or its AZURE_* environment variable)"
                                                         : "");
    }
}

/* Managed identity: at most one selector; service principal: exactly one credential. */
static void identity_choices(struct cfg_ctx *x)
{
    static const char *const mi_sel[] = {"client-id", "object-id", "msi-res-id"};
    static const char *const sp_cred[] = {"client-secret-file", "client-certificate"};
    const struct cfg_identity *id = &x->cfg->identity;
    struct cfg_rec *r = &x->glob[CFG_SECT_IDENTITY];
    unsigned seen = 0;
    if (id->type == CFG_IDENTITY_MANAGED) {
        for (size_t i = 0; i < U_ARRAY_SIZE(mi_sel); i++) {
            unsigned ln = key_line(r, CFG_SECT_IDENTITY, mi_sel[i]);
            if (ln != 0 && seen++ > 0)
                cfg_fail(x, CFG_ERR_SYNTAX, ln, CFG_SECT_IDENTITY, NULL,
                         "set only one of client-id, object-id, msi-res-id");
        }
    } else if (id->type == CFG_IDENTITY_SERVICE_PRINCIPAL) {
        unsigned ln = key_line(r, CFG_SECT_IDENTITY, sp_cred[1]);
        if (id->client_secret_file == NULL && id->client_certificate == NULL)
            cfg_fail(x, CFG_ERR_SYNTAX, r->line, CFG_SECT_IDENTITY, NULL,
                     "type = service-principal needs client-secret-file or client-certificate");
        else if (id->client_secret_file != NULL && id->client_certificate != NULL)
            cfg_fail(x, CFG_ERR_SYNTAX, ln, CFG_SECT_IDENTITY, NULL,
                     "set only one of client-secret-file, client-certificate");
    }
}

/* The secret is read with read(2) straight into locked memory; trailing newlines dropped. */
static int read_secret(const char *path, struct u_secbuf **out)
{
    unsigned char buf[SECRET_FILE_MAX + 1];
    size_t got = 0;
    int err = 0;
    struct stat st;
    /* O_NONBLOCK: a FIFO or a terminal must not hang C_Initialize; only regular files. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return errno;
    if (fstat(fd, &st) != 0)
        err = errno;
    else if (!S_ISREG(st.st_mode))
        err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
    while (err == 0 && got < sizeof(buf)) {
        ssize_t r = read(fd, buf + got, sizeof(buf) - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            err = errno;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (err == 0 && got == sizeof(buf))
        err = EFBIG;
    while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r' || buf[got - 1] == ' '))
        got--;
    if (err == 0 && got == 0)
        err = ENODATA;
    if (err == 0) {
        *out = u_secbuf_dup(buf, got);
        err = *out == NULL ? ENOMEM : 0;
    }
    u_memzero(buf, sizeof(buf));
    close(fd);
    return err;
}

static void identity_secret(struct cfg_ctx *x)
{
    struct cfg_identity *id = &x->cfg->identity;
    if (x->err != CFG_OK || id->type != CFG_IDENTITY_SERVICE_PRINCIPAL ||
        id->client_secret_file == NULL)
        return;
    int err = read_secret(id->client_secret_file, &id->client_secret);
    if (err == 0)
        return;
    unsigned ln = key_line(&x->glob[CFG_SECT_IDENTITY], CFG_SECT_IDENTITY, "client-secret-file");
    cfg_fail(x, err == ENOMEM ? CFG_ERR_NOMEM : CFG_ERR_SYNTAX, ln, CFG_SECT_IDENTITY, NULL,
             "client-secret-file '%.200s': %s", id->client_secret_file,
             err == EFBIG     ? "larger than 8 KiB"
             : err == ENODATA ? "empty"
             : err == EINVAL  ? "not a regular file"
                              : strerror(err));
}

static void check_identity(struct cfg_ctx *x)
{
    const struct cfg_identity *id = &x->cfg->identity;
    if (id->type == CFG_IDENTITY_WORKLOAD)
        workload_env(x);
    for (size_t i = 0; i < U_ARRAY_SIZE(g_id_rules); i++) {
        if (g_id_rules[i].type == id->type)
            identity_rules(x, &g_id_rules[i]);
    }
    identity_choices(x);
    identity_secret(x);
}

/* ---- attestation, tokens, keys ------------------------------------------------------------ */

static const struct cfg_token *first_keyvault_token(const struct cfg *c)
{
    for (size_t i = 0; i < c->ntokens; i++) {
        if (c->tokens[i]->source == CFG_SOURCE_KEYVAULT)
            return c->tokens[i];
    }
    return NULL;
}

static void check_attestation(struct cfg_ctx *x)
{
    const struct cfg_attestation *att = &x->cfg->att;
    const struct cfg_rec *r = &x->glob[CFG_SECT_ATTEST];
    const struct cfg_token *kv = first_keyvault_token(x->cfg);
    if (att->provider == CFG_ATTEST_SEV_SNP || att->provider == CFG_ATTEST_SGX) {
        size_t n;
        const struct cfg_field *f = cfg_schema_fields(CFG_SECT_ATTEST, &n);
        cfg_fail(x, CFG_ERR_SYNTAX, key_line(r, CFG_SECT_ATTEST, "provider"), CFG_SECT_ATTEST, NULL,
                 "provider = %s is reserved and not built yet (use azure-cvm-vtpm)",
                 cfg_schema_enum_name(&f[cfg_schema_find(CFG_SECT_ATTEST, "provider")],
                                      (int)att->provider));
        return;
    }
    if (att->provider != CFG_ATTEST_NONE && att->maa_endpoint == NULL && kv != NULL) {
        if (r->line != 0)
            cfg_fail(x, CFG_ERR_SYNTAX, r->line, CFG_SECT_ATTEST, NULL,
                     "maa-endpoint is required when a token has source = keyvault");
        else
            cfg_fail(x, CFG_ERR_SYNTAX, kv->line, CFG_SECT_TOKEN, kv->name,
                     "source = keyvault needs [attestation] maa-endpoint (or provider = none)");
    }
}

static void check_token(struct cfg_ctx *x, size_t i)
{
    struct cfg_token *t = x->cfg->tokens[i];
    const struct cfg_rec *r = &x->toks[i];
    if (t->label == NULL && strlen(t->name) > 32) {
        cfg_fail(x, CFG_ERR_SYNTAX, t->line, CFG_SECT_TOKEN, t->name,
                 "the label defaults to the token name, which is longer than 32 bytes: set label");
        return;
    }
    if (t->label == NULL) {
        t->label = strdup(t->name);
        if (t->label == NULL) {
            cfg_fail(x, CFG_ERR_NOMEM, 0, CFG_SECT_NONE, NULL, "out of memory");
            return;
        }
    }
    if (t->source == CFG_SOURCE_KEYVAULT && t->vault == NULL)
        cfg_fail(x, CFG_ERR_SYNTAX, t->line, CFG_SECT_TOKEN, t->name,
                 "source = keyvault needs 'vault'");
    for (size_t j = 0; j < i; j++) {
        if (strcmp(x->cfg->tokens[j]->label, t->label) == 0) {
            unsigned ln = key_line(r, CFG_SECT_TOKEN, "label");
            cfg_fail(x, CFG_ERR_SYNTAX, ln ? ln : t->line, CFG_SECT_TOKEN, t->name,
                     "label '%s' is already used by [token %s]", t->label, x->cfg->tokens[j]->name);
        }
    }
}

static struct cfg_token *find_token(const struct cfg *c, const char *name)
{
    for (size_t i = 0; i < c->ntokens; i++) {
        if (strcmp(c->tokens[i]->name, name) == 0)
            return c->tokens[i];
    }
    return NULL;
}

/* Keys that only make sense for one kind of token source. */
static void key_source_keys(struct cfg_ctx *x, const struct cfg_rec *r, const struct cfg_key *k,
                            enum cfg_key_source src)
{
    static const char *const kv_only[] = {"version", "certificate", "oct-type"};
    static const char *const file_only[] = {"file", "cert-file", "key-type"};
    const char *const *bad = src == CFG_SOURCE_FILE ? kv_only : file_only;
    for (size_t i = 0; i < 3; i++) {
        unsigned ln = key_line(r, CFG_SECT_KEY, bad[i]);
        if (ln != 0)
            cfg_fail(x, CFG_ERR_SYNTAX, ln, CFG_SECT_KEY, k->section,
                     "'%s' applies only to tokens with source = %s", bad[i],
                     src == CFG_SOURCE_FILE ? "keyvault" : "file");
    }
}

static enum cfg_err dup_default(char **dst, const char *src)
{
    if (*dst != NULL)
        return CFG_OK;
    *dst = strdup(src);
    return *dst == NULL ? CFG_ERR_NOMEM : CFG_OK;
}

static void check_key(struct cfg_ctx *x, const struct cfg_rec *r)
{
    struct cfg_key *k = r->obj;
    char why[256];
    if (k->token == NULL) {
        cfg_fail(x, CFG_ERR_SYNTAX, k->line, CFG_SECT_KEY, k->section,
                 "missing required key 'token'");
        return;
    }
    const struct cfg_token *t = find_token(x->cfg, k->token);
    if (t == NULL) {
        cfg_fail(x, CFG_ERR_SYNTAX, key_line(r, CFG_SECT_KEY, "token"), CFG_SECT_KEY, k->section,
                 "token '%s' has no [token %s] section", k->token, k->token);
        return;
    }
    key_source_keys(x, r, k, t->source);
    if (t->source == CFG_SOURCE_FILE && k->file == NULL)
        cfg_fail(x, CFG_ERR_SYNTAX, k->line, CFG_SECT_KEY, k->section,
                 "token '%s' has source = file: 'file' is required", t->name);
    if (t->source == CFG_SOURCE_KEYVAULT && k->name == NULL &&
        !cfg_check_vault_name(k->section, why, sizeof(why)))
        cfg_fail(x, CFG_ERR_SYNTAX, k->line, CFG_SECT_KEY, k->section,
                 "the key name defaults to the section name, and %s: set name", why);
    if (dup_default(&k->name, k->section) != CFG_OK || dup_default(&k->label, k->name) != CFG_OK)
        cfg_fail(x, CFG_ERR_NOMEM, 0, CFG_SECT_NONE, NULL, "out of memory");
}

/* One resource for every vault when they agree; NULL (derive per vault) when they mix. */
static void default_resource(struct cfg_ctx *x)
{
    struct cfg *c = x->cfg;
    bool vault = false, mhsm = false;
    if (c->identity.resource != NULL)
        return;
    for (size_t i = 0; i < c->ntokens; i++) {
        const struct cfg_token *t = c->tokens[i];
        if (t->source != CFG_SOURCE_KEYVAULT || t->vault == NULL)
            continue;
        if (strcasestr(t->vault, ".managedhsm.") != NULL)
            mhsm = true;
        else
            vault = true;
    }
    if (vault && mhsm)
        return;
    c->identity.resource =
            strdup(mhsm ? "https://managedhsm.azure.net" : "https://vault.azure.net");
    if (c->identity.resource == NULL)
        cfg_fail(x, CFG_ERR_NOMEM, 0, CFG_SECT_NONE, NULL, "out of memory");
}

/* Hand each key to its token, in file order. Allocates first, so a failure leaves every key
 * still owned by the context. */
static void distribute_keys(struct cfg_ctx *x)
{
    struct cfg *c = x->cfg;
    for (size_t i = 0; i < c->ntokens; i++) {
        size_t n = 0;
        for (size_t j = 0; j < x->nkeys; j++)
            n += strcmp(((struct cfg_key *)x->keys[j].obj)->token, c->tokens[i]->name) == 0;
        if (n == 0)
            continue;
        c->tokens[i]->keys = calloc(n, sizeof(*c->tokens[i]->keys));
        if (c->tokens[i]->keys == NULL) {
            cfg_fail(x, CFG_ERR_NOMEM, 0, CFG_SECT_NONE, NULL, "out of memory");
            return;
        }
    }
    for (size_t j = 0; j < x->nkeys; j++) {
        struct cfg_key *k = x->keys[j].obj;
        struct cfg_token *t = find_token(c, k->token);
        if (t == NULL) { /* check_key refused unknown tokens already; keep ownership intact */
            cfg_fail(x, CFG_ERR_SYNTAX, 0, CFG_SECT_NONE, NULL, "key names an unknown token");
            return;
        }
        t->keys[t->nkeys++] = k;
        x->keys[j].obj = NULL;
    }
    x->nkeys = 0;
}

enum cfg_err cfg_check_all(struct cfg_ctx *x)
{
    /* Tokens and keys first: a missing vault or token explains more than what follows. */
    for (size_t i = 0; i < x->cfg->ntokens && x->err == CFG_OK; i++)
        check_token(x, i);
    for (size_t i = 0; i < x->nkeys && x->err == CFG_OK; i++)
        check_key(x, &x->keys[i]);
    if (x->err == CFG_OK)
        check_attestation(x);
    if (x->err == CFG_OK)
        check_identity(x);
    if (x->err == CFG_OK)
        default_resource(x);
    if (x->err == CFG_OK)
        distribute_keys(x);
    return x->err;
}
