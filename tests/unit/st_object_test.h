/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers for the object/policy/import tests: template shorthands, fixture loading from
 * tests/data/st, and single-attribute getters. Header-only so each test stays one source file.
 */
#ifndef SKR_TESTS_ST_OBJECT_TEST_H
#define SKR_TESTS_ST_OBJECT_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "st_object_priv.h"

static CK_BBOOL ot_true __attribute__((unused)) = CK_TRUE;
static CK_BBOOL ot_false __attribute__((unused)) = CK_FALSE;

#define OT_ATTR(t, v)                                                                              \
    {                                                                                              \
        (t), (void *)(uintptr_t) & (v), sizeof(v)                                                  \
    }
#define OT_BYTES(t, p, n)                                                                          \
    {                                                                                              \
        (t), (void *)(uintptr_t)(p), (CK_ULONG)(n)                                                 \
    }
#define OT_STR(t, s)                                                                               \
    {                                                                                              \
        (t), (void *)(uintptr_t)(s), (CK_ULONG)strlen(s)                                           \
    }
#define OT_N(a) (sizeof(a) / sizeof((a)[0]))

/* Whole fixture file tests/data/st/<name>; fails the test if missing. */
static inline unsigned char *ot_read(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/st/%s", SKR_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(65536);
    assert_non_null(buf);
    *len = fread(buf, 1, 65536, f);
    fclose(f);
    assert_true(*len > 0);
    return buf;
}

/* One attribute into a malloc'd buffer (NULL + CK_RV on failure). */
static inline void *ot_get(struct st_object *o, CK_ATTRIBUTE_TYPE t, CK_ULONG *len, CK_RV *rv)
{
    CK_ATTRIBUTE a = {t, NULL, 0};
    *rv = st_object_get_attributes(o, &a, 1);
    if (*rv != CKR_OK) {
        *len = a.ulValueLen;
        return NULL;
    }
    a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1);
    *rv = st_object_get_attributes(o, &a, 1);
    *len = a.ulValueLen;
    return a.pValue;
}

static inline CK_BBOOL ot_bool(struct st_object *o, CK_ATTRIBUTE_TYPE t)
{
    CK_BBOOL b = 0xAA;
    CK_ATTRIBUTE a = {t, &b, sizeof(b)};
    assert_int_equal(st_object_get_attributes(o, &a, 1), CKR_OK);
    return b;
}

static inline CK_ULONG ot_ulong(struct st_object *o, CK_ATTRIBUTE_TYPE t)
{
    CK_ULONG v = 0;
    CK_ATTRIBUTE a = {t, &v, sizeof(v)};
    assert_int_equal(st_object_get_attributes(o, &a, 1), CKR_OK);
    return v;
}

/* Assert attribute t equals p[0..n). */
static inline void ot_assert_attr(struct st_object *o, CK_ATTRIBUTE_TYPE t, const void *p, size_t n)
{
    CK_ULONG len = 0;
    CK_RV rv;
    void *v = ot_get(o, t, &len, &rv);
    assert_int_equal(rv, CKR_OK);
    assert_int_equal(len, n);
    if (n)
        assert_memory_equal(v, p, n);
    free(v);
}

static inline int ot_setup(void **state)
{
    (void)state;
    return st_init() == CKR_OK ? 0 : -1;
}

static inline int ot_teardown(void **state)
{
    (void)state;
    st_cleanup();
    return 0;
}

#endif /* SKR_TESTS_ST_OBJECT_TEST_H */
