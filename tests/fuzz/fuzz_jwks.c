/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: JWKS / OIDC documents and AKV key bundles: every key of {"keys":[...]} through
 * kr_jwk_to_spki and kr_jwks_find (x5c, RSA n/e, EC crv/x/y), and kr_akv_parse_key.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kr_akv.h"
#include "kr_jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    json_t *keys = json_object_get(j, "keys");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
    {
        unsigned char *der = NULL;
        size_t len = 0;
        if (kr_jwk_to_spki(k, &der, &len) == KR_OK)
            free(der);
        EVP_PKEY *p = NULL;
        if (kr_jwks_find(j, json_string_value(json_object_get(k, "kid")), &p) == KR_OK)
            EVP_PKEY_free(p);
    }
    (void)json_string_value(json_object_get(j, "jwks_uri"));
    json_decref(j);
    struct kr_akv_key *ak = NULL;
    if (kr_akv_parse_key((const char *)data, size, &ak) == KR_OK)
        kr_akv_key_free(ak);
    return 0;
}
