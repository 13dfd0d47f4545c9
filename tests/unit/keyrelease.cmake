# SPDX-License-Identifier: Apache-2.0
# keyrelease/ unit tests (h7 and h8 append here).

# Parsers are tested from their own sources, independent of the rest of skr_keyrelease.
set(KR_DIR ${CMAKE_SOURCE_DIR}/keyrelease)
skr_add_unit_test(test_kr_hcl SOURCES test_kr_hcl.c ${KR_DIR}/kr_hcl.c
                  LIBS skr_common PkgConfig::CRYPTO)
target_include_directories(test_kr_hcl PRIVATE ${KR_DIR})
skr_add_unit_test(test_kr_snp SOURCES test_kr_snp.c ${KR_DIR}/kr_snp.c
                  LIBS skr_common PkgConfig::CRYPTO PkgConfig::JANSSON)
target_include_directories(test_kr_snp PRIVATE ${KR_DIR})
skr_add_unit_test(test_kr_vtpm SOURCES test_kr_vtpm.c ${KR_DIR}/kr_vtpm.c ${KR_DIR}/kr_err.c
                  LIBS skr_common PkgConfig::CRYPTO PkgConfig::TSS2)
target_include_directories(test_kr_vtpm PRIVATE ${KR_DIR})

# h7: JOSE, release JWS (real recording), key_hsm unwrap; HTTP retry against a loopback server.
set(KR_H7_CORE ${KR_DIR}/kr_jose.c ${KR_DIR}/kr_unwrap.c ${KR_DIR}/kr_akv.c ${KR_DIR}/kr_http.c
    ${KR_DIR}/kr_err.c)
set(KR_H7_LIBS skr_common PkgConfig::CRYPTO PkgConfig::SSL PkgConfig::JANSSON PkgConfig::CURL Threads::Threads)
skr_add_unit_test(test_kr_jose SOURCES test_kr_jose.c ${KR_H7_CORE} LIBS ${KR_H7_LIBS})
target_include_directories(test_kr_jose PRIVATE ${KR_DIR} ${CMAKE_SOURCE_DIR}/config)
skr_add_unit_test(test_kr_maa SOURCES test_kr_maa.c LIBS skr_keyrelease)
if(TARGET skr-tool)
    skr_add_test(NAME skr_tool_verify_fixture
                 COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/skr_tool_verify.sh $<TARGET_FILE:skr-tool>
                 LABELS unit)
endif()
skr_add_unit_test(test_kr_http SOURCES test_kr_http.c ${KR_H7_CORE} LIBS ${KR_H7_LIBS})
target_include_directories(test_kr_http PRIVATE ${KR_DIR} ${CMAKE_SOURCE_DIR}/config)
# h9: the cache of verified release x5c chains, against a chain built in the test.
skr_add_unit_test(test_kr_x5c_cache SOURCES test_kr_x5c_cache.c ${KR_H7_CORE} LIBS ${KR_H7_LIBS})
target_include_directories(test_kr_x5c_cache PRIVATE ${KR_DIR} ${CMAKE_SOURCE_DIR}/config)
