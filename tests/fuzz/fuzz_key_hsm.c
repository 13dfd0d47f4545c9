/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: key_hsm (b64url JSON, AZURE-SKR.md §f) parsing and the unwrap's length checks. */
#include <stddef.h>
#include <stdint.h>

#include "kr_akv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum kr_err fake_oaep(void *arg, int hash_nid, const unsigned char *c1, size_t len,
                             struct u_secbuf **k_out)
{
    (void)arg;
    (void)hash_nid;
    (void)len;
    /* A deterministic "decrypted" KEK: the first 32 bytes of C1 (or fewer). */
    *k_out = u_secbuf_dup(c1, len < 32 ? len : 32);
    return *k_out != NULL ? KR_OK : KR_ERR_NOMEM;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kr_key_hsm *h = NULL;
    if (kr_key_hsm_parse((const char *)data, size, &h) != KR_OK)
        return 0;
    struct kr_decryptor dec = {.fn = fake_oaep, .modulus_len = 256};
    struct u_secbuf *plain = NULL;
    if (kr_key_hsm_unwrap(h, &dec, &plain) == KR_OK)
        u_secbuf_free(plain);
    kr_key_hsm_free(h);
    return 0;
}
