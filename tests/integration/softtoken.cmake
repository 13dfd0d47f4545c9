# SPDX-License-Identifier: Apache-2.0
# softtoken crypto cross-checks with the openssl command (h2). A small driver links the static
# library; the script runs both directions.
add_executable(st_xcheck ${CMAKE_CURRENT_SOURCE_DIR}/st_xcheck.c)
target_link_libraries(st_xcheck PRIVATE skr_softtoken)
skr_add_test(NAME st_openssl_xcheck
             COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/st_openssl_xcheck.sh $<TARGET_FILE:st_xcheck>
             LABELS unit)
