# SPDX-License-Identifier: Apache-2.0
# Real programs against the module with keys released from the local Azure emulator to the
# simulated CVM (tests/integration/programs/*.sh, helper lib.sh). nginx, p11-kit and sshd tests
# start their servers on free loopback ports and stop them by pid.
if(TARGET skr-pkcs11)
    foreach(prog openssl p11tool p11kit ssh java nginx pykcs11)
        if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/programs/${prog}.sh)
            skr_add_test(NAME integration_program_${prog}
                         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/programs/${prog}.sh
                         LABELS integration TIMEOUT 600)
            set_tests_properties(integration_program_${prog} PROPERTIES SKIP_RETURN_CODE 77)
        endif()
    endforeach()
    if(TEST integration_program_p11kit)
        set_tests_properties(integration_program_p11kit PROPERTIES
                             RESOURCE_LOCK system_p11kit_registry)
    endif()
endif()
