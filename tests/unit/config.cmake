# SPDX-License-Identifier: Apache-2.0
# config/ unit tests: error classes with their line numbers; defaults, environment, paths and
# the shipped examples.
skr_add_unit_test(test_cfg_errors SOURCES test_cfg_errors.c LIBS skr_config)
skr_add_unit_test(test_cfg_load SOURCES test_cfg_load.c LIBS skr_config)
target_compile_definitions(test_cfg_load PRIVATE SKR_EXAMPLES_DIR="${CMAKE_SOURCE_DIR}/examples")
