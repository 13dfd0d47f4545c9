# SPDX-License-Identifier: Apache-2.0
# common/ (issue 5, h2): u_pkcs8_decode's RSA private operation, both of its paths. The wraps
# count which one ran (tests/unit/test_u_pkcs8.c).
skr_add_unit_test(test_u_pkcs8 SOURCES test_u_pkcs8.c LIBS skr_common)
target_link_options(test_u_pkcs8 PRIVATE -Wl,--wrap=BN_mod_exp_mont_consttime_x2
                    -Wl,--wrap=RSA_meth_get_mod_exp -Wl,--wrap=BN_mod_exp_mont)
