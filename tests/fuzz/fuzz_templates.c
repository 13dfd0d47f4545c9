/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: attribute templates through st_object_create, then C_GetAttributeValue (length
 * query, exact and short buffers), C_SetAttributeValue, C_CopyObject and matching on whatever
 * object results.
 *
 * Input: records [sel][len][len bytes]. sel < 0xF0 picks an attribute type from `types`;
 * 0xFF takes the type from the next 4 bytes; 0xFE makes the record {type, NULL, len};
 * 0xFD starts the C_SetAttributeValue template, 0xFC the C_CopyObject template.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "st.h"

#define MAX_ATTRS 64

static const CK_ATTRIBUTE_TYPE types[] = {
        CKA_CLASS,
        CKA_KEY_TYPE,
        CKA_TOKEN,
        CKA_PRIVATE,
        CKA_LABEL,
        CKA_VALUE,
        CKA_VALUE_LEN,
        CKA_ID,
        CKA_SENSITIVE,
        CKA_EXTRACTABLE,
        CKA_MODIFIABLE,
        CKA_COPYABLE,
        CKA_DESTROYABLE,
        CKA_ENCRYPT,
        CKA_DECRYPT,
        CKA_SIGN,
        CKA_VERIFY,
        CKA_WRAP,
        CKA_UNWRAP,
        CKA_DERIVE,
        CKA_MODULUS,
        CKA_PUBLIC_EXPONENT,
        CKA_PRIVATE_EXPONENT,
        CKA_PRIME_1,
        CKA_PRIME_2,
        CKA_EXPONENT_1,
        CKA_EXPONENT_2,
        CKA_COEFFICIENT,
        CKA_MODULUS_BITS,
        CKA_EC_PARAMS,
        CKA_EC_POINT,
        CKA_CERTIFICATE_TYPE,
        CKA_SUBJECT,
        CKA_ISSUER,
        CKA_SERIAL_NUMBER,
        CKA_CHECK_VALUE,
        CKA_START_DATE,
        CKA_END_DATE,
        CKA_ALLOWED_MECHANISMS,
        CKA_LOCAL,
        CKA_ALWAYS_SENSITIVE,
        CKA_NEVER_EXTRACTABLE,
        CKA_PUBLIC_KEY_INFO,
        CKA_TRUSTED,
        CKA_APPLICATION,
        CKA_OBJECT_ID,
        CKA_UNIQUE_ID,
        CKA_WRAP_WITH_TRUSTED,
        CKA_CERTIFICATE_CATEGORY,
        CKA_KEY_GEN_MECHANISM,
        CKA_ALWAYS_AUTHENTICATE,
        CKA_SUBJECT,
};

struct tmpl {
    CK_ATTRIBUTE a[MAX_ATTRS];
    CK_ULONG n;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return st_init() == CKR_OK ? 0 : 1;
}

/* Parse records into three templates pointing into `data`. */
static void parse(const uint8_t *data, size_t size, struct tmpl t[3])
{
    size_t i = 0;
    int cur = 0;
    while (i + 2 <= size) {
        uint8_t sel = data[i++];
        if (sel == 0xFD || sel == 0xFC) {
            cur = sel == 0xFD ? 1 : 2;
            continue;
        }
        CK_ATTRIBUTE_TYPE type = types[sel % (sizeof(types) / sizeof(types[0]))];
        if (sel == 0xFF) {
            if (i + 4 > size)
                return;
            uint32_t raw;
            memcpy(&raw, data + i, 4);
            type = raw;
            i += 4;
        }
        if (i >= size)
            return;
        size_t len = data[i++];
        if (i + len > size)
            len = size - i;
        if (t[cur].n < MAX_ATTRS) {
            CK_ATTRIBUTE *a = &t[cur].a[t[cur].n++];
            a->type = type;
            a->pValue = sel == 0xFE ? NULL : (void *)(uintptr_t)(data + i);
            a->ulValueLen = len;
        }
        i += len;
    }
}

/* Every type, three ways: length query, exact buffer, one byte short. */
static void read_all(struct st_object *o)
{
    static CK_BYTE buf[4096];
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        CK_ATTRIBUTE a = {types[i], NULL, 0};
        if (st_object_get_attributes(o, &a, 1) != CKR_OK || a.ulValueLen > sizeof(buf))
            continue;
        CK_ULONG len = a.ulValueLen;
        a.pValue = buf;
        if (st_object_get_attributes(o, &a, 1) != CKR_OK || a.ulValueLen != len)
            abort();
        if (len > 0) {
            a.ulValueLen = len - 1;
            if (st_object_get_attributes(o, &a, 1) != CKR_BUFFER_TOO_SMALL ||
                a.ulValueLen != CK_UNAVAILABLE_INFORMATION)
                abort();
        }
    }
    CK_BYTE id[64];
    CK_ULONG len = sizeof(id);
    (void)st_object_id(o, id, &len);
    len = sizeof(id);
    (void)st_object_label(o, id, &len);
    (void)st_object_size(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tmpl *t = calloc(3, sizeof(*t));
    if (t == NULL)
        return 0;
    parse(data, size, t);
    struct st_object *o = NULL, *c = NULL;
    if (st_object_create(t[0].a, t[0].n, &o) != CKR_OK) {
        if (o != NULL)
            abort(); /* no half-made object on error */
        goto out;
    }
    read_all(o);
    if (!st_object_match(o, t[0].a, 0))
        abort();
    (void)st_object_set_attributes(o, t[1].a, t[1].n);
    read_all(o);
    if (st_object_copy(o, t[2].a, t[2].n, &c) == CKR_OK) {
        read_all(c);
        (void)st_object_same_public_key(o, c);
    }
    (void)st_object_match(o, t[1].a, t[1].n);
out:
    st_object_unref(c);
    st_object_unref(o);
    free(t);
    return 0;
}
