#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ABI: the module exports exactly the PKCS#11 3.x bootstrap trio (module.map, -fvisibility).
set -euo pipefail
: "${SKR_MODULE:?}"
got=$(nm -D --defined-only "$SKR_MODULE" | awk '{print $3}' | sort | tr '\n' ' ')
want="C_GetFunctionList C_GetInterface C_GetInterfaceList "
if [ "$got" != "$want" ]; then
  echo "FAIL: exported symbols are: $got (want: $want)"; exit 1
fi
echo "ok - exports: $got"
