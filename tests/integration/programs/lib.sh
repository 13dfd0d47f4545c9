# SPDX-License-Identifier: Apache-2.0
# Sourced by the real-program tests (tests/integration/programs.cmake). It starts the local Azure
# emulator and the simulated CVM (tests/emulator/skr-emulator up), sources its env (so
# SKR_PKCS11_CONF is the emulator's config: token "demo" with keys demo-rsa (RSA-2048), demo-ec
# (P-256), demo-aes released by Secure Key Release) and checks the release worked before the
# test goes on: every program below uses emulator-released keys, there is no file-key fallback.
# Everything started is stopped by pid at exit; only loopback ports.
#   p11 CMD...       run an uninstrumented program with SKR_PRELOAD (libasan) in LD_PRELOAD
#   pt ARGS...       pkcs11-tool --module $SKR_MODULE
#   free_port        a free TCP port on 127.0.0.1
#   bg_pid PID       stop PID (SIGTERM, then SIGKILL) at exit
#   emu_counter NAME the emulator's request counter for an endpoint name (maa-attest-guest, ...)
#   $WORK            private temp dir;  $PUB_RSA $PUB_EC  PEM public keys read from the token
set -eu
: "${SKR_MODULE:?SKR_MODULE not set}"
: "${SKR_SOURCE_DIR:?SKR_SOURCE_DIR not set}"
PY=/usr/bin/python3
WORK=$(mktemp -d /tmp/skr-prog.XXXXXX)
EMU="$WORK/emu"
PROGDIR="$SKR_SOURCE_DIR/tests/integration/programs"
_bg_pids=""
_cleanup_hooks=""

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
ok() { echo "ok - $*"; }
skip() {
    echo "SKIP: $*"
    exit 77
}
p11() { LD_PRELOAD="${SKR_PRELOAD:-}" "$@"; }
pt() { p11 pkcs11-tool --module "$SKR_MODULE" "$@"; }
free_port() {
    $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
bg_pid() { _bg_pids="$_bg_pids $1"; }
on_exit() { _cleanup_hooks="$_cleanup_hooks
$1"; }
_stop_pid() {
    kill "$1" 2>/dev/null || return 0
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null || true
}
_cleanup() {
    rc=$?
    eval "$_cleanup_hooks" || true
    for p in $_bg_pids; do _stop_pid "$p"; done
    "$SKR_SOURCE_DIR/tests/emulator/skr-emulator" down "$EMU" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit $rc
}
trap _cleanup EXIT
trap 'exit 1' INT TERM

emu_counter() {
    curl -sf "$SKR_EMU_ADMIN/counters" |
        $PY -c 'import json,sys; print(json.load(sys.stdin)["counters"].get(sys.argv[1], 0))' "$1"
}
emu_counters_reset() { curl -sf -X DELETE "$SKR_EMU_ADMIN/counters" >/dev/null; }

# OpenSSL configuration loading libp11's engine with the module under test: the shipped example
# (examples/openssl/engine.cnf) with this build's module path.
engine_conf() {
    sed "s|^MODULE_PATH = .*|MODULE_PATH = $SKR_MODULE|" \
        "$SKR_SOURCE_DIR/examples/openssl/engine.cnf" >"$WORK/engine.cnf"
    echo "$WORK/engine.cnf"
}

skr_setup() {
    "$SKR_SOURCE_DIR/tests/emulator/skr-emulator" up "$EMU" >"$WORK/emu.out" 2>&1 ||
        fail "the emulator did not start: $(tail -5 "$WORK/emu.out")"
    . "$EMU/env"
    pt --list-objects --type privkey >"$WORK/priv.txt" 2>"$WORK/init.log" ||
        fail "C_Initialize against the emulator failed: $(cat "$WORK/init.log")"
    for k in demo-rsa demo-ec; do
        grep -q "label: *$k\$" "$WORK/priv.txt" ||
            fail "no released private key $k: $(cat "$WORK/init.log")"
    done
    # The public keys Key Vault publishes, from the certificate objects (GET certificate) paired
    # with each key: the release already refused any key whose public part differs. Not read from
    # the public-key objects because pkcs11-tool 0.23 converts an EC public key with a
    # use-after-free of its own, which stops it under ASan.
    for k in rsa ec; do
        pt --read-object --type cert --label "demo-$k" -o "$WORK/demo-$k.crt.der" \
            >/dev/null 2>&1 || fail "read certificate demo-$k"
        openssl x509 -inform DER -in "$WORK/demo-$k.crt.der" -noout -pubkey \
            >"$WORK/demo-$k.pub.pem" || fail "public key of certificate demo-$k"
    done
    PUB_RSA="$WORK/demo-rsa.pub.pem"
    PUB_EC="$WORK/demo-ec.pub.pem"
    echo "key path: emulator (demo-rsa, demo-ec released by Secure Key Release to the simulated CVM)"
}
