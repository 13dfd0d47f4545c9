# SPDX-License-Identifier: Apache-2.0
# End-to-end Secure Key Release through the module and pkcs11-tool against the emulator.
if(TARGET skr-pkcs11)
    skr_add_test(NAME integration_release_e2e
                 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/release.sh
                 LABELS integration TIMEOUT 300)
endif()
if(TARGET skr-tool)
    skr_add_test(NAME integration_release_faults
                 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/release_faults.sh $<TARGET_FILE:skr-tool>
                 LABELS integration TIMEOUT 300)
endif()
if(TARGET skr-tool)
    skr_add_test(NAME integration_release_identity
                 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/release_identity.sh $<TARGET_FILE:skr-tool>
                 LABELS integration TIMEOUT 300)
endif()
if(TARGET skr-pkcs11 AND TARGET skr-tool)
    skr_add_test(NAME integration_release_tdx
                 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/release_tdx.sh $<TARGET_FILE:skr-tool>
                 LABELS integration TIMEOUT 300)
endif()
