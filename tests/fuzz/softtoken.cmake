# SPDX-License-Identifier: Apache-2.0
# Attribute templates through C_CreateObject's path (st_object_create) and get/set/copy on the
# result (corpus: valid templates of every class in corpus/templates/).
skr_add_fuzzer(templates SOURCES fuzz_templates.c LIBS skr_softtoken)
