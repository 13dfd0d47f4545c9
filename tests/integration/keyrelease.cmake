# SPDX-License-Identifier: Apache-2.0
# keyrelease/ integration tests against the emulator (h7 and h8 append here).
if(TARGET skr-tool)
    # helper run by test_skr_tool_attest.py: kr_attest cache + unwrapper used by 8 threads
    add_executable(kr_attest_threads kr_attest_threads.c)
    target_link_libraries(kr_attest_threads PRIVATE skr_keyrelease skr_config skr_common
                          Threads::Threads)
    skr_add_test(NAME integration_skr_tool_attest
                 COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_skr_tool_attest.py
                 LABELS integration TIMEOUT 600)
endif()
