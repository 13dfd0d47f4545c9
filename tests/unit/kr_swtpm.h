/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test helper (header-only, for test binaries): start swtpm on free loopback ports in a private
 * state directory, provision it minimally with tpm2-tools (an RSA signing AK at 0x81000003 and
 * NV indices), run tpm2-tools against it, and stop it by pid.
 */
#ifndef SKR_TESTS_KR_SWTPM_H
#define SKR_TESTS_KR_SWTPM_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct kr_swtpm {
    pid_t pid;
    int port;
    char dir[256];
    char tcti[128];
};

static int swtpm_port_free(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = bind(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(s);
    return ok;
}

/* An ephemeral port P with P+1 also free. */
static int swtpm_pick_ports(void)
{
    for (int tries = 0; tries < 100; tries++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a;
        socklen_t alen = sizeof(a);
        memset(&a, 0, sizeof(a));
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
            getsockname(s, (struct sockaddr *)&a, &alen) != 0) {
            if (s >= 0)
                close(s);
            continue;
        }
        int p = ntohs(a.sin_port);
        close(s);
        if (p < 65000 && swtpm_port_free(p) && swtpm_port_free(p + 1))
            return p;
    }
    return -1;
}

static int swtpm_connectable(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (s >= 0)
        close(s);
    return ok;
}

/* Run a shell command with TPM2TOOLS_TCTI pointing at the swtpm; returns the exit status. */
static int swtpm_run(const struct kr_swtpm *t, const char *cmd)
{
    char line[4096];
    snprintf(line, sizeof(line), "cd '%s' && export TPM2TOOLS_TCTI='%s' TSS2_LOG=all+none && %s",
             t->dir, t->tcti, cmd);
    int st = system(line);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int swtpm_start(struct kr_swtpm *t)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/kr-swtpm-XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    t->port = swtpm_pick_ports();
    if (t->port < 0)
        return -1;
    char server[128], ctrl[128], state[300];
    snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", t->port);
    snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", t->port + 1);
    snprintf(state, sizeof(state), "dir=%s", t->dir);
    char *argv[] = {"swtpm",
                    "socket",
                    "--tpm2",
                    "--server",
                    server,
                    "--ctrl",
                    ctrl,
                    "--tpmstate",
                    state,
                    "--flags",
                    "not-need-init,startup-clear",
                    NULL};
    if (posix_spawnp(&t->pid, "swtpm", NULL, NULL, argv, environ) != 0)
        return -1;
    /* readiness: wait until the server port accepts, or swtpm exits */
    for (;;) {
        int st;
        if (waitpid(t->pid, &st, WNOHANG) == t->pid)
            return -1;
        if (swtpm_connectable(t->port))
            break;
        usleep(20000);
    }
    snprintf(t->tcti, sizeof(t->tcti), "swtpm:host=127.0.0.1,port=%d", t->port);
    return 0;
}

static void swtpm_stop(struct kr_swtpm *t)
{
    if (t->pid > 0) {
        kill(t->pid, SIGTERM);
        waitpid(t->pid, NULL, 0);
        t->pid = 0;
    }
    if (t->dir[0] != '\0') {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", t->dir);
    }
}

/* Write `len` bytes to file `name` inside the state dir. */
static int swtpm_write_file(const struct kr_swtpm *t, const char *name, const void *p, size_t len)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = fwrite(p, 1, len, f);
    fclose(f);
    return n == len ? 0 : -1;
}

/* AK (restricted RSA-2048 RSASSA-SHA256 signing primary under owner) persisted at 0x81000003,
 * and NV index `nv` (owner read/write) holding file `name` of `size` bytes. */
static int swtpm_provision_ak(const struct kr_swtpm *t)
{
    return swtpm_run(t, "tpm2_createprimary -Q -C o -g sha256 -G rsa2048:rsassa-sha256:null "
                        "-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|"
                        "sign' -c ak.ctx && tpm2_evictcontrol -Q -C o -c ak.ctx 0x81000003 && "
                        "tpm2_flushcontext -t");
}

static int swtpm_provision_nv(const struct kr_swtpm *t, unsigned nv, const char *name, size_t size)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "tpm2_nvdefine -Q 0x%08x -C o -s %zu -a 'ownerread|ownerwrite|authread|authwrite' && "
             "tpm2_nvwrite -Q 0x%08x -C o -i %s",
             nv, size, nv, name);
    return swtpm_run(t, cmd);
}

#endif /* SKR_TESTS_KR_SWTPM_H */
