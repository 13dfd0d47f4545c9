/* SPDX-License-Identifier: Apache-2.0 */
/* Small macros shared by every folder: preconditions, free-and-NULL, test visibility. */
#ifndef SKR_COMMON_U_MACROS_H
#define SKR_COMMON_U_MACROS_H

#include <stdlib.h>

#include "u_log.h"

/* Programmer-error precondition (p11-kit's return_val_if_fail): logs __func__ and the
 * condition at debug level, returns rv. Not for validating outside input. */
#define U_RETURN_IF_FAIL(cond, rv)                                                                 \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            U_LOG_DBG("mod", "%s: precondition failed: %s", __func__, #cond);                      \
            return (rv);                                                                           \
        }                                                                                          \
    } while (0)

/* Free and NULL, so a second U_FREE is harmless. */
#define U_FREE(p)                                                                                  \
    do {                                                                                           \
        free(p);                                                                                   \
        (p) = NULL;                                                                                \
    } while (0)

/* `static` except in unit-test builds, where tests call the function directly (curl UNITTEST). */
#ifdef SKR_UNIT_TEST
#define U_STATIC
#else
#define U_STATIC static
#endif

#define U_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Marks what is exported from the shared object; everything else is hidden. */
#define U_EXPORT __attribute__((visibility("default")))

#endif /* SKR_COMMON_U_MACROS_H */
