# SPDX-License-Identifier: Apache-2.0
# Attribute templates through the module's C ABI (file key source; corpus/module_templates/).
if(TARGET skr-pkcs11 AND SKR_TEST_KEYSOURCE)
    skr_add_fuzzer(module_templates SOURCES fuzz_module_templates.c
                   LIBS skr_common ${CMAKE_DL_LIBS})
    target_include_directories(fuzz_module_templates PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
    target_compile_definitions(fuzz_module_templates PRIVATE _GNU_SOURCE
                               SKR_TEST_DATA="${CMAKE_SOURCE_DIR}/tests/data")
    add_dependencies(fuzz_module_templates skr-pkcs11)
endif()
