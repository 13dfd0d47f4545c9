/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: the MAA AzureGuest envelope parser (keyrelease/kr_maa.c). The input is the
 * envelope JSON; it is b64url-encoded as MAA sends it, and the RSAES step returns a fixed
 * 32-byte key so the AES-GCM path is reached.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kr_jose.h"
#include "kr_maa.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum kr_err fixed_key(void *arg, const unsigned char *in, size_t len, struct u_secbuf **out)
{
    (void)arg;
    (void)in;
    if (len == 0)
        return KR_ERR_TPM;
    static const unsigned char key[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                                          12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,
                                          23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
    *out = u_secbuf_dup(key, len % 3 == 0 ? 16 : 32);
    return *out != NULL ? KR_OK : KR_ERR_NOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *token = kr_b64url_encode(data, size);
    char *jwt = NULL;
    if (token != NULL && kr_maa_envelope_open(token, fixed_key, NULL, &jwt) == KR_OK)
        free(jwt);
    free(token);
    return 0;
}
