/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer target: cfg_load_string on arbitrary bytes (NUL-terminated copy). Every result must
 * be either a complete struct or an error with nothing returned; ASan checks leaks and bounds. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(enum u_log_level level, const char *line, void *arg)
{
    (void)level;
    (void)line;
    (void)arg;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* The workload-identity defaults must not depend on the machine running the fuzzer. */
    unsetenv("AZURE_CLIENT_ID");
    unsetenv("AZURE_TENANT_ID");
    unsetenv("AZURE_FEDERATED_TOKEN_FILE");
    unsetenv("AZURE_AUTHORITY_HOST");
    u_log_set_sink(quiet, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    char err[256];
    struct cfg *c = NULL;
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    enum cfg_err e = cfg_load_string(text, "fuzz.conf", &c, err, sizeof(err));
    if ((e == CFG_OK) != (c != NULL))
        abort();
    if (e != CFG_OK && strncmp(err, "fuzz.conf", 9) != 0)
        abort();
    cfg_free(c);
    free(text);
    return 0;
}
