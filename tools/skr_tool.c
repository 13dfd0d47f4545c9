/* SPDX-License-Identifier: Apache-2.0 */
/* skr-tool: command dispatcher and the helpers the commands share. */
#define _GNU_SOURCE
#include "skr_tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "u_log.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
#ifdef SKR_TOOL_HAVE_DOCTOR
        {"doctor", cmd_doctor, "run every stage against the configured endpoints"},
#endif
#ifdef SKR_TOOL_HAVE_ATTEST
        {"attest", cmd_attest, "attest and print the verified MAA claims as JSON"},
#endif
        {"verify", cmd_verify, "offline check of an MAA token or a release JWS at a given time"},
#ifdef SKR_TOOL_HAVE_POLICY
        {"policy", cmd_policy, "print a release policy the current environment satisfies"},
#endif
        {"list", cmd_list, "tokens, keys and their release state"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: skr-tool <command> [options]   (skr-tool <command> --help)\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].help);
}

struct cfg *tool_load_config(const char *path)
{
    char *p = path != NULL ? strdup(path) : cfg_path_select(NULL);
    char err[512] = "";
    struct cfg *c = NULL;
    if (p == NULL) {
        fprintf(stderr, "skr-tool: out of memory\n");
        return NULL;
    }
    if (cfg_load(p, &c, err, sizeof(err)) != CFG_OK) {
        fprintf(stderr, "skr-tool: %s: %s\n", p, err[0] ? err : "cannot load configuration");
        c = NULL;
    } else {
        u_log_configure(c->log_level, U_LOG_TARGET_STDERR);
    }
    free(p);
    return c;
}

char *tool_read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "skr-tool: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        char *nb = cap < (16u << 20) ? realloc(buf, 2 * cap + 1) : NULL;
        if (nb == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    if (f != stdin)
        fclose(f);
    if (buf == NULL) {
        fprintf(stderr, "skr-tool: %s: too large or out of memory\n", path);
        return NULL;
    }
    buf[n] = 0;
    if (len != NULL)
        *len = n;
    return buf;
}

bool tool_parse_time(const char *s, time_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end != s && *end == 0 && errno == 0 && v >= 0) {
        *out = (time_t)v;
        return true;
    }
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *r = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (r == NULL) {
        memset(&tm, 0, sizeof(tm));
        r = strptime(s, "%Y-%m-%d", &tm);
    }
    if (r == NULL || (*r != 0 && strcmp(r, "Z") != 0 && strcmp(r, "+00:00") != 0))
        return false;
    *out = timegm(&tm);
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? TOOL_USAGE : TOOL_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "skr-tool: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return TOOL_USAGE;
}
