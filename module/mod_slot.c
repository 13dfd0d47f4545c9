/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Slot and token management (PKCS#11 3.0 §5.5): one slot per [token] of the config, slot id =
 * its position. Tokens are always present, write-protected (token objects come only from the
 * key source) and have an RNG; with a PIN they need a login.
 */
#include <stdlib.h>
#include <string.h>

#include "mod_internal.h"
#include "u_macros.h"

CK_RV mod_slot_get(CK_SLOT_ID id, struct mod_slot **out)
{
    CK_RV rv = mod_ready();

    if (rv != CKR_OK)
        return rv;
    if (id >= mod_g.nslots)
        return CKR_SLOT_ID_INVALID;
    *out = &mod_g.slots[id];
    return CKR_OK;
}

bool mod_slot_private_visible(const struct mod_slot *sl)
{
    return !sl->has_pin || sl->logged_in;
}

/* Stable serial: the configured one, else 16 hex digits of FNV-1a-64 over the label. */
static void make_serial(struct mod_slot *sl)
{
    static const char hex[] = "0123456789abcdef";
    const char *p = sl->tok->label != NULL ? sl->tok->label : sl->tok->name;
    uint64_t h = 0xcbf29ce484222325ULL;
    int i;

    if (sl->tok->serial != NULL) {
        size_t n = strnlen(sl->tok->serial, sizeof(sl->serial) - 1);
        memcpy(sl->serial, sl->tok->serial, n);
        sl->serial[n] = '\0';
        return;
    }
    for (; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    for (i = 15; i >= 0; i--, h >>= 4)
        sl->serial[i] = hex[h & 0xf];
    sl->serial[16] = '\0';
}

CK_RV mod_slots_build(void)
{
    const struct cfg *c = mod_g.cfg;
    CK_RV rv;
    size_t i;

    if (c->ntokens > MOD_MAX_SLOTS) {
        U_LOG_ERR(MOD_SUBSYS, "%s: more than %d tokens", c->path, MOD_MAX_SLOTS);
        return CKR_FUNCTION_FAILED;
    }
    mod_g.slots = calloc(c->ntokens ? c->ntokens : 1, sizeof(*mod_g.slots));
    if (mod_g.slots == NULL)
        return CKR_HOST_MEMORY;
    for (i = 0; i < c->ntokens; i++) {
        struct mod_slot *sl = &mod_g.slots[i];

        sl->id = i;
        sl->tok = c->tokens[i];
        sl->has_pin = sl->tok->pin != NULL;
        sl->free_head = -1;
        memset(sl->head, 0xff, sizeof(sl->head));
        make_serial(sl);
        rv = mod_lock_new(&sl->lock);
        if (rv != CKR_OK)
            return rv;
        mod_g.nslots = i + 1;
    }
    return mod_keysource_load_all();
}

void mod_slots_free(void)
{
    size_t i;

    for (i = 0; i < mod_g.nslots; i++) {
        mod_object_table_free(&mod_g.slots[i]);
        mod_lock_free(mod_g.slots[i].lock);
    }
    U_FREE(mod_g.slots);
    mod_g.nslots = 0;
}

static CK_RV get_slot_list(CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
    CK_RV rv = mod_ready();
    CK_ULONG i;

    if (rv != CKR_OK)
        return rv;
    if (count == NULL)
        return CKR_ARGUMENTS_BAD;
    if (list == NULL) {
        *count = mod_g.nslots;
        return CKR_OK;
    }
    if (*count < mod_g.nslots) {
        *count = mod_g.nslots;
        return CKR_BUFFER_TOO_SMALL;
    }
    for (i = 0; i < mod_g.nslots; i++)
        list[i] = i;
    *count = mod_g.nslots;
    return CKR_OK;
}

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    MOD_TRACE_IN("C_GetSlotList(present=%u, list=%p, count=%p)", tokenPresent, (void *)pSlotList,
                 (void *)pulCount);
    MOD_RETURN(get_slot_list(pSlotList, pulCount));
}

static CK_RV get_slot_info(CK_SLOT_ID id, CK_SLOT_INFO_PTR info)
{
    struct mod_slot *sl = NULL;
    CK_RV rv = mod_slot_get(id, &sl);

    if (rv != CKR_OK)
        return rv;
    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    memset(info, 0, sizeof(*info));
    u_pad_string(info->slotDescription, sizeof(info->slotDescription), sl->tok->name);
    u_pad_string(info->manufacturerID, sizeof(info->manufacturerID), MOD_MANUFACTURER);
    info->flags = CKF_TOKEN_PRESENT;
    info->firmwareVersion.minor = 1;
    return CKR_OK;
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    MOD_TRACE_IN("C_GetSlotInfo(slot=%lu, info=%p)", slotID, (void *)pInfo);
    MOD_RETURN(get_slot_info(slotID, pInfo));
}

static void fill_token_info(struct mod_slot *sl, CK_TOKEN_INFO_PTR info)
{
    memset(info, 0, sizeof(*info));
    u_pad_string(info->label, sizeof(info->label),
                 sl->tok->label != NULL ? sl->tok->label : sl->tok->name);
    u_pad_string(info->manufacturerID, sizeof(info->manufacturerID), MOD_MANUFACTURER);
    u_pad_string(info->model, sizeof(info->model), "SKR soft token");
    u_pad_string(info->serialNumber, sizeof(info->serialNumber), sl->serial);
    /* Never CKF_PROTECTED_AUTHENTICATION_PATH: nothing ever prompts. */
    info->flags = CKF_TOKEN_INITIALIZED | CKF_WRITE_PROTECTED | CKF_RNG;
    if (sl->has_pin)
        info->flags |= CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED;
    info->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulMaxRwSessionCount = CK_EFFECTIVELY_INFINITE;
    info->ulSessionCount = sl->nsessions;
    info->ulRwSessionCount = sl->nrw;
    info->ulMaxPinLen = sl->has_pin ? 255 : 0;
    info->ulMinPinLen = sl->has_pin ? 1 : 0;
    info->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    info->firmwareVersion.minor = 1;
    memset(info->utcTime, '0', sizeof(info->utcTime));
}

static CK_RV get_token_info(CK_SLOT_ID id, CK_TOKEN_INFO_PTR info)
{
    struct mod_slot *sl = NULL;
    CK_RV rv = mod_slot_get(id, &sl);

    if (rv != CKR_OK)
        return rv;
    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    mod_lock_acquire(sl->lock);
    fill_token_info(sl, info);
    mod_lock_release(sl->lock);
    return CKR_OK;
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    MOD_TRACE_IN("C_GetTokenInfo(slot=%lu, info=%p)", slotID, (void *)pInfo);
    MOD_RETURN(get_token_info(slotID, pInfo));
}

static CK_RV get_mech_list(CK_SLOT_ID id, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
    struct mod_slot *sl = NULL;
    CK_RV rv = mod_slot_get(id, &sl);

    if (rv != CKR_OK)
        return rv;
    if (count == NULL)
        return CKR_ARGUMENTS_BAD;
    return st_mech_list(list, count);
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                         CK_ULONG_PTR pulCount)
{
    MOD_TRACE_IN("C_GetMechanismList(slot=%lu, list=%p, count=%p)", slotID, (void *)pMechanismList,
                 (void *)pulCount);
    MOD_RETURN(get_mech_list(slotID, pMechanismList, pulCount));
}

static CK_RV get_mech_info(CK_SLOT_ID id, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR info)
{
    struct mod_slot *sl = NULL;
    CK_RV rv = mod_slot_get(id, &sl);

    if (rv != CKR_OK)
        return rv;
    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    return st_mech_info(type, info);
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    MOD_TRACE_IN("C_GetMechanismInfo(slot=%lu, mech=%s, info=%p)", slotID, u_mech_name(type),
                 (void *)pInfo);
    MOD_RETURN(get_mech_info(slotID, type, pInfo));
}
