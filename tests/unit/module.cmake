# SPDX-License-Identifier: Apache-2.0
# module/ tests: the built libskr-pkcs11.so loaded with dlopen (SKR_MODULE), file key source.
if(TARGET skr-pkcs11 AND SKR_TEST_KEYSOURCE)
    skr_add_unit_test(test_mod_module SOURCES test_mod_module.c
                      LIBS skr_common ${CMAKE_DL_LIBS} Threads::Threads)
    target_compile_definitions(test_mod_module PRIVATE _GNU_SOURCE)
    add_dependencies(test_mod_module skr-pkcs11)
endif()
