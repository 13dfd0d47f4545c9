#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The seed's procdump demo, reversed (issue 4): a process holding released keys (fork_driver
# hold: C_Initialize against the emulator, RSA/EC signatures, RSA-OAEP decryption, AES-GCM and
# AES-CBC with the released keys) is dumped with gcore; the dump must contain no window of
# 16 bytes or more of any private-key secret the emulator holds (PKCS#8 DER private parts, RSA d,
# p, q, dP, dQ, qInv, the EC scalar, the AES key; big-endian and BIGNUM limb order). gcore leaves
# out MADV_DONTDUMP mappings (VmFlags dd), like the kernel: the secure heap is one of them.
#   coredump.sh FORK_DRIVER
set -eu
drv=${1:?fork_driver}
. "$(dirname "$0")/emu_lib.sh"
pid=
cleanup_hook() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    exec 7>&- 2>/dev/null
}
command -v gcore >/dev/null || fail "gcore (gdb) is not installed"
if [ -n "${SKR_ASAN:-}" ]; then
    echo "SKIP: under ASan its shadow memory makes the dump huge and its allocator differs"
    exit 77
fi

emu_up

mkfifo "$work/in"
"$drv" hold <"$work/in" >"$work/hold.out" 2>"$work/hold.err" &
pid=$!
exec 7>"$work/in"
# wait for "ready PID" (the driver holds the keys until it reads a line)
while ! grep -q '^ready' "$work/hold.out"; do
    kill -0 "$pid" 2>/dev/null || fail "driver died: $(cat "$work/hold.err")"
    sleep 0.2
done
gcore -o "$work/core" "$pid" >"$work/gcore.log" 2>&1 || fail "gcore: $(cat "$work/gcore.log")"
echo >&7
exec 7>&-
wait "$pid" || fail "driver failed: $(cat "$work/hold.err")"
pid=
$py "$src/tests/integration/core_scan.py" "$work/core.$(awk '{print $2}' "$work/hold.out")" \
    "$SKR_EMU_ADMIN" demo demo-rsa demo-ec demo-aes || fail "private-key bytes in the core dump"
echo "gcore: no private-key bytes in the dump"
