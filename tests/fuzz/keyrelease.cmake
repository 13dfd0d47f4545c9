# SPDX-License-Identifier: Apache-2.0
# keyrelease/ parsers (h7 and h8 append here). Corpora in corpus/<parser>/, seeded with the
# real fixtures from ../shared/fixtures/azure/.
set(KR_FUZZ_DIR ${CMAKE_SOURCE_DIR}/keyrelease)
skr_add_fuzzer(hcl_report SOURCES fuzz_hcl_report.c ${KR_FUZZ_DIR}/kr_hcl.c
               LIBS skr_common PkgConfig::CRYPTO)
target_include_directories(fuzz_hcl_report PRIVATE ${KR_FUZZ_DIR})
skr_add_fuzzer(snp_report SOURCES fuzz_snp_report.c ${KR_FUZZ_DIR}/kr_snp.c
               LIBS skr_common PkgConfig::CRYPTO PkgConfig::JANSSON)
target_include_directories(fuzz_snp_report PRIVATE ${KR_FUZZ_DIR})
skr_add_fuzzer(maa_envelope SOURCES fuzz_maa_envelope.c LIBS skr_keyrelease)
# h7: JOSE parsers (JWS/JWT + release answer, key_hsm, JWKS/OIDC/AKV key bundles).
set(KR_FUZZ_H7 ${KR_FUZZ_DIR}/kr_jose.c ${KR_FUZZ_DIR}/kr_unwrap.c ${KR_FUZZ_DIR}/kr_akv.c
    ${KR_FUZZ_DIR}/kr_http.c ${KR_FUZZ_DIR}/kr_err.c)
foreach(p jws key_hsm jwks)
    skr_add_fuzzer(${p} SOURCES fuzz_${p}.c ${KR_FUZZ_H7}
                   LIBS skr_common PkgConfig::CRYPTO PkgConfig::SSL PkgConfig::JANSSON
                        PkgConfig::CURL Threads::Threads)
    target_include_directories(fuzz_${p} PRIVATE ${KR_FUZZ_DIR} ${CMAKE_SOURCE_DIR}/config)
endforeach()
