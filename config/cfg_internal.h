/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by cfg_parse.c (reader, sections, errors), cfg_schema.c (the table of keys
 * and their value parsers) and cfg_check.c (cross-section rules, defaults that depend on other
 * sections, environment defaults). Not installed; only config/ and its tests include it.
 */
#ifndef SKR_CONFIG_CFG_INTERNAL_H
#define SKR_CONFIG_CFG_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"

/* Most keys any one section has; line tables are this wide. */
#define CFG_MAX_FIELDS 16

/* Longest accepted config file (it is held in locked memory while parsed: it may hold PINs). */
#define CFG_MAX_FILE_BYTES (256 * 1024)

enum cfg_sect {
    CFG_SECT_NONE = 0,
    CFG_SECT_MODULE,
    CFG_SECT_ATTEST,
    CFG_SECT_IDENTITY,
    CFG_SECT_TOKEN,
    CFG_SECT_KEY,
    CFG_SECT_COUNT,
};

enum cfg_vtype {
    CFG_T_STR,    /* char *, checked by `check` */
    CFG_T_BOOL,   /* bool: yes|no|true|false|1|0 */
    CFG_T_LONG,   /* long in [min, max] */
    CFG_T_UINT,   /* unsigned in [min, max] */
    CFG_T_SIZE,   /* size_t in [min, max] */
    CFG_T_ENUM,   /* int-sized enum from `enums` */
    CFG_T_HEX,    /* unsigned char[max] at off, size_t length at len_off */
    CFG_T_PATH,   /* char *, relative paths resolved against the config file's folder */
    CFG_T_PCRS,   /* uint32_t mask from "0-7" / "0,1,2" */
    CFG_T_URL,    /* char *, https (http too with CFG_F_HTTP_OK), trailing '/' dropped */
    CFG_T_SECRET, /* struct u_secbuf *; the value is never echoed */
};

#define CFG_F_HTTP_OK  0x1u /* CFG_T_URL: http:// is accepted too */
#define CFG_F_EMPTY_OK 0x2u /* an empty value means "unset" instead of an error */

struct cfg_enum {
    const char *name;
    int value;
};

/* Extra validator for string values: false + a reason in `why` when `v` is not acceptable. */
typedef bool (*cfg_check_fn)(const char *v, char *why, size_t whylen);

struct cfg_field {
    const char *name;
    enum cfg_vtype type;
    size_t off;      /* offset in the section's struct (struct cfg for the global sections) */
    const char *def; /* default as text, parsed like a file value; NULL = none */
    long long min;   /* integers: range */
    long long max;   /* integers: range; strings: maximum length in bytes; hex: capacity */
    unsigned flags;
    const struct cfg_enum *enums; /* CFG_T_ENUM, NULL-terminated */
    cfg_check_fn check;           /* CFG_T_STR: extra rule, NULL = printable text */
    size_t len_off;               /* CFG_T_HEX: offset of the size_t length */
};

/** The fields of a section kind; *n receives their count. */
const struct cfg_field *cfg_schema_fields(enum cfg_sect sect, size_t *n);

/** Index of `name` in the section's table, or -1. */
int cfg_schema_find(enum cfg_sect sect, const char *name);

/**
 * Parse `value` into the field at `base`. Replaces (and frees) what was there. `basedir`
 * (may be NULL) resolves relative paths. CFG_OK, CFG_ERR_NOMEM, or CFG_ERR_SYNTAX with the
 * reason in `why` (never containing a secret value).
 */
enum cfg_err cfg_schema_set(const struct cfg_field *f, void *base, const char *value,
                            const char *basedir, char *why, size_t whylen);

/** Apply every default of `sect` to `base`. CFG_OK or CFG_ERR_NOMEM. */
enum cfg_err cfg_schema_defaults(enum cfg_sect sect, void *base);

/** Free every heap value (strings, secrets) the section's fields own at `base`. */
void cfg_schema_release(enum cfg_sect sect, void *base);

/** Printable name of an enum value of field `f` (for messages), "?" if unknown. */
const char *cfg_schema_enum_name(const struct cfg_field *f, int value);

/** Validators shared with cfg_check.c. */
bool cfg_check_vault_name(const char *v, char *why, size_t whylen);

/* One parsed [token]/[key] (or global section) instance: its object and where things were. */
struct cfg_rec {
    void *obj;                      /* struct cfg_token * / struct cfg_key * / struct cfg * */
    unsigned line;                  /* header line, 0 = section absent */
    unsigned lines[CFG_MAX_FIELDS]; /* line of each key of the schema, 0 = not set in the file */
};

struct cfg_ctx {
    struct cfg *cfg;
    const char *name; /* file name used in messages */
    char *basedir;    /* folder of the config file, NULL = leave relative paths alone */
    const char *text; /* the whole text being parsed */
    size_t len;
    size_t pos;
    unsigned lineno;   /* line the reader handed out last */
    enum cfg_sect cur; /* section being parsed */
    struct cfg_rec *cur_rec;
    const char *cur_name; /* NAME of [token NAME] / [key NAME], NULL otherwise */
    struct cfg_rec glob[CFG_SECT_IDENTITY + 1]; /* module, attestation, identity */
    struct cfg_rec *toks;                       /* parallel to cfg->tokens */
    struct cfg_rec *keys; /* every [key] in file order; obj owned here until distributed */
    size_t nkeys;
    size_t cap_toks;  /* of cfg->tokens */
    size_t cap_trecs; /* of toks */
    size_t cap_keys;
    enum cfg_err err; /* first error, CFG_OK while none */
    char msg[512];    /* its text */
};

/**
 * Record the first error: "<file>:<line>: [<section>] <message>". `sect`/`sname` describe the
 * section (CFG_SECT_NONE for none); line 0 omits the line. Later errors are ignored.
 */
void cfg_fail(struct cfg_ctx *x, enum cfg_err err, unsigned line, enum cfg_sect sect,
              const char *sname, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/** Cross-section rules and derived defaults, run once the whole file is read. */
enum cfg_err cfg_check_all(struct cfg_ctx *x);

/** Free a key / token and everything they own (keys of a token included). NULL-safe. */
void cfg_key_free(struct cfg_key *k);
void cfg_token_free(struct cfg_token *t);

#endif /* SKR_CONFIG_CFG_INTERNAL_H */
