/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The per-slot object table and its search index. An entry holds one reference to an
 * st_object, a generation for its handle, and the hash of its class, key type, CKA_ID and
 * CKA_LABEL, each chained into a bucket list, so C_FindObjectsInit walks only objects whose
 * indexed value hashes equal the template's (then st_object_match decides). Slot lock held by
 * every caller.
 */
#include <stdlib.h>
#include <string.h>

#include "mod_internal.h"
#include "u_macros.h"

#define SLOT_SHIFT 24
#define GEN_SHIFT  32

static uint32_t fnv1a(uint32_t tag, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint32_t h = 2166136261u ^ tag;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h == 0 ? 1 : h;
}

uint32_t mod_ix_hash(enum mod_ix ix, const void *p, size_t n)
{
    return fnv1a((uint32_t)ix, p, n);
}

static uint32_t bytes_key(struct st_object *o, enum mod_ix ix)
{
    CK_BYTE small[128];
    CK_BYTE *buf = small;
    CK_ULONG len = sizeof(small);
    uint32_t key = 0;
    CK_RV rv = ix == MOD_IX_ID ? st_object_id(o, buf, &len) : st_object_label(o, buf, &len);

    if (rv == CKR_BUFFER_TOO_SMALL) {
        buf = malloc(len);
        if (buf == NULL)
            return 0;
        rv = ix == MOD_IX_ID ? st_object_id(o, buf, &len) : st_object_label(o, buf, &len);
    }
    if (rv == CKR_OK && len > 0)
        key = mod_ix_hash(ix, buf, len);
    if (buf != small)
        free(buf);
    return key;
}

static void compute_keys(struct mod_obj_entry *e)
{
    CK_OBJECT_CLASS cls = st_object_class(e->obj);
    CK_KEY_TYPE kt = st_object_key_type(e->obj);

    e->key[MOD_IX_CLASS] = mod_ix_hash(MOD_IX_CLASS, &cls, sizeof(cls));
    e->key[MOD_IX_KTYPE] =
            kt == CK_UNAVAILABLE_INFORMATION ? 0 : mod_ix_hash(MOD_IX_KTYPE, &kt, sizeof(kt));
    e->key[MOD_IX_ID] = bytes_key(e->obj, MOD_IX_ID);
    e->key[MOD_IX_LABEL] = bytes_key(e->obj, MOD_IX_LABEL);
    e->is_private = st_object_is_private(e->obj);
}

static void index_add(struct mod_slot *sl, int32_t i)
{
    struct mod_obj_entry *e = &sl->objs[i];
    int ix;

    for (ix = 0; ix < MOD_IX_COUNT; ix++) {
        if (e->key[ix] == 0) {
            e->next[ix] = -1;
            continue;
        }
        e->next[ix] = sl->head[ix][e->key[ix] % MOD_IX_BUCKETS];
        sl->head[ix][e->key[ix] % MOD_IX_BUCKETS] = i;
    }
}

static void index_del(struct mod_slot *sl, int32_t i)
{
    struct mod_obj_entry *e = &sl->objs[i];
    int32_t *link;
    int ix;

    for (ix = 0; ix < MOD_IX_COUNT; ix++) {
        if (e->key[ix] == 0)
            continue;
        link = &sl->head[ix][e->key[ix] % MOD_IX_BUCKETS];
        while (*link != -1 && *link != i)
            link = &sl->objs[*link].next[ix];
        if (*link == i)
            *link = e->next[ix];
        e->key[ix] = 0;
    }
}

void mod_object_reindex(struct mod_slot *sl, int32_t i)
{
    index_del(sl, i);
    compute_keys(&sl->objs[i]);
    index_add(sl, i);
}

static CK_OBJECT_HANDLE make_handle(const struct mod_slot *sl, int32_t i)
{
    return ((CK_ULONG)sl->objs[i].gen << GEN_SHIFT) | ((CK_ULONG)sl->id << SLOT_SHIFT) |
           (CK_ULONG)(i + 1);
}

CK_OBJECT_HANDLE mod_object_handle(const struct mod_slot *sl, int32_t i)
{
    return make_handle(sl, i);
}

static CK_RV entry_alloc(struct mod_slot *sl, int32_t *out)
{
    struct mod_obj_entry *n;
    int32_t cap;

    if (sl->free_head >= 0) {
        *out = sl->free_head;
        sl->free_head = sl->objs[*out].next[0];
        return CKR_OK;
    }
    if (sl->nobjs == sl->cap) {
        if (sl->cap >= MOD_OBJ_MAX)
            return CKR_DEVICE_MEMORY;
        cap = sl->cap ? sl->cap * 2 : 16;
        if (cap > MOD_OBJ_MAX)
            cap = MOD_OBJ_MAX;
        n = realloc(sl->objs, (size_t)cap * sizeof(*n));
        if (n == NULL)
            return CKR_HOST_MEMORY;
        memset(n + sl->cap, 0, (size_t)(cap - sl->cap) * sizeof(*n));
        sl->objs = n;
        sl->cap = cap;
    }
    *out = sl->nobjs++;
    sl->objs[*out].gen = 1;
    return CKR_OK;
}

CK_RV mod_object_insert(struct mod_slot *sl, struct st_object *obj, CK_SESSION_HANDLE owner,
                        CK_OBJECT_HANDLE *out)
{
    struct mod_obj_entry *e;
    int32_t i = -1;
    CK_RV rv = entry_alloc(sl, &i);

    if (rv != CKR_OK) {
        st_object_unref(obj);
        return rv;
    }
    e = &sl->objs[i];
    e->obj = obj;
    e->owner = owner;
    compute_keys(e);
    index_add(sl, i);
    if (out != NULL)
        *out = make_handle(sl, i);
    return CKR_OK;
}

int32_t mod_object_find_entry(struct mod_slot *sl, CK_OBJECT_HANDLE h)
{
    CK_ULONG idx = h & ((1UL << SLOT_SHIFT) - 1);
    struct mod_obj_entry *e;

    if (idx == 0 || idx > (CK_ULONG)sl->nobjs || ((h >> SLOT_SHIFT) & 0xff) != sl->id)
        return -1;
    e = &sl->objs[idx - 1];
    if (e->obj == NULL || (CK_ULONG)e->gen != (h >> GEN_SHIFT))
        return -1;
    if (e->is_private && !mod_slot_private_visible(sl))
        return -1;
    return (int32_t)(idx - 1);
}

CK_RV mod_object_lookup(struct mod_slot *sl, CK_OBJECT_HANDLE h, struct st_object **out)
{
    int32_t i = mod_object_find_entry(sl, h);

    if (i < 0)
        return CKR_OBJECT_HANDLE_INVALID;
    st_object_ref(sl->objs[i].obj);
    *out = sl->objs[i].obj;
    return CKR_OK;
}

void mod_object_remove(struct mod_slot *sl, int32_t i)
{
    struct mod_obj_entry *e = &sl->objs[i];

    index_del(sl, i);
    st_object_unref(e->obj);
    e->obj = NULL;
    e->owner = 0;
    e->is_private = false;
    e->gen = e->gen == UINT32_MAX ? 1 : e->gen + 1;
    e->next[0] = sl->free_head;
    sl->free_head = i;
}

void mod_object_drop_session(struct mod_slot *sl, CK_SESSION_HANDLE owner)
{
    int32_t i;

    for (i = 0; i < sl->nobjs; i++) {
        struct mod_obj_entry *e = &sl->objs[i];

        if (e->obj != NULL && e->owner != 0 && (owner == 0 || e->owner == owner))
            mod_object_remove(sl, i);
    }
}

/* PKCS#11 3.0 §5.6.10: after C_Logout, handles to private objects are invalid and private
 * session objects are destroyed. Private token objects get a new generation. */
void mod_object_logout(struct mod_slot *sl)
{
    int32_t i;

    for (i = 0; i < sl->nobjs; i++) {
        struct mod_obj_entry *e = &sl->objs[i];

        if (e->obj == NULL || !e->is_private)
            continue;
        if (e->owner != 0)
            mod_object_remove(sl, i);
        else
            e->gen = e->gen == UINT32_MAX ? 1 : e->gen + 1;
    }
}

void mod_object_table_free(struct mod_slot *sl)
{
    int32_t i;

    for (i = 0; i < sl->nobjs; i++)
        st_object_unref(sl->objs[i].obj);
    U_FREE(sl->objs);
    sl->nobjs = 0;
    sl->cap = 0;
    sl->free_head = -1;
}

/* Best index for a template: id, label, key type, class (most selective first). */
static bool pick_index(const CK_ATTRIBUTE *t, CK_ULONG n, enum mod_ix *ix, uint32_t *key)
{
    static const struct {
        CK_ATTRIBUTE_TYPE type;
        enum mod_ix ix;
    } order[] = {{CKA_ID, MOD_IX_ID},
                 {CKA_LABEL, MOD_IX_LABEL},
                 {CKA_KEY_TYPE, MOD_IX_KTYPE},
                 {CKA_CLASS, MOD_IX_CLASS}};
    size_t k;
    CK_ULONG j;

    for (k = 0; k < U_ARRAY_SIZE(order); k++) {
        for (j = 0; j < n; j++) {
            bool ulong = order[k].ix == MOD_IX_CLASS || order[k].ix == MOD_IX_KTYPE;

            if (t[j].type != order[k].type || t[j].pValue == NULL || t[j].ulValueLen == 0)
                continue;
            if (ulong && t[j].ulValueLen != sizeof(CK_ULONG))
                continue;
            *ix = order[k].ix;
            *key = mod_ix_hash(order[k].ix, t[j].pValue, t[j].ulValueLen);
            return true;
        }
    }
    return false;
}

static bool candidate(struct mod_slot *sl, int32_t i, const CK_ATTRIBUTE *t, CK_ULONG n)
{
    struct mod_obj_entry *e = &sl->objs[i];

    if (e->obj == NULL || (e->is_private && !mod_slot_private_visible(sl)))
        return false;
    return st_object_match(e->obj, t, n);
}

static CK_RV push(CK_OBJECT_HANDLE **v, CK_ULONG *n, CK_ULONG *cap, CK_OBJECT_HANDLE h)
{
    CK_OBJECT_HANDLE *nv;

    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        nv = realloc(*v, *cap * sizeof(**v));
        if (nv == NULL)
            return CKR_HOST_MEMORY;
        *v = nv;
    }
    (*v)[(*n)++] = h;
    return CKR_OK;
}

/* Results in table order (oldest object first), whatever index produced them. */
static int by_index(const void *a, const void *b)
{
    CK_ULONG x = *(const CK_OBJECT_HANDLE *)a & ((1UL << SLOT_SHIFT) - 1);
    CK_ULONG y = *(const CK_OBJECT_HANDLE *)b & ((1UL << SLOT_SHIFT) - 1);

    return x < y ? -1 : x > y;
}

CK_RV mod_object_search(struct mod_slot *sl, const CK_ATTRIBUTE *t, CK_ULONG n,
                        CK_OBJECT_HANDLE **out, CK_ULONG *count)
{
    CK_OBJECT_HANDLE *v = NULL;
    CK_ULONG nv = 0, cap = 0;
    enum mod_ix ix = MOD_IX_CLASS;
    uint32_t key = 0;
    int32_t i;
    CK_RV rv = CKR_OK;

    if (pick_index(t, n, &ix, &key)) {
        for (i = sl->head[ix][key % MOD_IX_BUCKETS]; i != -1 && rv == CKR_OK;
             i = sl->objs[i].next[ix])
            if (sl->objs[i].key[ix] == key && candidate(sl, i, t, n))
                rv = push(&v, &nv, &cap, make_handle(sl, i));
    } else {
        for (i = 0; i < sl->nobjs && rv == CKR_OK; i++)
            if (candidate(sl, i, t, n))
                rv = push(&v, &nv, &cap, make_handle(sl, i));
    }
    if (rv != CKR_OK) {
        free(v);
        return rv;
    }
    if (nv > 1)
        qsort(v, nv, sizeof(*v), by_index);
    *out = v;
    *count = nv;
    return CKR_OK;
}
