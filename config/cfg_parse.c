/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading the config file with libinih. libinih (Debian's build: 200-byte lines, no line
 * numbers in the handler, no callback for empty sections, indented lines continue the previous
 * value) is driven through ini_parse_stream() with our own line reader, which
 *   - counts lines, so every message names file and line;
 *   - handles section headers itself ([module], [token NAME], ...), so empty sections count,
 *     names are not truncated and unknown sections fail where they are;
 *   - strips leading blanks (indentation is not a continuation line here) and a UTF-8 BOM;
 *   - drops comment lines (any length), and refuses other lines libinih would silently split
 *     (longer than its buffer) and lines that are not "key = value", before libinih sees them;
 * and stops at the first error. libinih splits "key = value" and drops comments; the handler
 * hands the value to the schema (cfg_schema.c). The whole file is read into locked memory
 * (it may contain PINs) and wiped afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_internal.h"
#include "u_macros.h"
#include "u_secmem.h"

static const char *const g_sect_names[CFG_SECT_COUNT] = {
        [CFG_SECT_MODULE] = "module",     [CFG_SECT_ATTEST] = "attestation",
        [CFG_SECT_IDENTITY] = "identity", [CFG_SECT_TOKEN] = "token",
        [CFG_SECT_KEY] = "key",
};

void cfg_fail(struct cfg_ctx *x, enum cfg_err err, unsigned line, enum cfg_sect sect,
              const char *sname, const char *fmt, ...)
{
    char where[200] = "";
    char text[300];
    va_list ap;
    if (x->err != CFG_OK)
        return;
    x->err = err;
    if (sect != CFG_SECT_NONE)
        snprintf(where, sizeof(where), "[%s%s%.127s] ", g_sect_names[sect], sname ? " " : "",
                 sname ? sname : "");
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (line != 0)
        snprintf(x->msg, sizeof(x->msg), "%s:%u: %s%s", x->name, line, where, text);
    else
        snprintf(x->msg, sizeof(x->msg), "%s: %s%s", x->name, where, text);
}

void cfg_key_free(struct cfg_key *k)
{
    if (k == NULL)
        return;
    cfg_schema_release(CFG_SECT_KEY, k);
    free(k->section);
    free(k);
}

void cfg_token_free(struct cfg_token *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nkeys; i++)
        cfg_key_free(t->keys[i]);
    free(t->keys);
    cfg_schema_release(CFG_SECT_TOKEN, t);
    free(t->name);
    free(t);
}

void cfg_free(struct cfg *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->ntokens; i++)
        cfg_token_free(c->tokens[i]);
    free(c->tokens);
    cfg_schema_release(CFG_SECT_MODULE, c);
    cfg_schema_release(CFG_SECT_ATTEST, c);
    cfg_schema_release(CFG_SECT_IDENTITY, c);
    u_secbuf_free(c->identity.client_secret);
    free(c->path);
    free(c);
}

/* ---- sections ------------------------------------------------------------------------------ */

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p = reallocarray(*arr, ncap, elem);
    if (p == NULL)
        return false;
    memset((char *)p + *cap * elem, 0, (ncap - *cap) * elem);
    *arr = p;
    *cap = ncap;
    return true;
}

static bool token_exists(const struct cfg *c, const char *name)
{
    for (size_t i = 0; i < c->ntokens; i++) {
        if (strcmp(c->tokens[i]->name, name) == 0)
            return true;
    }
    return false;
}

static bool key_exists(const struct cfg_ctx *x, const char *name)
{
    for (size_t i = 0; i < x->nkeys; i++) {
        if (strcmp(((struct cfg_key *)x->keys[i].obj)->section, name) == 0)
            return true;
    }
    return false;
}

static enum cfg_err open_token(struct cfg_ctx *x, const char *name)
{
    struct cfg *c = x->cfg;
    struct cfg_token *t = NULL;
    if (!grow((void **)&c->tokens, &x->cap_toks, c->ntokens + 1, sizeof(*c->tokens)) ||
        !grow((void **)&x->toks, &x->cap_trecs, c->ntokens + 1, sizeof(*x->toks)))
        return CFG_ERR_NOMEM;
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return CFG_ERR_NOMEM;
    t->name = strdup(name);
    if (t->name == NULL || cfg_schema_defaults(CFG_SECT_TOKEN, t) != CFG_OK) {
        cfg_token_free(t);
        return CFG_ERR_NOMEM;
    }
    t->line = x->lineno;
    c->tokens[c->ntokens] = t;
    x->cur_rec = &x->toks[c->ntokens];
    memset(x->cur_rec, 0, sizeof(*x->cur_rec));
    x->cur_rec->obj = t;
    x->cur_rec->line = x->lineno;
    x->cur_name = t->name;
    c->ntokens++;
    return CFG_OK;
}

static enum cfg_err open_key(struct cfg_ctx *x, const char *name)
{
    if (!grow((void **)&x->keys, &x->cap_keys, x->nkeys + 1, sizeof(*x->keys)))
        return CFG_ERR_NOMEM;
    struct cfg_key *k = calloc(1, sizeof(*k));
    if (k == NULL)
        return CFG_ERR_NOMEM;
    k->section = strdup(name);
    if (k->section == NULL || cfg_schema_defaults(CFG_SECT_KEY, k) != CFG_OK) {
        cfg_key_free(k);
        return CFG_ERR_NOMEM;
    }
    k->line = x->lineno;
    x->cur_rec = &x->keys[x->nkeys++];
    memset(x->cur_rec, 0, sizeof(*x->cur_rec));
    x->cur_rec->obj = k;
    x->cur_rec->line = x->lineno;
    x->cur_name = k->section;
    return CFG_OK;
}

static enum cfg_sect sect_kind(const char *word)
{
    for (int s = CFG_SECT_MODULE; s < CFG_SECT_COUNT; s++) {
        if (strcmp(word, g_sect_names[s]) == 0)
            return (enum cfg_sect)s;
    }
    return CFG_SECT_NONE;
}

/* Checks the NAME of [token NAME]/[key NAME] and that it is new. */
static bool named_section_ok(struct cfg_ctx *x, enum cfg_sect kind, const char *name)
{
    unsigned ln = x->lineno;
    if (*name == '\0') {
        cfg_fail(x, CFG_ERR_SYNTAX, ln, CFG_SECT_NONE, NULL, "section [%s] needs a name: [%s NAME]",
                 g_sect_names[kind], g_sect_names[kind]);
        return false;
    }
    if (strlen(name) > 127 || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789-._") != strlen(name)) {
        cfg_fail(x, CFG_ERR_SYNTAX, ln, CFG_SECT_NONE, NULL,
                 "bad section name '%.80s' (1-127 letters, digits, '-', '.', '_')", name);
        return false;
    }
    bool dup = kind == CFG_SECT_TOKEN ? token_exists(x->cfg, name) : key_exists(x, name);
    if (dup) {
        cfg_fail(x, CFG_ERR_SYNTAX, ln, CFG_SECT_NONE, NULL, "duplicate section [%s %s]",
                 g_sect_names[kind], name);
        return false;
    }
    return true;
}

/* `inner` is the text between '[' and ']', trimmed. */
static void open_section(struct cfg_ctx *x, char *inner)
{
    char *name = inner + strcspn(inner, " \t");
    if (*name != '\0') {
        *name++ = '\0';
        name += strspn(name, " \t");
    }
    enum cfg_sect kind = sect_kind(inner);
    enum cfg_err e = CFG_OK;
    if (kind == CFG_SECT_NONE) {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, CFG_SECT_NONE, NULL, "unknown section [%.80s]",
                 inner);
        return;
    }
    x->cur = kind;
    x->cur_name = NULL;
    if (kind == CFG_SECT_TOKEN || kind == CFG_SECT_KEY) {
        if (!named_section_ok(x, kind, name))
            return;
        e = kind == CFG_SECT_TOKEN ? open_token(x, name) : open_key(x, name);
    } else if (*name != '\0') {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, CFG_SECT_NONE, NULL, "section [%s] takes no name",
                 inner);
    } else if (x->glob[kind].line != 0) {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, CFG_SECT_NONE, NULL,
                 "duplicate section [%s] (first on line %u)", inner, x->glob[kind].line);
    } else {
        x->glob[kind].line = x->lineno;
        x->cur_rec = &x->glob[kind];
    }
    if (e != CFG_OK)
        cfg_fail(x, e, x->lineno, CFG_SECT_NONE, NULL, "out of memory");
}

/* ---- the line reader --------------------------------------------------------------------------
 */

/* libinih's own rule: ';' starts an inline comment only after a blank. */
static bool comment_at(const char *line, const char *p)
{
    return *p == ';' && p > line && (p[-1] == ' ' || p[-1] == '\t');
}

/* Section header line: returns false (error recorded) on a malformed one. */
static void header_line(struct cfg_ctx *x, char *line)
{
    char *end = strchr(line, ']');
    if (end == NULL) {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, CFG_SECT_NONE, NULL, "section header without ']'");
        return;
    }
    const char *rest = end + 1 + strspn(end + 1, " \t\r");
    if (*rest != '\0' && *rest != ';' && *rest != '#') {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, CFG_SECT_NONE, NULL,
                 "text after the section header");
        return;
    }
    *end = '\0';
    char *inner = line + 1 + strspn(line + 1, " \t");
    size_t n = strlen(inner);
    while (n > 0 && (inner[n - 1] == ' ' || inner[n - 1] == '\t'))
        inner[--n] = '\0';
    open_section(x, inner);
}

/* A "key = value" line must have '=' before any inline comment, and before any ':' (which
 * libinih would also take as the separator). */
static void check_assignment(struct cfg_ctx *x, const char *line)
{
    for (const char *p = line; *p != '\0'; p++) {
        if (*p == '=')
            return;
        if (*p == ':' || comment_at(line, p))
            break;
    }
    cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, x->cur, x->cur_name, "expected 'key = value'");
}

/* Next line of the text, without BOM, indentation, trailing blanks and CR; *n its length. */
static const char *next_line(struct cfg_ctx *x, size_t *len)
{
    const char *s = x->text + x->pos;
    const char *nl = memchr(s, '\n', x->len - x->pos);
    size_t n = nl ? (size_t)(nl - s) : x->len - x->pos;
    x->pos += n + (nl ? 1 : 0);
    x->lineno++;
    if (x->lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    *len = n;
    return s;
}

static char *reader(char *str, int num, void *stream)
{
    struct cfg_ctx *x = stream;
    size_t n;
    if (x->err != CFG_OK || x->pos >= x->len)
        return NULL;
    const char *s = next_line(x, &n);
    if (memchr(s, '\0', n) != NULL) {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, x->cur, x->cur_name, "NUL byte in the line");
        return NULL;
    }
    if (n > 0 && (*s == ';' || *s == '#')) {
        str[0] = '\0'; /* comments are ours too: any length */
        return str;
    }
    if (n >= (size_t)num) {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, x->cur, x->cur_name,
                 "line longer than %d characters (without indentation)", num - 1);
        return NULL;
    }
    memcpy(str, s, n);
    str[n] = '\0';
    if (str[0] == '[') {
        header_line(x, str);
        str[0] = '\0'; /* libinih sees a blank line: sections are ours */
    } else if (str[0] != '\0') {
        check_assignment(x, str);
    }
    return x->err == CFG_OK ? str : NULL;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_ctx *x = user;
    char why[256];
    (void)section;
    if (x->err != CFG_OK)
        return 0;
    if (x->cur == CFG_SECT_NONE || x->cur_rec == NULL) {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, CFG_SECT_NONE, NULL,
                 "key '%.80s' before any section", name);
        return 0;
    }
    int i = cfg_schema_find(x->cur, name);
    if (i < 0) {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, x->cur, x->cur_name, "unknown key '%.80s'", name);
        return 0;
    }
    if (x->cur_rec->lines[i] != 0) {
        cfg_fail(x, CFG_ERR_SYNTAX, x->lineno, x->cur, x->cur_name,
                 "duplicate key '%s' (first set on line %u)", name, x->cur_rec->lines[i]);
        return 0;
    }
    size_t n;
    const struct cfg_field *f = &cfg_schema_fields(x->cur, &n)[i];
    void *base = x->cur <= CFG_SECT_IDENTITY ? (void *)x->cfg : x->cur_rec->obj;
    enum cfg_err e = cfg_schema_set(f, base, value, x->basedir, why, sizeof(why));
    if (e != CFG_OK) {
        cfg_fail(x, e, x->lineno, x->cur, x->cur_name, "%s: %s", name,
                 e == CFG_ERR_NOMEM ? "out of memory" : why);
        return 0;
    }
    x->cur_rec->lines[i] = x->lineno;
    return 1;
}

/* ---- load --------------------------------------------------------------------------------- */

/* Overwrite the stack libinih used for its line buffer (it may have held a PIN). */
static __attribute__((noinline)) void burn_stack(void)
{
    unsigned char buf[4 * INI_MAX_LINE];
    u_memzero(buf, sizeof(buf));
}

static void ctx_cleanup(struct cfg_ctx *x)
{
    for (size_t i = 0; i < x->nkeys; i++)
        cfg_key_free(x->keys[i].obj);
    free(x->keys);
    free(x->toks);
    free(x->basedir);
    cfg_free(x->cfg);
}

static enum cfg_err ctx_init(struct cfg_ctx *x, const char *name, const char *basedir_of)
{
    memset(x, 0, sizeof(*x));
    x->name = name;
    x->cfg = calloc(1, sizeof(*x->cfg));
    if (x->cfg == NULL)
        return CFG_ERR_NOMEM;
    x->cfg->path = strdup(name);
    if (x->cfg->path == NULL)
        return CFG_ERR_NOMEM;
    if (basedir_of != NULL) {
        char *tmp = strdup(basedir_of);
        if (tmp == NULL)
            return CFG_ERR_NOMEM;
        x->basedir = strdup(dirname(tmp));
        free(tmp);
        if (x->basedir == NULL)
            return CFG_ERR_NOMEM;
    }
    for (int s = CFG_SECT_MODULE; s <= CFG_SECT_IDENTITY; s++) {
        x->glob[s].obj = x->cfg;
        if (cfg_schema_defaults((enum cfg_sect)s, x->cfg) != CFG_OK)
            return CFG_ERR_NOMEM;
    }
    return CFG_OK;
}

static void report(struct cfg_ctx *x, char *errbuf, size_t errlen)
{
    U_LOG_ERR("cfg", "%s", x->msg);
    if (errbuf != NULL && errlen > 0)
        snprintf(errbuf, errlen, "%s", x->msg);
}

static enum cfg_err parse_text(const char *text, size_t len, const char *name,
                               const char *basedir_of, struct cfg **out, char *errbuf,
                               size_t errlen)
{
    struct cfg_ctx x;
    enum cfg_err e = ctx_init(&x, name, basedir_of);
    if (e != CFG_OK) {
        cfg_fail(&x, e, 0, CFG_SECT_NONE, NULL, "out of memory");
        goto out;
    }
    x.text = text;
    x.len = len;
    int r = ini_parse_stream(reader, &x, handler, &x);
    burn_stack();
    if (x.err == CFG_OK && r == -2)
        cfg_fail(&x, CFG_ERR_NOMEM, 0, CFG_SECT_NONE, NULL, "out of memory");
    else if (x.err == CFG_OK && r != 0)
        cfg_fail(&x, CFG_ERR_SYNTAX, r > 0 ? (unsigned)r : 0, CFG_SECT_NONE, NULL, "syntax error");
    if (x.err == CFG_OK)
        cfg_check_all(&x);
    if (x.err == CFG_OK) {
        *out = x.cfg;
        x.cfg = NULL;
    }
out:
    e = x.err;
    if (e != CFG_OK)
        report(&x, errbuf, errlen);
    ctx_cleanup(&x);
    return e;
}

enum cfg_err cfg_load_string(const char *text, const char *name, struct cfg **out, char *errbuf,
                             size_t errlen)
{
    if (out == NULL || text == NULL)
        return CFG_ERR_SYNTAX;
    *out = NULL;
    return parse_text(text, strlen(text), name ? name : "(string)", NULL, out, errbuf, errlen);
}

/* Read the whole file into a secret buffer (no stdio buffers to leave copies behind). */
static int read_file(const char *path, struct u_secbuf **out)
{
    struct stat st;
    struct u_secbuf *b = NULL;
    int err = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return errno;
    if (fstat(fd, &st) != 0) {
        err = errno;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > CFG_MAX_FILE_BYTES) {
        err = S_ISDIR(st.st_mode) ? EISDIR : S_ISREG(st.st_mode) ? EFBIG : EINVAL;
        goto out;
    }
    b = u_secbuf_new((size_t)st.st_size);
    if (b == NULL) {
        err = ENOMEM;
        goto out;
    }
    size_t got = 0;
    while (got < b->len) {
        ssize_t r = read(fd, b->data + got, b->len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            err = r < 0 ? errno : EIO; /* the file shrank under us */
            goto out;
        }
        got += (size_t)r;
    }
    *out = b;
    b = NULL;
out:
    u_secbuf_free(b);
    close(fd);
    return err;
}

enum cfg_err cfg_load(const char *path, struct cfg **out, char *errbuf, size_t errlen)
{
    struct u_secbuf *text = NULL;
    if (out == NULL || path == NULL)
        return CFG_ERR_NOFILE;
    *out = NULL;
    int err = read_file(path, &text);
    if (err != 0) {
        char msg[600];
        snprintf(msg, sizeof(msg), "%s: cannot read the config file: %s", path,
                 err == EFBIG    ? "larger than 256 KiB"
                 : err == EINVAL ? "not a regular file"
                                 : strerror(err));
        U_LOG_ERR("cfg", "%s", msg);
        if (errbuf != NULL && errlen > 0)
            snprintf(errbuf, errlen, "%s", msg);
        return err == ENOMEM ? CFG_ERR_NOMEM : CFG_ERR_NOFILE;
    }
    enum cfg_err e =
            parse_text((const char *)text->data, text->len, path, path, out, errbuf, errlen);
    u_secbuf_free(text);
    return e;
}

char *cfg_path_select(const char *reserved)
{
    const char *env = secure_getenv("SKR_PKCS11_CONF");
    if (env != NULL && *env != '\0')
        return strdup(env);
    for (const char *p = reserved; p != NULL && *p != '\0';) {
        p += strspn(p, " \t\n");
        size_t n = strcspn(p, " \t\n");
        if (n > 7 && strncmp(p, "config=", 7) == 0)
            return strndup(p + 7, n - 7);
        p += n;
    }
    return strdup(CFG_DEFAULT_PATH);
}
