/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: compact JWS/JWT parsing and verification (kr_jws_parse, kr_jwt_verify_jwks) and
 * the release-answer verifier (kr_akv_release_verify) on arbitrary input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kr_akv.h"
#include "kr_jose.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char jwks_text[] =
        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"e\":\"AQAB\",\"n\":"
        "\"sXchDaQebHnPiGvyDOAT4saGEU"
        "etSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDp"
        "re"
        "cbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXER"
        "GYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-"
        "VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *jwks;
    static X509_STORE *store;
    if (jwks == NULL) {
        jwks = json_loads(jwks_text, 0, NULL);
        kr_trust_new(NULL, false, &store);
    }
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    struct kr_jws *j = NULL;
    if (kr_jws_parse(s, size, &j) == KR_OK)
        kr_jws_free(j);
    json_t *claims = NULL;
    if (kr_jwt_verify_jwks(s, jwks, "https://maa.example", 1700000000, &claims) == KR_OK)
        json_decref(claims);
    struct kr_release *r = NULL;
    if (kr_akv_release_verify(s, size, store, "v.vault.azure.net",
                              "https://v.vault.azure.net/keys/k", NULL, 1650640005, &r) == KR_OK)
        kr_release_free(r);
    free(s);
    return 0;
}
