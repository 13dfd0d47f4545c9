#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Fork after Secure Key Release (issue 4): the parent's C_Initialize attests and releases; two
# forked children call C_Initialize and sign with the released RSA and EC keys (the parent
# verifies every signature with the public-key objects). The emulator's counters must show ONE
# attestation and one release request per configured key in total, i.e. the children reuse what
# the parent released. Then the same while a parent thread loops on C_Sign during fork(): the
# children must not deadlock (a hang is caught by the ctest TIMEOUT).
#   fork.sh FORK_DRIVER
set -eu
drv=${1:?fork_driver}
. "$(dirname "$0")/emu_lib.sh"

emu_up
nkeys=$(grep -c '^\[key ' "$SKR_PKCS11_CONF")

for mode in fork fork-busy; do
    "$EMULATOR" counters "$emu" reset >/dev/null
    LD_PRELOAD="${SKR_PRELOAD:-}" "$drv" "$mode" >"$work/$mode.out" 2>"$work/$mode.err" ||
        fail "$mode: $(cat "$work/$mode.err")"
    cat "$work/$mode.out"
    n=$(grep -c 'signature .* verifies' "$work/$mode.out" || true)
    [ "$n" -eq 4 ] || fail "$mode: expected 4 verified child signatures, got $n"
    att=$(counter maa-attest-guest)
    rel=$(counter akv-release)
    [ "$att" -eq 1 ] || fail "$mode: $att attestations (expected 1: the children must reuse it)"
    [ "$rel" -eq "$nkeys" ] || fail "$mode: $rel release requests for $nkeys keys (expected one each)"
    echo "$mode: 1 attestation, $rel releases for $nkeys keys"
done
echo "fork: all checks passed"
