# SPDX-License-Identifier: Apache-2.0
# module/ integration tests: ABI, pkcs11-tool, PyKCS11, valgrind (file key source).
if(NOT TARGET skr-pkcs11)
    return()
endif()
set(MOD_IT ${CMAKE_CURRENT_SOURCE_DIR})
skr_add_test(NAME abi_module_exports COMMAND ${MOD_IT}/test_mod_abi.sh LABELS abi)
if(NOT SKR_TEST_KEYSOURCE)
    return()
endif()
skr_add_test(NAME integration_mod_pkcs11_tool COMMAND ${MOD_IT}/test_mod_pkcs11_tool.sh
             LABELS integration TIMEOUT 600)
skr_add_test(NAME integration_mod_pykcs11 COMMAND /usr/bin/python3 ${MOD_IT}/test_mod_pykcs11.py
             LABELS integration)
add_executable(mod_client mod_client.c)
target_include_directories(mod_client PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
target_compile_definitions(mod_client PRIVATE _GNU_SOURCE SKR_TEST_DATA="${CMAKE_SOURCE_DIR}/tests/data")
target_link_libraries(mod_client PRIVATE skr_common ${CMAKE_DL_LIBS})
add_dependencies(mod_client skr-pkcs11)
if(NOT SKR_SANITIZE)
    skr_add_test(NAME integration_mod_valgrind
                 COMMAND ${MOD_IT}/test_mod_valgrind.sh $<TARGET_FILE:mod_client>
                 LABELS integration TIMEOUT 600)
endif()
