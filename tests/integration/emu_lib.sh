# SPDX-License-Identifier: Apache-2.0
# Sourced by the Secure Key Release integration scripts (release*.sh, fork.sh, coredump.sh):
# a private temp dir, the local Azure emulator with its simulated CVM started there and stopped
# by pid at exit. Needs SKR_SOURCE_DIR (set by skr_add_test).
#   emu_up [ARGS]    skr-emulator up $emu ARGS (e.g. --cvm tdx), then source its env
#   counter NAME     requests the emulator saw on that endpoint since the last reset
#   fail MSG         print MSG (and $work/out if a script wrote it), exit 1
#   cleanup_hook     redefine to stop what the script started itself; runs first at exit
#   sign_verify_demo RSA_ID EC_ID
#                    pkcs11-tool (the script's `p11`) signs $work/data with the released demo-rsa
#                    and demo-ec, chosen by CKA_ID (pkcs11-tool 0.23 ignores --label for --sign);
#                    each signature ($work/rsa.sig, ec.sig) must verify with the public key of
#                    Key Vault's certificate ($work/rsa.cert.pub, ec.cert.pub)
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
sign_verify_demo() {
    printf 'skr-pkcs11 end-to-end test data\n' >"$work/data"
    p11 --sign --mechanism SHA256-RSA-PKCS --id "$1" -i "$work/data" -o "$work/rsa.sig" \
        >/dev/null 2>&1 || fail "RSA sign with the released demo-rsa"
    p11 --sign --mechanism ECDSA-SHA256 --signature-format openssl --id "$2" \
        -i "$work/data" -o "$work/ec.sig" >/dev/null 2>&1 ||
        fail "ECDSA sign with the released demo-ec"
    for k in rsa ec; do
        openssl x509 -in "$emu/keys/demo.demo-$k.crt" -pubkey -noout >"$work/$k.cert.pub"
        openssl dgst -sha256 -verify "$work/$k.cert.pub" -signature "$work/$k.sig" "$work/data" \
            >/dev/null || fail "demo-$k signature does not verify with the Key Vault certificate"
    done
}
