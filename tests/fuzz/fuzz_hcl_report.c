/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer: HCL report parser, binding check and TD quote header (keyrelease/kr_hcl.c). */
#include <stddef.h>
#include <stdint.h>

#include "kr_hcl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kr_hcl_report r;
    if (kr_hcl_parse(data, size, &r) == KR_OK) {
        (void)kr_hcl_check_binding(&r);
        (void)kr_hcl_isolation_type(&r);
    }
    struct kr_tdquote q;
    if (kr_tdquote_parse(data, size, &q) == KR_OK) {
        volatile unsigned char sink = q.report_data[63] ^ q.mrtd[47] ^ q.body[q.body_len - 1];
        (void)sink;
    }
    return 0;
}
