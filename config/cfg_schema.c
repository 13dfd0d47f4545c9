/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config schema: one table of keys per section (name, type, default, range, validator,
 * offset into the in-memory struct) and the value parsers for each type. The format is
 * Appendix A of the team brief; docs/configuration.md is the user reference.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_internal.h"
#include "u_macros.h"
#include "u_secmem.h"

_Static_assert(sizeof(enum cfg_oct_type) == sizeof(int), "enum fields are stored as int");
_Static_assert(sizeof(enum u_log_level) == sizeof(int), "enum fields are stored as int");

#define OFF_CFG(m) offsetof(struct cfg, m)
#define OFF_TOK(m) offsetof(struct cfg_token, m)
#define OFF_KEY(m) offsetof(struct cfg_key, m)

/* ---- validators for string values ------------------------------------------------------- */

static bool printable(const char *v, char *why, size_t whylen)
{
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            snprintf(why, whylen, "contains a control character");
            return false;
        }
    }
    return true;
}

static bool chars_in(const char *v, const char *extra)
{
    for (const char *p = v; *p != '\0'; p++) {
        if (!isalnum((unsigned char)*p) && strchr(extra, *p) == NULL)
            return false;
    }
    return true;
}

/* Key Vault object names: 1-127 letters, digits and dashes. */
bool cfg_check_vault_name(const char *v, char *why, size_t whylen)
{
    if (strlen(v) > 127 || !chars_in(v, "-")) {
        snprintf(why, whylen, "'%.80s' is not a Key Vault name (1-127 letters, digits, '-')", v);
        return false;
    }
    return true;
}

/* Client, object and tenant ids: GUIDs, or a tenant's domain name. */
static bool check_ident(const char *v, char *why, size_t whylen)
{
    if (!chars_in(v, "-._")) {
        snprintf(why, whylen, "'%.80s' is not an id (letters, digits, '-', '.', '_')", v);
        return false;
    }
    return true;
}

static bool check_res_id(const char *v, char *why, size_t whylen)
{
    if (strncasecmp(v, "/subscriptions/", 15) != 0 || !chars_in(v, "-._/()")) {
        snprintf(why, whylen, "'%.80s' is not an ARM resource id (/subscriptions/...)", v);
        return false;
    }
    return true;
}

/* Token serial: printable ASCII (the token info field is ASCII, blank padded). */
static bool check_serial(const char *v, char *why, size_t whylen)
{
    for (const char *p = v; *p != '\0'; p++) {
        if (*p < 0x21 || *p > 0x7e) {
            snprintf(why, whylen, "'%.80s' must be printable ASCII without spaces", v);
            return false;
        }
    }
    return true;
}

static bool check_version(const char *v, char *why, size_t whylen)
{
    if (!chars_in(v, "")) {
        snprintf(why, whylen, "'%.80s' is not a Key Vault version (letters and digits)", v);
        return false;
    }
    return true;
}

/* The ClientPayload nonce goes into JSON: printable ASCII, no quote or backslash. */
static bool check_nonce(const char *v, char *why, size_t whylen)
{
    for (const char *p = v; *p != '\0'; p++) {
        if (*p < 0x21 || *p > 0x7e || *p == '"' || *p == '\\') {
            snprintf(why, whylen, "'%.80s' must be printable ASCII without spaces, '\"', '\\'", v);
            return false;
        }
    }
    return true;
}

static bool check_key_type(const char *v, char *why, size_t whylen)
{
    if (strcmp(v, "aes") != 0 && strcmp(v, "generic-secret") != 0) {
        snprintf(why, whylen, "'%.80s' is not one of aes, generic-secret", v);
        return false;
    }
    return true;
}

static bool check_section_name(const char *v, char *why, size_t whylen)
{
    if (strlen(v) > 127 || !chars_in(v, "-._")) {
        snprintf(why, whylen, "'%.80s' is not a section name (letters, digits, '-', '.', '_')", v);
        return false;
    }
    return true;
}

/* ---- the tables --------------------------------------------------------------------------- */

static const struct cfg_enum log_levels[] = {
        {"none", U_LOG_NONE},
        {"error", U_LOG_ERROR},
        {"warn", U_LOG_WARN},
        {"info", U_LOG_INFO},
        {"debug", U_LOG_DEBUG},
        {"trace", U_LOG_TRACE},
        {NULL, 0},
};
static const struct cfg_enum log_targets[] = {
        {"stderr", U_LOG_TARGET_STDERR}, {"syslog", U_LOG_TARGET_SYSLOG}, {NULL, 0}};
static const struct cfg_enum providers[] = {
        {"azure-cvm-vtpm", CFG_ATTEST_AZURE_CVM_VTPM},
        {"sev-snp", CFG_ATTEST_SEV_SNP},
        {"sgx", CFG_ATTEST_SGX},
        {"none", CFG_ATTEST_NONE},
        {NULL, 0},
};
static const struct cfg_enum id_types[] = {
        {"managed-identity", CFG_IDENTITY_MANAGED},
        {"service-principal", CFG_IDENTITY_SERVICE_PRINCIPAL},
        {"workload-identity", CFG_IDENTITY_WORKLOAD},
        {NULL, 0},
};
static const struct cfg_enum sources[] = {
        {"keyvault", CFG_SOURCE_KEYVAULT}, {"file", CFG_SOURCE_FILE}, {NULL, 0}};
static const struct cfg_enum oct_types[] = {
        {"aes", CFG_OCT_AES}, {"generic-secret", CFG_OCT_GENERIC}, {NULL, 0}};

#define STR(n, o, mx, chk)                                                                         \
    {                                                                                              \
        .name = n, .type = CFG_T_STR, .off = o, .max = mx, .check = chk                            \
    }
#define PATHF(n, o)                                                                                \
    {                                                                                              \
        .name = n, .type = CFG_T_PATH, .off = o, .max = 4096                                       \
    }
#define URLF(n, o, d, fl)                                                                          \
    {                                                                                              \
        .name = n, .type = CFG_T_URL, .off = o, .def = d, .max = 512, .flags = fl                  \
    }
#define ENUMF(n, o, d, e)                                                                          \
    {                                                                                              \
        .name = n, .type = CFG_T_ENUM, .off = o, .def = d, .enums = e                              \
    }
#define INTF(n, t, o, d, lo, hi)                                                                   \
    {                                                                                              \
        .name = n, .type = t, .off = o, .def = d, .min = lo, .max = hi                             \
    }

static const struct cfg_field module_fields[] = {
        ENUMF("log-level", OFF_CFG(log_level), "error", log_levels),
        ENUMF("log-target", OFF_CFG(log_target), "stderr", log_targets),
        PATHF("ca-file", OFF_CFG(http.ca_file)),
        INTF("connect-timeout-ms", CFG_T_LONG, OFF_CFG(http.connect_timeout_ms), "5000", 1, 300000),
        INTF("request-timeout-ms", CFG_T_LONG, OFF_CFG(http.request_timeout_ms), "30000", 1,
             3600000),
        INTF("retry-max", CFG_T_UINT, OFF_CFG(http.retry_max), "4", 0, 20),
        INTF("retry-base-ms", CFG_T_LONG, OFF_CFG(http.retry_base_ms), "500", 0, 60000),
        INTF("retry-budget-ms", CFG_T_LONG, OFF_CFG(http.retry_budget_ms), "60000", 1, 3600000),
        INTF("max-response-bytes", CFG_T_SIZE, OFF_CFG(http.max_response_bytes), "1048576", 4096,
             64 * 1024 * 1024),
};

static const struct cfg_field attest_fields[] = {
        ENUMF("provider", OFF_CFG(att.provider), "azure-cvm-vtpm", providers),
        URLF("maa-endpoint", OFF_CFG(att.maa_endpoint), NULL, 0),
        {.name = "tcti",
         .type = CFG_T_STR,
         .off = OFF_CFG(att.tcti),
         .def = "device:/dev/tpmrm0",
         .max = 256},
        {.name = "pcrs", .type = CFG_T_PCRS, .off = OFF_CFG(att.pcr_mask), .def = "0-7"},
        URLF("imds-endpoint", OFF_CFG(att.imds_endpoint), "http://169.254.169.254", CFG_F_HTTP_OK),
        STR("nonce", OFF_CFG(att.client_payload_nonce), 256, check_nonce),
};

static const struct cfg_field identity_fields[] = {
        ENUMF("type", OFF_CFG(identity.type), "managed-identity", id_types),
        STR("client-id", OFF_CFG(identity.client_id), 128, check_ident),
        STR("object-id", OFF_CFG(identity.object_id), 128, check_ident),
        STR("msi-res-id", OFF_CFG(identity.msi_res_id), 1024, check_res_id),
        STR("tenant-id", OFF_CFG(identity.tenant_id), 128, check_ident),
        PATHF("client-secret-file", OFF_CFG(identity.client_secret_file)),
        PATHF("client-certificate", OFF_CFG(identity.client_certificate)),
        PATHF("federated-token-file", OFF_CFG(identity.federated_token_file)),
        URLF("authority-host", OFF_CFG(identity.authority_host),
             "https://login.microsoftonline.com", 0),
        URLF("resource", OFF_CFG(identity.resource), NULL, 0),
};

static const struct cfg_field token_fields[] = {
        STR("label", OFF_TOK(label), 32, NULL),
        {.name = "pin", .type = CFG_T_SECRET, .off = OFF_TOK(pin), .max = 128},
        STR("serial", OFF_TOK(serial), 16, check_serial),
        URLF("vault", OFF_TOK(vault), NULL, 0),
        ENUMF("source", OFF_TOK(source), "keyvault", sources),
};

static const struct cfg_field key_fields[] = {
        STR("token", OFF_KEY(token), 127, check_section_name),
        STR("name", OFF_KEY(name), 127, cfg_check_vault_name),
        {.name = "version",
         .type = CFG_T_STR,
         .off = OFF_KEY(version),
         .max = 64,
         .flags = CFG_F_EMPTY_OK,
         .check = check_version},
        STR("label", OFF_KEY(label), 255, NULL),
        {.name = "id",
         .type = CFG_T_HEX,
         .off = OFF_KEY(id),
         .max = 64,
         .len_off = OFF_KEY(id_len)},
        STR("certificate", OFF_KEY(certificate), 127, cfg_check_vault_name),
        {.name = "required", .type = CFG_T_BOOL, .off = OFF_KEY(required), .def = "yes"},
        ENUMF("oct-type", OFF_KEY(oct_type), "aes", oct_types),
        PATHF("file", OFF_KEY(file)),
        PATHF("cert-file", OFF_KEY(cert_file)),
        STR("key-type", OFF_KEY(key_type), 32, check_key_type),
};

static const struct {
    const struct cfg_field *fields;
    size_t n;
} g_tables[CFG_SECT_COUNT] = {
        [CFG_SECT_MODULE] = {module_fields, U_ARRAY_SIZE(module_fields)},
        [CFG_SECT_ATTEST] = {attest_fields, U_ARRAY_SIZE(attest_fields)},
        [CFG_SECT_IDENTITY] = {identity_fields, U_ARRAY_SIZE(identity_fields)},
        [CFG_SECT_TOKEN] = {token_fields, U_ARRAY_SIZE(token_fields)},
        [CFG_SECT_KEY] = {key_fields, U_ARRAY_SIZE(key_fields)},
};

const struct cfg_field *cfg_schema_fields(enum cfg_sect sect, size_t *n)
{
    if (sect <= CFG_SECT_NONE || sect >= CFG_SECT_COUNT) {
        *n = 0;
        return NULL;
    }
    *n = g_tables[sect].n;
    return g_tables[sect].fields;
}

int cfg_schema_find(enum cfg_sect sect, const char *name)
{
    size_t n;
    const struct cfg_field *f = cfg_schema_fields(sect, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(f[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

const char *cfg_schema_enum_name(const struct cfg_field *f, int value)
{
    for (const struct cfg_enum *e = f->enums; e != NULL && e->name != NULL; e++) {
        if (e->value == value)
            return e->name;
    }
    return "?";
}

/* ---- value parsers ------------------------------------------------------------------------ */

/* Decimal digits only: no sign, no spaces, no suffix. */
static bool parse_int(const char *v, long long lo, long long hi, long long *out)
{
    long long n = 0;
    if (*v == '\0')
        return false;
    for (const char *p = v; *p != '\0'; p++) {
        if (!isdigit((unsigned char)*p))
            return false;
        if (n > (hi - (*p - '0')) / 10)
            return false; /* above hi (and so never overflows) */
        n = n * 10 + (*p - '0');
    }
    if (n < lo)
        return false;
    *out = n;
    return true;
}

static enum cfg_err set_int(const struct cfg_field *f, unsigned char *dst, const char *v, char *why,
                            size_t whylen)
{
    long long n;
    if (!parse_int(v, f->min, f->max, &n)) {
        snprintf(why, whylen, "'%.80s' is not an integer in %lld..%lld", v, f->min, f->max);
        return CFG_ERR_SYNTAX;
    }
    if (f->type == CFG_T_LONG)
        *(long *)dst = (long)n;
    else if (f->type == CFG_T_UINT)
        *(unsigned *)dst = (unsigned)n;
    else
        *(size_t *)dst = (size_t)n;
    return CFG_OK;
}

static enum cfg_err set_bool(unsigned char *dst, const char *v, char *why, size_t whylen)
{
    static const char *const yes[] = {"yes", "true", "1"};
    static const char *const no[] = {"no", "false", "0"};
    for (size_t i = 0; i < U_ARRAY_SIZE(yes); i++) {
        if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
            *(bool *)dst = strcasecmp(v, yes[i]) == 0;
            return CFG_OK;
        }
    }
    snprintf(why, whylen, "'%.80s' is not a boolean (yes|no|true|false|1|0)", v);
    return CFG_ERR_SYNTAX;
}

static enum cfg_err set_enum(const struct cfg_field *f, unsigned char *dst, const char *v,
                             char *why, size_t whylen)
{
    char list[160] = "";
    size_t used = 0;
    for (const struct cfg_enum *e = f->enums; e->name != NULL; e++) {
        if (strcasecmp(v, e->name) == 0) {
            *(int *)dst = e->value;
            return CFG_OK;
        }
        int w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? "|" : "", e->name);
        if (w > 0 && (size_t)w < sizeof(list) - used)
            used += (size_t)w;
    }
    snprintf(why, whylen, "'%.80s' is not one of %s", v, list);
    return CFG_ERR_SYNTAX;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static enum cfg_err set_hex(const struct cfg_field *f, void *base, const char *v, char *why,
                            size_t whylen)
{
    size_t n = strlen(v);
    unsigned char *dst = (unsigned char *)base + f->off;
    if (n % 2 != 0 || n / 2 > (size_t)f->max) {
        snprintf(why, whylen, "'%.80s' is not an even number of hex digits (at most %lld bytes)", v,
                 f->max);
        return CFG_ERR_SYNTAX;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(v[2 * i]);
        int lo = hexval(v[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            snprintf(why, whylen, "'%.80s' is not hexadecimal", v);
            return CFG_ERR_SYNTAX;
        }
        dst[i] = (unsigned char)(hi << 4 | lo);
    }
    *(size_t *)((unsigned char *)base + f->len_off) = n / 2;
    return CFG_OK;
}

/* One PCR item "N" or "N-M" (0..23), spaces around it allowed. */
static bool pcr_item(const char *s, size_t len, uint32_t *mask)
{
    char item[16];
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len >= sizeof(item))
        return false;
    memcpy(item, s, len);
    item[len] = '\0';
    char *dash = strchr(item, '-');
    long long a, b;
    if (dash != NULL)
        *dash = '\0';
    if (!parse_int(item, 0, 23, &a))
        return false;
    b = a;
    if (dash != NULL && (!parse_int(dash + 1, 0, 23, &b) || b < a))
        return false;
    for (long long i = a; i <= b; i++)
        *mask |= 1u << i;
    return true;
}

static enum cfg_err set_pcrs(unsigned char *dst, const char *v, char *why, size_t whylen)
{
    uint32_t mask = 0;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (!pcr_item(p, len, &mask)) {
            snprintf(why, whylen, "'%.80s' is not a PCR list (e.g. 0-7 or 0,1,2; PCRs 0-23)", v);
            return CFG_ERR_SYNTAX;
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    *(uint32_t *)dst = mask;
    return CFG_OK;
}

/* Host (name, IPv4 or [IPv6]) and optional :port; returns the length consumed or 0. */
static size_t url_authority(const char *h)
{
    size_t n = 0;
    if (*h == '[') {
        n = 1 + strspn(h + 1, "0123456789abcdefABCDEF:.");
        if (h[n] != ']' || n == 1)
            return 0;
        n++;
    } else {
        while (isalnum((unsigned char)h[n]) || h[n] == '-' || h[n] == '.')
            n++;
        if (n == 0 || h[0] == '.' || h[0] == '-')
            return 0;
    }
    if (h[n] == ':') {
        size_t d = strspn(h + n + 1, "0123456789");
        long long port;
        char buf[8] = "";
        if (d == 0 || d > 5)
            return 0;
        memcpy(buf, h + n + 1, d);
        if (!parse_int(buf, 1, 65535, &port))
            return 0;
        n += 1 + d;
    }
    return n;
}

/* https://HOST[:PORT][/] (http too if allowed); *keep = length without the trailing '/'. */
static bool url_ok(const char *v, bool http_ok, size_t *keep, char *why, size_t whylen)
{
    size_t scheme = 0;
    if (strncasecmp(v, "https://", 8) == 0)
        scheme = 8;
    else if (http_ok && strncasecmp(v, "http://", 7) == 0)
        scheme = 7;
    if (scheme == 0) {
        snprintf(why, whylen, "'%.80s' must be an %s URL", v,
                 http_ok ? "http:// or https://" : "https://");
        return false;
    }
    size_t a = url_authority(v + scheme);
    const char *rest = v + scheme + a;
    if (a == 0 || (rest[0] != '\0' && strcmp(rest, "/") != 0)) {
        snprintf(why, whylen, "'%.80s' must be scheme://host[:port] without a path", v);
        return false;
    }
    *keep = scheme + a;
    return true;
}

static enum cfg_err set_string(const struct cfg_field *f, unsigned char *dst, const char *v,
                               const char *basedir, char *why, size_t whylen)
{
    size_t keep = strlen(v);
    char *s = NULL;
    if (keep > (size_t)f->max) {
        snprintf(why, whylen, "value is longer than %lld bytes", f->max);
        return CFG_ERR_SYNTAX;
    }
    if (!printable(v, why, whylen))
        return CFG_ERR_SYNTAX;
    if (f->type == CFG_T_STR && f->check != NULL && !f->check(v, why, whylen))
        return CFG_ERR_SYNTAX;
    if (f->type == CFG_T_URL && !url_ok(v, (f->flags & CFG_F_HTTP_OK) != 0, &keep, why, whylen))
        return CFG_ERR_SYNTAX;
    if (f->type == CFG_T_PATH && v[0] != '/' && basedir != NULL) {
        if (asprintf(&s, "%s/%s", basedir, v) < 0)
            return CFG_ERR_NOMEM;
    } else {
        s = strndup(v, keep);
        if (s == NULL)
            return CFG_ERR_NOMEM;
    }
    free(*(char **)dst);
    *(char **)dst = s;
    return CFG_OK;
}

static enum cfg_err set_secret(const struct cfg_field *f, unsigned char *dst, const char *v,
                               char *why, size_t whylen)
{
    size_t n = strlen(v);
    if (n > (size_t)f->max) {
        snprintf(why, whylen, "value is longer than %lld bytes", f->max);
        return CFG_ERR_SYNTAX;
    }
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            snprintf(why, whylen, "value contains a control character");
            return CFG_ERR_SYNTAX;
        }
    }
    struct u_secbuf *b = u_secbuf_dup(v, n);
    if (b == NULL)
        return CFG_ERR_NOMEM;
    u_secbuf_free(*(struct u_secbuf **)dst);
    *(struct u_secbuf **)dst = b;
    return CFG_OK;
}

enum cfg_err cfg_schema_set(const struct cfg_field *f, void *base, const char *value,
                            const char *basedir, char *why, size_t whylen)
{
    unsigned char *dst = (unsigned char *)base + f->off;
    if (value[0] == '\0') {
        if (f->flags & CFG_F_EMPTY_OK)
            return CFG_OK;
        snprintf(why, whylen, "empty value");
        return CFG_ERR_SYNTAX;
    }
    switch (f->type) {
    case CFG_T_BOOL:
        return set_bool(dst, value, why, whylen);
    case CFG_T_LONG:
    case CFG_T_UINT:
    case CFG_T_SIZE:
        return set_int(f, dst, value, why, whylen);
    case CFG_T_ENUM:
        return set_enum(f, dst, value, why, whylen);
    case CFG_T_HEX:
        return set_hex(f, base, value, why, whylen);
    case CFG_T_PCRS:
        return set_pcrs(dst, value, why, whylen);
    case CFG_T_SECRET:
        return set_secret(f, dst, value, why, whylen);
    case CFG_T_STR:
    case CFG_T_PATH:
    case CFG_T_URL:
        return set_string(f, dst, value, basedir, why, whylen);
    }
    snprintf(why, whylen, "internal: unknown field type");
    return CFG_ERR_SYNTAX;
}

enum cfg_err cfg_schema_defaults(enum cfg_sect sect, void *base)
{
    size_t n;
    char why[256];
    const struct cfg_field *f = cfg_schema_fields(sect, &n);
    for (size_t i = 0; i < n; i++) {
        if (f[i].def == NULL)
            continue;
        enum cfg_err e = cfg_schema_set(&f[i], base, f[i].def, NULL, why, sizeof(why));
        if (e != CFG_OK)
            return e; /* the defaults are valid: only OOM can fail here */
    }
    return CFG_OK;
}

void cfg_schema_release(enum cfg_sect sect, void *base)
{
    size_t n;
    const struct cfg_field *f = cfg_schema_fields(sect, &n);
    for (size_t i = 0; i < n; i++) {
        unsigned char *dst = (unsigned char *)base + f[i].off;
        if (f[i].type == CFG_T_STR || f[i].type == CFG_T_PATH || f[i].type == CFG_T_URL) {
            U_FREE(*(char **)dst);
        } else if (f[i].type == CFG_T_SECRET) {
            u_secbuf_free(*(struct u_secbuf **)dst);
            *(struct u_secbuf **)dst = NULL;
        }
    }
}
