# SPDX-License-Identifier: Apache-2.0
# Sourced by the Secure Key Release integration scripts (release*.sh, fork.sh, coredump.sh):
# a private temp dir, the local Azure emulator with its simulated CVM started there and stopped
# by pid at exit. Needs SKR_SOURCE_DIR (set by skr_add_test).
#   emu_up [ARGS]    skr-emulator up $emu ARGS (e.g. --cvm tdx), then source its env
#   counter NAME     requests the emulator saw on that endpoint since the last reset
#   fail MSG         print MSG (and $work/out if a script wrote it), exit 1
#   cleanup_hook     redefine to stop what the script started itself; runs first at exit
#   $src $work $emu $py $EMULATOR
src=${SKR_SOURCE_DIR:?SKR_SOURCE_DIR not set}
py=/usr/bin/python3
work=$(mktemp -d /tmp/skr-it.XXXXXX)
emu="$work/emu"
EMULATOR="$src/tests/emulator/skr-emulator"
cleanup_hook() { :; }
_emu_cleanup() {
    cleanup_hook || true
    "$EMULATOR" down "$emu" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap _emu_cleanup EXIT
trap 'exit 1' INT TERM
fail() {
    echo "FAIL: $*" >&2
    [ -f "$work/out" ] && cat "$work/out" >&2
    exit 1
}
emu_up() {
    "$EMULATOR" up "$emu" "$@" >"$work/emu-up.log" 2>&1 ||
        fail "emulator did not start: $(tail -5 "$work/emu-up.log")"
    . "$emu/env"
}
counter() {
    "$EMULATOR" counters "$emu" |
        $py -c 'import json,sys; print(json.load(sys.stdin)["counters"].get(sys.argv[1], 0))' "$1"
}
