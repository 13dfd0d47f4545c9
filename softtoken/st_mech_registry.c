/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mechanism registry: the rows of every family merged once into one array sorted by
 * mechanism type, looked up with bsearch. C_GetMechanismList and C_GetMechanismInfo are derived
 * from it, so what is listed is exactly what the families implement (tpm2-pkcs11 mech.c,
 * kryoptic mechanism.rs).
 */
#include <pthread.h>
#include <stdlib.h>

#include "st_mech.h"
#include "u_macros.h"
#include "u_rv.h"

#define MAX_ROWS 96

static const struct st_mech_desc *g_rows[MAX_ROWS];
static size_t g_nrows;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int cmp_rows(const void *a, const void *b)
{
    const struct st_mech_desc *x = *(const struct st_mech_desc *const *)a;
    const struct st_mech_desc *y = *(const struct st_mech_desc *const *)b;
    if (x->type == y->type)
        return 0;
    return x->type < y->type ? -1 : 1;
}

static void add_family(const struct st_mech_desc *rows, size_t n)
{
    for (size_t i = 0; i < n && g_nrows < MAX_ROWS; i++)
        g_rows[g_nrows++] = &rows[i];
}

static void build_once(void)
{
    add_family(st_mech_digest_rows, st_mech_digest_count);
    add_family(st_mech_rsa_rows, st_mech_rsa_count);
    add_family(st_mech_ec_rows, st_mech_ec_count);
    add_family(st_mech_eddsa_rows, st_mech_eddsa_count);
    add_family(st_mech_aes_rows, st_mech_aes_count);
    add_family(st_mech_hmac_rows, st_mech_hmac_count);
    qsort(g_rows, g_nrows, sizeof(g_rows[0]), cmp_rows);
}

size_t st_mech_rows(const struct st_mech_desc *const **rows)
{
    pthread_once(&g_once, build_once);
    *rows = g_rows;
    return g_nrows;
}

static int cmp_key(const void *key, const void *elem)
{
    CK_MECHANISM_TYPE t = *(const CK_MECHANISM_TYPE *)key;
    const struct st_mech_desc *d = *(const struct st_mech_desc *const *)elem;
    if (t == d->type)
        return 0;
    return t < d->type ? -1 : 1;
}

const struct st_mech_desc *st_mech_find(CK_MECHANISM_TYPE type)
{
    pthread_once(&g_once, build_once);
    const struct st_mech_desc *const *hit =
            bsearch(&type, g_rows, g_nrows, sizeof(g_rows[0]), cmp_key);
    return hit != NULL ? *hit : NULL;
}

CK_RV st_mech_list(CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
    U_RETURN_IF_FAIL(count != NULL, CKR_ARGUMENTS_BAD);
    pthread_once(&g_once, build_once);
    if (list == NULL) {
        *count = (CK_ULONG)g_nrows;
        return CKR_OK;
    }
    if (*count < g_nrows) {
        *count = (CK_ULONG)g_nrows;
        return CKR_BUFFER_TOO_SMALL;
    }
    for (size_t i = 0; i < g_nrows; i++)
        list[i] = g_rows[i]->type;
    *count = (CK_ULONG)g_nrows;
    return CKR_OK;
}

CK_RV st_mech_info(CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
    U_RETURN_IF_FAIL(info != NULL, CKR_ARGUMENTS_BAD);
    const struct st_mech_desc *d = st_mech_find(type);
    if (d == NULL)
        return CKR_MECHANISM_INVALID;
    *info = d->info;
    return CKR_OK;
}
