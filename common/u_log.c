/* SPDX-License-Identifier: Apache-2.0 */
/* Logging to stderr or syslog with a level and an optional subsystem filter. */
#define _GNU_SOURCE
#include "u_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#define SUBSYS_MAX 8

static struct {
    enum u_log_level level;
    enum u_log_target target;
    char subsys[SUBSYS_MAX][8]; /* empty first entry = all subsystems */
    u_log_sink_fn sink;
    void *sink_arg;
    bool env_read;
    bool env_level_set;
} g_log = {.level = U_LOG_ERROR};

static pthread_mutex_t g_log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"none", "error", "warn", "info", "debug", "trace"};

bool u_log_level_parse(const char *s, enum u_log_level *out)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum u_log_level)i;
            return true;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = U_LOG_WARN;
        return true;
    }
    return false;
}

/* SKR_PKCS11_LOG=level[,subsys...]; read once, under the lock. */
static void read_env_locked(void)
{
    if (g_log.env_read)
        return;
    g_log.env_read = true;
    const char *env = getenv("SKR_PKCS11_LOG");
    if (env == NULL || *env == '\0')
        return;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", env);
    char *save = NULL;
    char *tok = strtok_r(buf, ",", &save);
    enum u_log_level lvl;
    if (tok != NULL && u_log_level_parse(tok, &lvl)) {
        g_log.level = lvl;
        g_log.env_level_set = true;
    }
    size_t n = 0;
    while ((tok = strtok_r(NULL, ",", &save)) != NULL && n < SUBSYS_MAX) {
        snprintf(g_log.subsys[n], sizeof(g_log.subsys[n]), "%s", tok);
        n++;
    }
}

/* A fork while another thread logs must not leave the child with a held lock. */
static void atfork_prepare(void)
{
    pthread_mutex_lock(&g_log_lock);
}

static void atfork_release(void)
{
    pthread_mutex_unlock(&g_log_lock);
}

static void register_atfork(void)
{
    pthread_atfork(atfork_prepare, atfork_release, atfork_release);
}

void u_log_configure(enum u_log_level level, enum u_log_target target)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    pthread_mutex_lock(&g_log_lock);
    read_env_locked();
    if (!g_log.env_level_set)
        g_log.level = level;
    g_log.target = target;
    pthread_mutex_unlock(&g_log_lock);
}

bool u_log_enabled(enum u_log_level level, const char *subsys)
{
    if (!g_log.env_read) {
        pthread_mutex_lock(&g_log_lock);
        read_env_locked();
        pthread_mutex_unlock(&g_log_lock);
    }
    if (level > g_log.level || level == U_LOG_NONE)
        return false;
    /* Errors and warnings always pass the subsystem filter. */
    if (g_log.subsys[0][0] == '\0' || level <= U_LOG_WARN || subsys == NULL)
        return true;
    for (size_t i = 0; i < SUBSYS_MAX && g_log.subsys[i][0] != '\0'; i++) {
        if (strcmp(g_log.subsys[i], subsys) == 0)
            return true;
    }
    return false;
}

void u_log_set_sink(u_log_sink_fn sink, void *arg)
{
    pthread_mutex_lock(&g_log_lock);
    g_log.sink = sink;
    g_log.sink_arg = arg;
    pthread_mutex_unlock(&g_log_lock);
}

void u_log(enum u_log_level level, const char *subsys, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One line per event: fold any newline a caller's string carried. */
    for (char *p = msg; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
    const char *lname = level_names[level <= U_LOG_TRACE ? level : U_LOG_TRACE];

    pthread_mutex_lock(&g_log_lock);
    if (g_log.sink != NULL) {
        char line[1200];
        snprintf(line, sizeof(line), "%s %s: %s", lname, subsys ? subsys : "-", msg);
        g_log.sink(level, line, g_log.sink_arg);
    } else if (g_log.target == U_LOG_TARGET_SYSLOG) {
        static const int prio[] = {LOG_ERR, LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
        syslog(LOG_USER | prio[level <= U_LOG_TRACE ? level : U_LOG_TRACE], "skr-pkcs11 %s: %s",
               subsys ? subsys : "-", msg);
    } else {
        fprintf(stderr, "skr-pkcs11[%ld]: %s %s: %s\n", (long)getpid(), lname,
                subsys ? subsys : "-", msg);
    }
    pthread_mutex_unlock(&g_log_lock);
}
