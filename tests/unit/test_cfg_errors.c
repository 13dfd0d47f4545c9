/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config/: every class of error is refused with the right file and line, logged exactly once
 * (the same text as errbuf), returns CFG_ERR_SYNTAX and no struct, and never shows a PIN.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cfg.h"

static char g_log[8][1200];
static size_t g_nlog;

static void sink(enum u_log_level level, const char *line, void *arg)
{
    (void)level;
    (void)arg;
    if (g_nlog < 8)
        snprintf(g_log[g_nlog], sizeof(g_log[0]), "%s", line);
    g_nlog++;
}

/* Lines 1-4: a valid attestation and a keyvault token named demo. */
#define KV                                                                                         \
    "[attestation]\n"                                                                              \
    "maa-endpoint = https://sharedeus.eus.attest.azure.net\n"                                      \
    "[token demo]\n"                                                                               \
    "vault = https://demo.vault.azure.net\n"

/* Lines 1-2: a file-source token named demo. */
#define FILETOK                                                                                    \
    "[token demo]\n"                                                                               \
    "source = file\n"

struct err_case {
    const char *text;
    const char *want; /* expected start of the message */
};

static const struct err_case g_cases[] = {
        /* sections */
        {"[module]\n[foo]\n", "t.conf:2: unknown section [foo]"},
        {"log-level = info\n", "t.conf:1: key 'log-level' before any section"},
        {"\n[module\n", "t.conf:2: section header without ']'"},
        {"[module] x\n", "t.conf:1: text after the section header"},
        {"[token]\n", "t.conf:1: section [token] needs a name"},
        {"[key]\n", "t.conf:1: section [key] needs a name"},
        {"[module x]\n", "t.conf:1: section [module] takes no name"},
        {"[token a b]\n", "t.conf:1: bad section name 'a b'"},
        {"[module]\n\n[module]\n", "t.conf:3: duplicate section [module] (first on line 1)"},
        {FILETOK "[token demo]\n", "t.conf:3: duplicate section [token demo]"},
        {FILETOK "[key k]\ntoken = demo\nfile = /k\n[key k]\n",
         "t.conf:6: duplicate section [key k]"},
        /* syntax */
        {"[module]\nlog-level\n", "t.conf:2: [module] expected 'key = value'"},
        {"[attestation]\ntcti: device:/dev/tpm0\n",
         "t.conf:2: [attestation] expected 'key = value'"},
        {"[module]\nlog-level ; = x\n", "t.conf:2: [module] expected 'key = value'"},
        /* unknown and duplicate keys */
        {"[module]\nlog-level = info\nlable = x\n", "t.conf:3: [module] unknown key 'lable'"},
        {FILETOK "[key demo-rsa]\ntoken = demo\nfile = /k.pem\nlable = x\n",
         "t.conf:6: [key demo-rsa] unknown key 'lable'"},
        {"[module]\nlog-level = info\n; c\nlog-level = warn\n",
         "t.conf:4: [module] duplicate key 'log-level' (first set on line 2)"},
        {"[token t]\npin = 1\n  pin = 2\n", "t.conf:3: [token t] duplicate key 'pin'"},
        /* bad values */
        {"[module]\nlog-level = loud\n", "t.conf:2: [module] log-level: 'loud' is not one of"},
        {"[module]\nlog-target = file\n", "t.conf:2: [module] log-target: 'file' is not one of"},
        {"[module]\nretry-max = 99\n",
         "t.conf:2: [module] retry-max: '99' is not an integer in 0..20"},
        {"[module]\nconnect-timeout-ms = 5s\n", "t.conf:2: [module] connect-timeout-ms: '5s'"},
        {"[module]\nconnect-timeout-ms = -1\n", "t.conf:2: [module] connect-timeout-ms: '-1'"},
        {"[module]\nmax-response-bytes = 99999999999999999999999\n",
         "t.conf:2: [module] max-response-bytes:"},
        {"[module]\nca-file =\n", "t.conf:2: [module] ca-file: empty value"},
        {"[attestation]\npcrs = 0-24\n", "t.conf:2: [attestation] pcrs: '0-24' is not a PCR list"},
        {"[attestation]\npcrs = 7-0\n", "t.conf:2: [attestation] pcrs: '7-0'"},
        {"[attestation]\npcrs = 0,,1\n", "t.conf:2: [attestation] pcrs: '0,,1'"},
        {"[attestation]\nprovider = tdx\n",
         "t.conf:2: [attestation] provider: 'tdx' is not one of"},
        {"[attestation]\nnonce = a b\n", "t.conf:2: [attestation] nonce:"},
        {FILETOK "[key k]\ntoken = demo\nfile = /k\nrequired = maybe\n",
         "t.conf:6: [key k] required: 'maybe' is not a boolean"},
        {FILETOK "[key k]\ntoken = demo\nfile = /k\nid = 0a1\n", "t.conf:6: [key k] id: '0a1'"},
        {FILETOK "[key k]\ntoken = demo\nfile = /k\nid = zz\n",
         "t.conf:6: [key k] id: 'zz' is not hex"},
        {FILETOK "[key k]\ntoken = demo\nfile = /k\nkey-type = rsa\n",
         "t.conf:6: [key k] key-type:"},
        {KV "[key k]\ntoken = demo\nname = my_key\n",
         "t.conf:7: [key k] name: 'my_key' is not a Key"},
        {"[token t]\nlabel = 0123456789abcdef0123456789abcdef0\n",
         "t.conf:2: [token t] label: value is longer than 32 bytes"},
        {"[token t]\nserial = 0123456789abcdefX\n", "t.conf:2: [token t] serial: value is longer"},
        {"[token t]\nserial = a b\n", "t.conf:2: [token t] serial:"},
        {"[token t]\n\npin =\n", "t.conf:3: [token t] pin: empty value"},
        /* URLs */
        {"[token t]\nvault = http://demo.vault.azure.net\n",
         "t.conf:2: [token t] vault: 'http://demo.vault.azure.net' must be an https:// URL"},
        {"[attestation]\nmaa-endpoint = http://maa.example\n",
         "t.conf:2: [attestation] maa-endpoint:"},
        {"[identity]\nauthority-host = http://login.example\n",
         "t.conf:2: [identity] authority-host:"},
        {"[identity]\nresource = ftp://vault.azure.net\n", "t.conf:2: [identity] resource:"},
        {"[token t]\nvault = https://demo.vault.azure.net/keys\n", "t.conf:2: [token t] vault:"},
        {"[token t]\nvault = https://:443\n", "t.conf:2: [token t] vault:"},
        {"[token t]\nvault = https://x:99999\n", "t.conf:2: [token t] vault:"},
        {"[attestation]\nimds-endpoint = 169.254.169.254\n",
         "t.conf:2: [attestation] imds-endpoint:"},
        /* cross-section rules */
        {FILETOK "\n[key k]\nfile = /k\n", "t.conf:4: [key k] missing required key 'token'"},
        {FILETOK "[key k]\nfile = /k\ntoken = other\n",
         "t.conf:5: [key k] token 'other' has no [token other] section"},
        {"[module]\n[token t]\n", "t.conf:2: [token t] source = keyvault needs 'vault'"},
        {"[token t]\nvault = https://t.vault.azure.net\n",
         "t.conf:1: [token t] source = keyvault needs [attestation] maa-endpoint"},
        {"[attestation]\npcrs = 0\n[token t]\nvault = https://t.vault.azure.net\n",
         "t.conf:1: [attestation] maa-endpoint is required"},
        {"[attestation]\nprovider = sgx\n", "t.conf:2: [attestation] provider = sgx is reserved"},
        {"[attestation]\n\nprovider = sev-snp\n", "t.conf:3: [attestation] provider = sev-snp"},
        {"[token t0123456789abcdef0123456789abcdef]\nsource = file\n",
         "t.conf:1: [token t0123456789abcdef0123456789abcdef] the label defaults to the token "
         "name"},
        {FILETOK "[token other]\nsource = file\nlabel = demo\n",
         "t.conf:5: [token other] label 'demo' is already used by [token demo]"},
        {KV "[key k]\ntoken = demo\nfile = /k.pem\n",
         "t.conf:7: [key k] 'file' applies only to tokens with source = file"},
        {FILETOK "[key k]\ntoken = demo\nfile = /k\ncertificate = c\n",
         "t.conf:6: [key k] 'certificate' applies only to tokens with source = keyvault"},
        {FILETOK "[key k]\ntoken = demo\n", "t.conf:3: [key k] token 'demo' has source = file"},
        {KV "[key my_key]\ntoken = demo\n", "t.conf:5: [key my_key] the key name defaults"},
        /* identity */
        {"[identity]\ntype = service-principal\nclient-id = a\nclient-certificate = /c\n",
         "t.conf:1: [identity] type = service-principal needs 'tenant-id'"},
        {"[identity]\ntype = service-principal\n",
         "t.conf:1: [identity] type = service-principal needs"},
        {"[identity]\ntype = service-principal\nclient-id = a\ntenant-id = b\n",
         "t.conf:1: [identity] type = service-principal needs client-secret-file or"},
        {"[identity]\ntype = service-principal\nclient-id = a\ntenant-id = b\n"
         "client-secret-file = /s\nclient-certificate = /c\n",
         "t.conf:6: [identity] set only one of client-secret-file, client-certificate"},
        {"[identity]\ntype = service-principal\nclient-id = a\ntenant-id = b\n"
         "client-secret-file = /nonexistent/secret\n",
         "t.conf:5: [identity] client-secret-file '/nonexistent/secret': No such file"},
        {"[identity]\ntype = service-principal\nclient-id = a\ntenant-id = b\n"
         "client-secret-file = /dev/null\n",
         "t.conf:5: [identity] client-secret-file '/dev/null': not a regular file"},
        {"[identity]\ntype = service-principal\nclient-id = a\ntenant-id = b\n"
         "client-certificate = /c\nobject-id = o\n",
         "t.conf:6: [identity] 'object-id' does not apply to type = service-principal"},
        {"[identity]\nclient-id = a\nobject-id = b\n",
         "t.conf:3: [identity] set only one of client-id, object-id, msi-res-id"},
        {"[identity]\nclient-secret-file = /s\n",
         "t.conf:2: [identity] 'client-secret-file' does not apply to type = managed-identity"},
        {"[identity]\ntype = workload-identity\n",
         "t.conf:1: [identity] type = workload-identity needs 'client-id'"},
        {"[identity]\nclient-id = a b\n", "t.conf:2: [identity] client-id: 'a b' is not an id"},
        {"[identity]\nmsi-res-id = abc\n", "t.conf:2: [identity] msi-res-id:"},
        {"[identity]\ntype = robot\n", "t.conf:2: [identity] type: 'robot' is not one of"},
};

static void setup_env(void)
{
    unsetenv("AZURE_CLIENT_ID");
    unsetenv("AZURE_TENANT_ID");
    unsetenv("AZURE_FEDERATED_TOKEN_FILE");
    unsetenv("AZURE_AUTHORITY_HOST");
}

static void expect_error(const char *text, const char *want)
{
    char err[512] = "";
    struct cfg *c = (struct cfg *)0x1;
    g_nlog = 0;
    enum cfg_err e = cfg_load_string(text, "t.conf", &c, err, sizeof(err));
    if (e != CFG_ERR_SYNTAX || strncmp(err, want, strlen(want)) != 0)
        fail_msg("config:\n%s\nwant: %s\ngot (%d): %s", text, want, (int)e, err);
    assert_null(c);
    /* logged exactly once, the same text */
    assert_int_equal(g_nlog, 1);
    assert_non_null(strstr(g_log[0], err));
    assert_non_null(strstr(g_log[0], "cfg:"));
}

static void test_error_lines(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(g_cases) / sizeof(g_cases[0]); i++)
        expect_error(g_cases[i].text, g_cases[i].want);
}

static void test_long_line(void **state)
{
    (void)state;
    char text[600];
    snprintf(text, sizeof(text), "[module]\n\nca-file = /%0300d\n", 0);
    expect_error(text, "t.conf:3: [module] line longer than 199 characters");
    /* comment lines may be longer */
    snprintf(text, sizeof(text), "[module]\n; %0300d\nlog-level = warn\n", 0);
    struct cfg *lc = NULL;
    assert_int_equal(cfg_load_string(text, "t.conf", &lc, NULL, 0), CFG_OK);
    assert_int_equal(lc->log_level, U_LOG_WARN);
    cfg_free(lc);
    /* indentation does not count */
    snprintf(text, sizeof(text), "[module]\n%150s  ca-file = /%0150d\n", "", 0);
    struct cfg *c = NULL;
    assert_int_equal(cfg_load_string(text, "t.conf", &c, NULL, 0), CFG_OK);
    cfg_free(c);
}

/* A PIN never appears in a message, whatever goes wrong around it. */
static void test_pin_not_echoed(void **state)
{
    (void)state;
    static const char *const texts[] = {
            "[token t]\npin = s3cr3tPIN\npin = s3cr3tPIN\n",
            "[token t]\npin = s3cr3tPIN\x01\n",
            "[token t]\npin s3cr3tPIN\n",
            ("[token t]\npin = s3cr3tPIN0123456789012345678901234567890123456789012345678901234567"
             "8901234567890123456789012345678901234567890123456789012345678901234567890\n"),
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        char err[512] = "";
        struct cfg *c = NULL;
        g_nlog = 0;
        assert_int_equal(cfg_load_string(texts[i], "t.conf", &c, err, sizeof(err)), CFG_ERR_SYNTAX);
        assert_null(strstr(err, "s3cr3t"));
        assert_int_equal(g_nlog, 1);
        assert_null(strstr(g_log[0], "s3cr3t"));
        assert_non_null(strstr(err, "t.conf:"));
    }
}

static void test_nofile(void **state)
{
    (void)state;
    char err[512] = "";
    struct cfg *c = (struct cfg *)0x1;
    g_nlog = 0;
    assert_int_equal(cfg_load("/nonexistent/skr.conf", &c, err, sizeof(err)), CFG_ERR_NOFILE);
    assert_null(c);
    assert_string_equal(err, "/nonexistent/skr.conf: cannot read the config file: No such file "
                             "or directory");
    assert_int_equal(g_nlog, 1);
    assert_int_equal(cfg_load("/", &c, err, sizeof(err)), CFG_ERR_NOFILE);
    assert_non_null(strstr(err, "Is a directory"));
    assert_int_equal(cfg_load("/dev/null", &c, err, sizeof(err)), CFG_ERR_NOFILE);
    assert_string_equal(err, "/dev/null: cannot read the config file: not a regular file");
}

/* Errors from a real file name the path given, and a NUL byte is refused on its line. */
static void test_file_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/skr-cfg-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char body[] = "[module]\nlog-level = info\nlog-target = std\0err\n";
    assert_int_equal(write(fd, body, sizeof(body) - 1), (ssize_t)(sizeof(body) - 1));
    close(fd);
    char err[512] = "";
    char want[600];
    struct cfg *c = NULL;
    assert_int_equal(cfg_load(path, &c, err, sizeof(err)), CFG_ERR_SYNTAX);
    snprintf(want, sizeof(want), "%s:3: [module] NUL byte in the line", path);
    assert_string_equal(err, want);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_error_lines),    cmocka_unit_test(test_long_line),
            cmocka_unit_test(test_pin_not_echoed), cmocka_unit_test(test_nofile),
            cmocka_unit_test(test_file_errors),
    };
    setup_env();
    u_log_configure(U_LOG_ERROR, U_LOG_TARGET_STDERR);
    u_log_set_sink(sink, NULL);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
