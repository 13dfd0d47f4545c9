# softtoken objects, attribute policy and import (h3). OPENSSL_cleanse and u_secbuf_free are
# wrapped in test_st_object to observe that destroyed objects wipe their values.
skr_add_unit_test(test_st_object SOURCES test_st_object.c LIBS skr_softtoken)
target_link_options(test_st_object PRIVATE -Wl,--wrap=OPENSSL_cleanse -Wl,--wrap=u_secbuf_free)
# softtoken crypto half (h2): mechanism table, operations, known-answer vectors.
skr_add_unit_test(test_st_mech_registry SOURCES test_st_mech_registry.c LIBS skr_softtoken)
skr_add_unit_test(test_st_mech_kat SOURCES test_st_mech_kat.c LIBS skr_softtoken)
skr_add_unit_test(test_st_op SOURCES test_st_op.c LIBS skr_softtoken)
skr_add_unit_test(test_st_import SOURCES test_st_import.c LIBS skr_softtoken)
skr_add_unit_test(test_st_attr_policy SOURCES test_st_attr_policy.c LIBS skr_softtoken)
# The softtoken in a process where libp11's engine is the default for every algorithm (issue 5:
# `openssl -engine pkcs11`, nginx). Exit 77 when the engine is not installed.
pkg_get_variable(SKR_ENGINES_DIR libcrypto enginesdir)
if(NOT SKR_ENGINES_DIR)
    set(SKR_ENGINES_DIR "/nonexistent")
endif()
skr_add_unit_test(test_st_engine SOURCES test_st_engine.c LIBS skr_softtoken)
target_compile_definitions(test_st_engine PRIVATE SKR_ENGINES_DIR="${SKR_ENGINES_DIR}")
set_tests_properties(test_st_engine PROPERTIES SKIP_RETURN_CODE 77)
# st_spki.c: SPKI without OpenSSL's encoder/decoder, byte-identical to them (start-up import).
# The wraps count the token's calls into OpenSSL's encoder/decoder entry points.
skr_add_unit_test(test_st_spki SOURCES test_st_spki.c LIBS skr_softtoken)
target_link_options(test_st_spki PRIVATE -Wl,--wrap=OSSL_DECODER_CTX_new_for_pkey
                    -Wl,--wrap=i2d_PUBKEY -Wl,--wrap=X509_PUBKEY_set)
