#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# PyKCS11 (python3-pykcs11, through Debian's /usr/bin/python3) with keys released from the
# local Azure emulator to the simulated CVM: pykcs11/released.py does the checks (signatures,
# decryption, ECDH, AES-GCM against Key Vault's keys; released keys sensitive; refused keys
# without private objects).
. "$(dirname "$0")/lib.sh"
$PY -c 'import PyKCS11' 2>/dev/null || skip "python3-pykcs11 is not installed"
skr_setup
aeskey="$EMU/keys/demo.demo-aes.bin"
[ -f "$aeskey" ] || fail "the emulator's copy of demo-aes ($aeskey) is missing"
# ASan: libstdc++ preloaded too, or ASan's __cxa_throw interceptor has no real function for
# PyKCS11's C++ exceptions.
LD_PRELOAD="${SKR_PRELOAD:+$SKR_PRELOAD libstdc++.so.6}" \
    $PY "$PROGDIR/pykcs11/released.py" "$SKR_MODULE" "$PUB_RSA" "$PUB_EC" "$aeskey" ||
    fail "PyKCS11 with the released keys"
