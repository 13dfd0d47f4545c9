#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Style gates of STYLE.md 2.7: clang-format (dry run), banned functions and VLAs by grep,
# cyclomatic complexity ≤ 25 per function (pmccabe).
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
mapfile -t SRC < <(git ls-files '*.c' '*.h' | grep -v '^tests/fuzz/corpus/')
[ ${#SRC[@]} -eq 0 ] && exit 0
if ! clang-format --dry-run --Werror "${SRC[@]}" 2>/tmp/skr-format.log; then
  echo "clang-format: files need formatting:"; grep -o '^[^:]*\.[ch]' /tmp/skr-format.log | sort -u
  fail=1
fi
if grep -nwE 'strcpy|strcat|sprintf|vsprintf|strncpy|strtok|atoi|gets|alloca' "${SRC[@]}" \
     | grep -vE '^\S+:[0-9]+:\s*(/\*|\*)'; then
  echo "banned function used (STYLE.md 2.7)"; fail=1
fi
if command -v pmccabe >/dev/null; then
  over=$(pmccabe -c "${SRC[@]}" 2>/dev/null | awk '$1 > 25 {print}')
  if [ -n "$over" ]; then echo "cyclomatic complexity above 25:"; echo "$over"; fail=1; fi
fi
exit $fail
