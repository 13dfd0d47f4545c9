/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging. One line per event, "skr-pkcs11[pid]: LEVEL subsys: message". Errors only by default,
 * to stderr; syslog on request. Level from the config, overridden by SKR_PKCS11_LOG
 * ("level[,subsys,...]", e.g. "debug" or "trace,kr"). Never pass secrets: PINs, key bytes,
 * bearer tokens or whole HTTP bodies (STYLE.md 2.5, 2.10). Thread-safe; never writes stdout.
 */
#ifndef SKR_COMMON_U_LOG_H
#define SKR_COMMON_U_LOG_H

#include <stdbool.h>

enum u_log_level {
    U_LOG_NONE = 0,
    U_LOG_ERROR = 1,
    U_LOG_WARN = 2,
    U_LOG_INFO = 3,
    U_LOG_DEBUG = 4,
    U_LOG_TRACE = 5,
};

enum u_log_target {
    U_LOG_TARGET_STDERR = 0,
    U_LOG_TARGET_SYSLOG = 1,
};

/* Placeholder printed where a secret would be. */
#define U_REDACTED "<redacted>"

/** Parse "error|warn|info|debug|trace|none". Returns false (and leaves *out) on anything else. */
bool u_log_level_parse(const char *s, enum u_log_level *out);

/** Configure level and target. SKR_PKCS11_LOG, when set and valid, wins over `level`. */
void u_log_configure(enum u_log_level level, enum u_log_target target);

/** Current effective level for `subsys` (subsystem filter from SKR_PKCS11_LOG applied). */
bool u_log_enabled(enum u_log_level level, const char *subsys);

/** Format and emit one line. Use the U_LOG_* macros, which test the level first. */
void u_log(enum u_log_level level, const char *subsys, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/** Test hook: route lines to `sink` instead of stderr/syslog (NULL restores). */
typedef void (*u_log_sink_fn)(enum u_log_level level, const char *line, void *arg);
void u_log_set_sink(u_log_sink_fn sink, void *arg);

#define U_LOG_AT(lvl, subsys, ...)                                                                 \
    do {                                                                                           \
        if (u_log_enabled((lvl), (subsys)))                                                        \
            u_log((lvl), (subsys), __VA_ARGS__);                                                   \
    } while (0)
#define U_LOG_ERR(subsys, ...)   U_LOG_AT(U_LOG_ERROR, subsys, __VA_ARGS__)
#define U_LOG_WARN(subsys, ...)  U_LOG_AT(U_LOG_WARN, subsys, __VA_ARGS__)
#define U_LOG_INFO(subsys, ...)  U_LOG_AT(U_LOG_INFO, subsys, __VA_ARGS__)
#define U_LOG_DBG(subsys, ...)   U_LOG_AT(U_LOG_DEBUG, subsys, __VA_ARGS__)
#define U_LOG_TRACE(subsys, ...) U_LOG_AT(U_LOG_TRACE, subsys, __VA_ARGS__)

#endif /* SKR_COMMON_U_LOG_H */
