/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config/: defaults, every key parsed into the struct, keys handed to their tokens in file
 * order, the derived resource, the workload-identity environment, relative paths, the client
 * secret file, config path selection, and every examples/NAME.conf parsing cleanly.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"

static struct cfg *load_ok(const char *text)
{
    char err[512] = "";
    struct cfg *c = NULL;
    enum cfg_err e = cfg_load_string(text, "t.conf", &c, err, sizeof(err));
    if (e != CFG_OK)
        fail_msg("config:\n%s\nerror %d: %s", text, (int)e, err);
    assert_non_null(c);
    return c;
}

static void clear_env(void)
{
    unsetenv("AZURE_CLIENT_ID");
    unsetenv("AZURE_TENANT_ID");
    unsetenv("AZURE_FEDERATED_TOKEN_FILE");
    unsetenv("AZURE_AUTHORITY_HOST");
    unsetenv("SKR_PKCS11_CONF");
}

static void test_defaults(void **state)
{
    (void)state;
    struct cfg *c = load_ok("");
    assert_string_equal(c->path, "t.conf");
    assert_int_equal(c->log_level, U_LOG_ERROR);
    assert_int_equal(c->log_target, U_LOG_TARGET_STDERR);
    assert_null(c->http.ca_file);
    assert_int_equal(c->http.connect_timeout_ms, 5000);
    assert_int_equal(c->http.request_timeout_ms, 30000);
    assert_int_equal(c->http.retry_max, 4);
    assert_int_equal(c->http.retry_base_ms, 500);
    assert_int_equal(c->http.retry_budget_ms, 60000);
    assert_int_equal(c->http.max_response_bytes, 1048576);
    assert_int_equal(c->att.provider, CFG_ATTEST_AZURE_CVM_VTPM);
    assert_null(c->att.maa_endpoint);
    assert_string_equal(c->att.tcti, "device:/dev/tpmrm0");
    assert_int_equal(c->att.pcr_mask, 0xff);
    assert_string_equal(c->att.imds_endpoint, "http://169.254.169.254");
    assert_null(c->att.client_payload_nonce);
    assert_int_equal(c->identity.type, CFG_IDENTITY_MANAGED);
    assert_null(c->identity.client_id);
    assert_null(c->identity.client_secret);
    assert_string_equal(c->identity.authority_host, "https://login.microsoftonline.com");
    assert_string_equal(c->identity.resource, "https://vault.azure.net");
    assert_int_equal(c->ntokens, 0);
    cfg_free(c);
}

static const char g_full[] = "\xEF\xBB\xBF; a full file\r\n"
                             "[module]\r\n"
                             "log-level = DEBUG          ; inline comment\n"
                             "log-target = syslog\n"
                             "ca-file = /etc/ssl/extra.pem\n"
                             "connect-timeout-ms = 1000\n"
                             "request-timeout-ms = 2000\n"
                             "retry-max = 0\n"
                             "retry-base-ms = 10\n"
                             "retry-budget-ms = 3000\n"
                             "max-response-bytes = 65536\n"
                             "# hash comment\n"
                             "[attestation]\n"
                             "  provider = azure-cvm-vtpm\n"
                             "  maa-endpoint = https://maa.skr.localhost:8443/\n"
                             "  tcti = swtpm:host=127.0.0.1,port=2321\n"
                             "  pcrs = 0, 1,2-4 ,7\n"
                             "  imds-endpoint = http://127.0.0.1:8080\n"
                             "  nonce = ADE0101\n"
                             "[identity]\n"
                             "type = managed-identity\n"
                             "object-id = 11111111-2222-3333-4444-555555555555\n"
                             "authority-host = https://login.skr.localhost:8443/\n"
                             "[ token   demo ]   ; a token\n"
                             "label = Demo token\n"
                             "pin = 12;34\n"
                             "serial = 0001\n"
                             "vault = https://demo.vault.skr.localhost:8443/\n"
                             "[token other]\n"
                             "vault = https://other.vault.azure.net\n"
                             "source = keyvault\n"
                             "[key demo-rsa]\n"
                             "token = demo\n"
                             "version =\n"
                             "id = 0A1b\n"
                             "certificate = demo-rsa-cert\n"
                             "[key o1]\n"
                             "token = other\n"
                             "name = remote-name\n"
                             "required = No\n"
                             "oct-type = generic-secret\n"
                             "[key demo-ec]\n"
                             "token = demo\n"
                             "name = ec\n"
                             "version = 0123456789abcdef0123456789abcdef\n"
                             "label = my ec key\n"
                             "required = 1\n";

static void test_full(void **state)
{
    (void)state;
    struct cfg *c = load_ok(g_full);
    assert_int_equal(c->log_level, U_LOG_DEBUG);
    assert_int_equal(c->log_target, U_LOG_TARGET_SYSLOG);
    assert_string_equal(c->http.ca_file, "/etc/ssl/extra.pem");
    assert_int_equal(c->http.connect_timeout_ms, 1000);
    assert_int_equal(c->http.request_timeout_ms, 2000);
    assert_int_equal(c->http.retry_max, 0);
    assert_int_equal(c->http.retry_base_ms, 10);
    assert_int_equal(c->http.retry_budget_ms, 3000);
    assert_int_equal(c->http.max_response_bytes, 65536);
    assert_string_equal(c->att.maa_endpoint, "https://maa.skr.localhost:8443");
    assert_string_equal(c->att.tcti, "swtpm:host=127.0.0.1,port=2321");
    assert_int_equal(c->att.pcr_mask, 0x9f);
    assert_string_equal(c->att.imds_endpoint, "http://127.0.0.1:8080");
    assert_string_equal(c->att.client_payload_nonce, "ADE0101");
    assert_string_equal(c->identity.object_id, "11111111-2222-3333-4444-555555555555");
    assert_string_equal(c->identity.authority_host, "https://login.skr.localhost:8443");

    assert_int_equal(c->ntokens, 2);
    struct cfg_token *t = c->tokens[0];
    assert_string_equal(t->name, "demo");
    assert_int_equal(t->line, 24);
    assert_string_equal(t->label, "Demo token");
    assert_non_null(t->pin);
    assert_int_equal(t->pin->len, 5);
    assert_memory_equal(t->pin->data, "12;34", 5);
    assert_string_equal(t->serial, "0001");
    assert_string_equal(t->vault, "https://demo.vault.skr.localhost:8443");
    assert_int_equal(t->source, CFG_SOURCE_KEYVAULT);
    assert_int_equal(t->nkeys, 2);
    struct cfg_key *k = t->keys[0];
    assert_string_equal(k->section, "demo-rsa");
    assert_int_equal(k->line, 32);
    assert_string_equal(k->token, "demo");
    assert_string_equal(k->name, "demo-rsa");
    assert_null(k->version);
    assert_string_equal(k->label, "demo-rsa");
    assert_int_equal(k->id_len, 2);
    assert_memory_equal(k->id, "\x0a\x1b", 2);
    assert_string_equal(k->certificate, "demo-rsa-cert");
    assert_true(k->required);
    assert_int_equal(k->oct_type, CFG_OCT_AES);
    k = t->keys[1];
    assert_string_equal(k->section, "demo-ec");
    assert_string_equal(k->name, "ec");
    assert_string_equal(k->version, "0123456789abcdef0123456789abcdef");
    assert_string_equal(k->label, "my ec key");
    assert_int_equal(k->id_len, 0);
    assert_true(k->required);

    t = c->tokens[1];
    assert_string_equal(t->label, "other");
    assert_null(t->pin);
    assert_null(t->serial);
    assert_int_equal(t->nkeys, 1);
    assert_string_equal(t->keys[0]->name, "remote-name");
    assert_string_equal(t->keys[0]->label, "remote-name");
    assert_false(t->keys[0]->required);
    assert_int_equal(t->keys[0]->oct_type, CFG_OCT_GENERIC);
    assert_string_equal(c->identity.resource, "https://vault.azure.net");
    cfg_free(c);
}

#define MAA "[attestation]\nmaa-endpoint = https://maa.example\n"

static void test_resource(void **state)
{
    (void)state;
    struct cfg *c = load_ok(MAA "[token h]\nvault = https://h.managedhsm.azure.net\n");
    assert_string_equal(c->identity.resource, "https://managedhsm.azure.net");
    cfg_free(c);
    c = load_ok(MAA "[token h]\nvault = https://h.managedhsm.azure.net\n"
                    "[token v]\nvault = https://v.vault.azure.net\n");
    assert_null(c->identity.resource); /* mixed: derived per vault by the consumer */
    cfg_free(c);
    c = load_ok(MAA "[identity]\nresource = https://vault.usgovcloudapi.net\n"
                    "[token v]\nvault = https://v.vault.usgovcloudapi.net\n");
    assert_string_equal(c->identity.resource, "https://vault.usgovcloudapi.net");
    cfg_free(c);
    /* attestation provider none: no MAA needed, public metadata only */
    c = load_ok("[attestation]\nprovider = none\n[token v]\nvault = https://v.vault.azure.net\n");
    assert_int_equal(c->att.provider, CFG_ATTEST_NONE);
    cfg_free(c);
}

static void test_workload_env(void **state)
{
    (void)state;
    char err[512];
    struct cfg *c = NULL;
    setenv("AZURE_CLIENT_ID", "env-client", 1);
    setenv("AZURE_TENANT_ID", "env-tenant", 1);
    setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", 1);
    setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.us/", 1);
    c = load_ok("[identity]\ntype = workload-identity\n");
    assert_int_equal(c->identity.type, CFG_IDENTITY_WORKLOAD);
    assert_string_equal(c->identity.client_id, "env-client");
    assert_string_equal(c->identity.tenant_id, "env-tenant");
    assert_string_equal(c->identity.federated_token_file,
                        "/var/run/secrets/azure/tokens/azure-identity-token");
    assert_string_equal(c->identity.authority_host, "https://login.microsoftonline.us");
    cfg_free(c);
    /* keys in the file win */
    c = load_ok("[identity]\ntype = workload-identity\nclient-id = file-client\n"
                "authority-host = https://login.example\n");
    assert_string_equal(c->identity.client_id, "file-client");
    assert_string_equal(c->identity.tenant_id, "env-tenant");
    assert_string_equal(c->identity.authority_host, "https://login.example");
    cfg_free(c);
    /* the environment is not used by the other identity types */
    c = load_ok("[identity]\n");
    assert_null(c->identity.client_id);
    assert_string_equal(c->identity.authority_host, "https://login.microsoftonline.com");
    cfg_free(c);
    /* a bad environment value is an error naming the variable and the section */
    setenv("AZURE_AUTHORITY_HOST", "http://login.example", 1);
    assert_int_equal(cfg_load_string("\n[identity]\ntype = workload-identity\n", "t.conf", &c, err,
                                     sizeof(err)),
                     CFG_ERR_SYNTAX);
    assert_null(c);
    assert_non_null(strstr(err, "t.conf:2: [identity] authority-host from the environment "
                                "(AZURE_AUTHORITY_HOST)"));
    clear_env();
}

static void test_path_select(void **state)
{
    (void)state;
    char *p;
    clear_env();
    p = cfg_path_select(NULL);
    assert_string_equal(p, CFG_DEFAULT_PATH);
    free(p);
    p = cfg_path_select("debug config=/opt/skr/a.conf other=1");
    assert_string_equal(p, "/opt/skr/a.conf");
    free(p);
    p = cfg_path_select("config=");
    assert_string_equal(p, CFG_DEFAULT_PATH);
    free(p);
    p = cfg_path_select("myconfig=/x noconfig");
    assert_string_equal(p, CFG_DEFAULT_PATH);
    free(p);
    setenv("SKR_PKCS11_CONF", "/env/skr.conf", 1);
    p = cfg_path_select("config=/opt/skr/a.conf");
    assert_string_equal(p, "/env/skr.conf");
    free(p);
    setenv("SKR_PKCS11_CONF", "", 1);
    p = cfg_path_select("config=/opt/skr/a.conf");
    assert_string_equal(p, "/opt/skr/a.conf");
    free(p);
    clear_env();
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Relative paths are taken from the config file's folder; the client secret is read once. */
static void test_file_and_secret(void **state)
{
    (void)state;
    char dir[] = "/tmp/skr-cfg-XXXXXX";
    char path[256], sec[256];
    char want[600];
    assert_non_null(mkdtemp(dir));
    snprintf(sec, sizeof(sec), "%s/secret.txt", dir);
    write_file(sec, "hunter2-secret\r\n");
    snprintf(path, sizeof(path), "%s/skr.conf", dir);
    write_file(path, "[module]\nca-file = ca.pem\n"
                     "[identity]\ntype = service-principal\nclient-id = app\ntenant-id = tn\n"
                     "client-secret-file = secret.txt\n"
                     "[token t]\nsource = file\npin = 0000\n"
                     "[key k]\ntoken = t\nfile = keys/k.pem\ncert-file = /abs/c.pem\n"
                     "key-type = generic-secret\n");
    struct cfg *c = NULL;
    char err[512] = "";
    assert_int_equal(cfg_load(path, &c, err, sizeof(err)), CFG_OK);

    snprintf(want, sizeof(want), "%s/ca.pem", dir);
    assert_string_equal(c->http.ca_file, want);
    assert_string_equal(c->identity.client_secret_file, sec);
    assert_non_null(c->identity.client_secret);
    assert_int_equal(c->identity.client_secret->len, 14);
    assert_memory_equal(c->identity.client_secret->data, "hunter2-secret", 14);
    snprintf(want, sizeof(want), "%s/keys/k.pem", dir);
    assert_string_equal(c->tokens[0]->keys[0]->file, want);
    assert_string_equal(c->tokens[0]->keys[0]->cert_file, "/abs/c.pem");
    assert_string_equal(c->tokens[0]->keys[0]->key_type, "generic-secret");
    assert_int_equal(c->tokens[0]->source, CFG_SOURCE_FILE);
    assert_string_equal(c->path, path);
    cfg_free(c);
    write_file(sec, "\n");
    assert_int_equal(cfg_load(path, &c, err, sizeof(err)), CFG_ERR_SYNTAX);
    snprintf(want, sizeof(want), "%s:7: [identity] client-secret-file '%s': empty", path, sec);
    assert_string_equal(err, want);
    unlink(sec);
    unlink(path);
    rmdir(dir);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* Every shipped example parses (the AKS one with the environment its webhook injects). */
static void test_examples(void **state)
{
    (void)state;
    DIR *d = opendir(SKR_EXAMPLES_DIR);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    setenv("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000000c1", 1);
    setenv("AZURE_TENANT_ID", "00000000-0000-0000-0000-0000000000a1", 1);
    setenv("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token", 1);
    setenv("AZURE_AUTHORITY_HOST", "https://login.microsoftonline.com/", 1);
    while ((e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".conf"))
            continue;
        char path[512], err[512] = "";
        struct cfg *c = NULL;
        snprintf(path, sizeof(path), "%s/%s", SKR_EXAMPLES_DIR, e->d_name);
        if (cfg_load(path, &c, err, sizeof(err)) != CFG_OK)
            fail_msg("%s: %s", path, err);
        assert_true(c->ntokens >= 1);
        assert_true(c->tokens[0]->nkeys >= 1);
        cfg_free(c);
        n++;
    }
    closedir(d);
    clear_env();
    assert_true(n >= 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),    cmocka_unit_test(test_full),
            cmocka_unit_test(test_resource),    cmocka_unit_test(test_workload_env),
            cmocka_unit_test(test_path_select), cmocka_unit_test(test_file_and_secret),
            cmocka_unit_test(test_examples),
    };
    clear_env();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
