# SPDX-License-Identifier: Apache-2.0
# The Debian package: cpack builds it from this tree, dpkg installs it on this machine, p11-kit
# lists the module, dpkg purges it. Needs root (CI runs as root); skipped (77) otherwise.
if(TARGET skr-pkcs11 AND TARGET skr-tool)
    skr_add_test(NAME integration_packaging
                 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/programs/packaging.sh
                 LABELS integration TIMEOUT 300)
    set_tests_properties(integration_packaging PROPERTIES SKIP_RETURN_CODE 77
                         RESOURCE_LOCK system_p11kit_registry)
endif()
