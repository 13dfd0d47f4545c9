#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One client run under valgrind memcheck: no invalid access, no uninitialised use, no definite
# leak (--error-exitcode). Dev build only (the asan build has its own checks).
. "$(dirname "$0")/mod_env.sh"
client=${1:?client binary}
# mod_client writes and uses its own config (tests/unit/mod_test_util.h, PIN 1234).
valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite "$client" || fail "valgrind reported errors (rc=$?)"
ok "valgrind clean"
