# SPDX-License-Identifier: Apache-2.0
# The config parser on arbitrary text (corpus: valid and invalid files in corpus/config/).
skr_add_fuzzer(config SOURCES fuzz_config.c LIBS skr_config)
