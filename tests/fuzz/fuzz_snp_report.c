/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: SNP report parser and claim rendering (keyrelease/kr_snp.c). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kr_snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kr_snp_report r;
    if (kr_snp_parse(data, size, &r) == KR_OK) {
        char *claims = NULL;
        if (kr_snp_claims_json(&r, &claims) == KR_OK)
            free(claims);
        (void)kr_snp_tcbm_matches(&r, "7308000000000003");
    }
    return 0;
}
