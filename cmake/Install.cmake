# SPDX-License-Identifier: Apache-2.0
# Installation of what module/ and tools/ do not install themselves, and the Debian package.
#   module   -> P11_MODULE_PATH (module/CMakeLists.txt)      skr-tool -> bin (tools/CMakeLists.txt)
#   skr-pkcs11.module -> P11_MODULE_CONFIGS (p11-kit loads it: `p11-kit list-modules`)
#   an unconfigured skr-pkcs11.conf (no token) -> /etc/skr-pkcs11/ (a dpkg conffile), and
#   examples/skr-pkcs11.conf beside it as skr-pkcs11.conf.example
#   examples/openssl/engine.cnf -> /etc/skr-pkcs11/engine.cnf (conffile)
#   man pages skr-tool(1), skr-pkcs11.conf(5); examples and docs -> share/doc/skr-pkcs11
# Paths under /etc and the p11-kit directories are absolute: Debian's p11-kit puts modules in
# /usr/lib/<triplet>/pkcs11 whatever CMAKE_INSTALL_PREFIX is, so `cpack -G DEB` is made with
# prefix /usr.
set(SKR_SYSCONF_DIR "/etc/skr-pkcs11" CACHE PATH "Where the module's configuration is installed")

install(FILES ${CMAKE_SOURCE_DIR}/examples/skr-pkcs11.module DESTINATION ${P11_MODULE_CONFIGS})
# The installed skr-pkcs11.conf starts with no token. p11-kit initializes the module in every
# program that loads all registered modules (p11-kit-proxy.so, p11-kit list-modules, p11tool):
# with the reference example's placeholder vault, MAA and IMDS each of them would attempt
# attestation and key release, with network retries up to retry-budget-ms per stage, until
# the administrator edits the file. With no token the module offers no slot and sends nothing.
file(WRITE ${CMAKE_BINARY_DIR}/skr-pkcs11.conf.unconfigured
     "; skr-pkcs11 is not configured yet: with no [token] the module offers no slot and makes no\n"
     "; network request. Write the configuration here, starting from an example\n"
     "; (/usr/share/doc/skr-pkcs11/examples/skr-pkcs11*.conf from the package; reference:\n"
     "; man 5 skr-pkcs11.conf), then check it with `skr-tool doctor`.\n")
install(FILES ${CMAKE_BINARY_DIR}/skr-pkcs11.conf.unconfigured DESTINATION ${SKR_SYSCONF_DIR}
        RENAME skr-pkcs11.conf PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${CMAKE_SOURCE_DIR}/examples/openssl/engine.cnf
        DESTINATION ${SKR_SYSCONF_DIR} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
# The reference example beside it, under a name the module never reads.
install(FILES ${CMAKE_SOURCE_DIR}/examples/skr-pkcs11.conf DESTINATION ${SKR_SYSCONF_DIR}
        RENAME skr-pkcs11.conf.example PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${CMAKE_SOURCE_DIR}/docs/man/skr-tool.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${CMAKE_SOURCE_DIR}/docs/man/skr-pkcs11.conf.5
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(DIRECTORY ${CMAKE_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        PATTERN "*.sh" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                   GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
foreach(doc configuration.md deploying-on-azure.md troubleshooting.md threat-model.md
            security.md emulator-vs-azure.md)
    if(EXISTS ${CMAKE_SOURCE_DIR}/docs/${doc})
        install(FILES ${CMAKE_SOURCE_DIR}/docs/${doc} DESTINATION ${CMAKE_INSTALL_DOCDIR})
    endif()
endforeach()

# ---- Debian package (cpack -G DEB) -------------------------------------------------------------
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_NAME "skr-pkcs11")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "skr-pkcs11 maintainers <skr-pkcs11@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "PKCS#11 module for Azure Key Vault keys released by Secure Key Release")
set(CPACK_PACKAGE_DESCRIPTION
    "skr-pkcs11 turns Azure Key Vault and Managed HSM keys into PKCS#11 token objects. A private\
 key is released only to an attested confidential VM (AMD SEV-SNP or Intel TDX with the Azure\
 vTPM) and then used locally. Includes skr-tool (doctor, attest, verify, policy, list).")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION "libs")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Debian 12 package names of the libraries the module and skr-tool link (checked by the
# packaging test with dpkg -i, which refuses missing dependencies).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "libssl3 (>= 3.0.0), libcurl4, libjansson4, libtss2-esys-3.0.2-0, libtss2-mu0, libtss2-rc0, \
libtss2-tctildr0, libtss2-tcti-device0, libinih1, p11-kit-modules | p11-kit")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
    "libengine-pkcs11-openssl, opensc, gnutls-bin, libtss2-tcti-swtpm0")
# Files in /etc are the administrator's: dpkg keeps local edits on upgrade and removal.
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles
     "${SKR_SYSCONF_DIR}/skr-pkcs11.conf\n${SKR_SYSCONF_DIR}/engine.cnf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
