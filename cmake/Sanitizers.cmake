# SPDX-License-Identifier: Apache-2.0
if(SKR_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                        -fno-omit-frame-pointer -g)
    add_link_options(-fsanitize=address,undefined)
endif()
if(SKR_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
        message(FATAL_ERROR "SKR_FUZZ needs clang (libFuzzer)")
    endif()
    # Coverage instrumentation for everything; only fuzz_* link the libFuzzer main.
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()
