# SPDX-License-Identifier: Apache-2.0
# Warning set of STYLE.md 2.8; -Werror only when SKR_WERROR is on (dev and CI presets).
set(SKR_WARNINGS
    -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
    -Wcast-qual -Wundef -Wimplicit-fallthrough -Wnull-dereference)
add_compile_options(${SKR_WARNINGS})
if(SKR_WERROR)
    add_compile_options(-Werror)
endif()
