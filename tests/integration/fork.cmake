# SPDX-License-Identifier: Apache-2.0
# Fork after release and the gcore test, against the emulator (h10). One C driver, dlopen of
# $SKR_MODULE; the scripts start the emulator and stop it by pid.
if(TARGET skr-pkcs11)
    add_executable(fork_driver ${CMAKE_CURRENT_SOURCE_DIR}/fork_driver.c)
    target_include_directories(fork_driver PRIVATE ${CMAKE_SOURCE_DIR}/common)
    target_link_libraries(fork_driver PRIVATE PkgConfig::P11KIT Threads::Threads ${CMAKE_DL_LIBS})
    skr_add_test(NAME integration_fork
                 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fork.sh $<TARGET_FILE:fork_driver>
                 LABELS integration TIMEOUT 300)
endif()
if(TARGET skr-pkcs11)
    skr_add_test(NAME integration_gcore
                 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/coredump.sh $<TARGET_FILE:fork_driver>
                 LABELS integration TIMEOUT 300)
    set_tests_properties(integration_gcore PROPERTIES SKIP_RETURN_CODE 77)
endif()
