/* SPDX-License-Identifier: Apache-2.0 */
/*
 * skr-tool: one program, one file per command (cmd_<name>.c, each `int cmd_<name>(argc, argv)`
 * with argv[0] = the command name). Exit status: 0 success, 1 the check failed, 2 usage or
 * configuration error. Commands print results to stdout and diagnostics to stderr.
 */
#ifndef SKR_TOOLS_SKR_TOOL_H
#define SKR_TOOLS_SKR_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "cfg.h"

#define TOOL_OK    0
#define TOOL_FAIL  1
#define TOOL_USAGE 2

int cmd_verify(int argc, char **argv); /* cmd_verify.c */
int cmd_list(int argc, char **argv);   /* cmd_list.c */
int cmd_attest(int argc, char **argv); /* cmd_attest.c */
int cmd_doctor(int argc, char **argv); /* cmd_doctor.c */
int cmd_policy(int argc, char **argv); /* cmd_policy.c */

/**
 * Load the configuration: `path`, else SKR_PKCS11_CONF, else the default path. Prints the
 * parser's message to stderr and returns NULL on error. Also applies the config's log level.
 */
struct cfg *tool_load_config(const char *path);

/** Read a whole file ("-" = stdin) into a NUL-terminated malloc'd buffer; NULL + message on
 *  error. Files above 16 MiB are refused. */
char *tool_read_file(const char *path, size_t *len);

/** Parse a time: unix seconds ("1650640005") or ISO 8601 UTC ("2022-04-22T15:06:45Z",
 *  "2022-04-22"). false on anything else. */
bool tool_parse_time(const char *s, time_t *out);

#endif /* SKR_TOOLS_SKR_TOOL_H */
