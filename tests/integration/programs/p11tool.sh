#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# GnuTLS p11tool (gnutls-bin) with the module, keys released from the emulator:
#   - the token needs no login (the emulator's configuration sets no PIN: no CKF_LOGIN_REQUIRED),
#     so every p11tool call runs with --batch and no PIN;
#   - --list-all shows demo-rsa and demo-ec (public key, private key, certificate each) and
#     demo-aes, under the token's pkcs11: URLs;
#   - --test-sign on the private keys of demo-rsa (RSA-SHA256 and RSA-PSS) and demo-ec (ECDSA)
#     succeeds: p11tool signs through the module and verifies with the token's public key;
#   - the public keys p11tool exports equal the Key Vault's keys (the emulator's copies in
#     $EMU/keys), and a certificate p11tool lists is the one Key Vault holds.
# How the module is loaded: `p11tool --provider $SKR_MODULE`. GnuTLS 3.7 initialises a module
# it loads by path with CKF_LIBRARY_CANT_CREATE_OS_THREADS; the module then releases the keys
# without threads of its own (docs/module.md), and the test checks that it said so in its log.
# ASan builds: a program linked with libp11-kit never exits with libasan preloaded (p11tool or
# `p11-kit list-modules`, any provider or none: glibc's locale lock in libp11-kit's destructor),
# so p11tool cannot load the instrumented module itself. There the module always runs, with
# libasan, in p11-kit server (stopped with SIGTERM, then SIGKILL), and p11tool runs plain.
. "$(dirname "$0")/lib.sh"
command -v p11tool >/dev/null || skip "p11tool missing (gnutls-bin)"
skr_setup
TOKEN="pkcs11:token=demo"

# 1. Direct load by path (ASan: through p11-kit server, see above).
provider="$SKR_MODULE"
tool() { p11tool --provider "$provider" --batch "$@"; }
if [ -n "${SKR_PRELOAD:-}" ]; then
    echo "note: ASan build, p11tool cannot run with libasan preloaded: using p11-kit server"
    use_server=true
else
    SKR_PKCS11_LOG=debug tool --list-tokens >"$WORK/tokens.txt" 2>"$WORK/direct.err" ||
        fail "p11tool --provider $SKR_MODULE --list-tokens: $(cat "$WORK/direct.err")"
    use_server=false
    grep -q "forbids module threads (CKF_LIBRARY_CANT_CREATE_OS_THREADS)" "$WORK/direct.err" ||
        fail "GnuTLS did not forbid threads, or the module did not notice: $(cat "$WORK/direct.err")"
fi
route="p11tool --provider $SKR_MODULE"
if $use_server; then
    client=$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)/p11-kit-client.so
    [ -f "$client" ] || client=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
    [ -f "$client" ] || skip "p11-kit-client.so missing (p11-kit-modules)"
    command -v p11-kit >/dev/null || skip "p11-kit missing"
    sock="$WORK/p11-kit.sock"
    LD_PRELOAD="${SKR_PRELOAD:-}" p11-kit server -f -n "$sock" --provider "$SKR_MODULE" "$TOKEN" \
        >"$WORK/server.out" 2>"$WORK/server.err" &
    server=$!
    bg_pid "$server"
    while [ ! -S "$sock" ]; do
        kill -0 "$server" 2>/dev/null || fail "p11-kit server exited: $(cat "$WORK/server.err")"
        sleep 0.1
    done
    export P11_KIT_SERVER_ADDRESS="unix:path=$sock"
    provider="$client"
    route="p11tool --provider p11-kit-client.so, p11-kit server --provider $SKR_MODULE"
    tool --list-tokens >"$WORK/tokens.txt" 2>"$WORK/err" ||
        fail "p11tool --list-tokens through p11-kit server: $(cat "$WORK/err")"
fi

# 2. The token, and no login: the emulator's configuration has no PIN.
grep -q "Label: demo\$" "$WORK/tokens.txt" || fail "p11tool does not list token demo: $(cat "$WORK/tokens.txt")"
flags=$(awk '/Label: demo$/ { t = 1 } t && /Flags:/ { sub(/^[ \t]*Flags: /, ""); print; exit }' \
    "$WORK/tokens.txt")
[ -n "$flags" ] || fail "no flags for token demo: $(cat "$WORK/tokens.txt")"
case "$flags" in
*"Requires login"*) fail "token demo requires a login, the emulator sets no PIN: $flags" ;;
esac
ok "p11tool sees token demo, no login required ($flags)"

# 3. --list-all: three objects per key pair, under pkcs11: URLs of this token.
tool --list-all "$TOKEN" >"$WORK/all.txt" 2>"$WORK/err" || fail "--list-all: $(cat "$WORK/err")"
for k in demo-rsa demo-ec; do
    for type in public private cert; do
        grep -q "URL: pkcs11:.*token=demo;.*object=$k;type=$type\$" "$WORK/all.txt" ||
            fail "--list-all has no $type object $k: $(cat "$WORK/all.txt")"
    done
done
grep -q "Type: Private key (RSA-2048)" "$WORK/all.txt" || fail "--list-all: no RSA-2048 private key"
grep -q "Type: Private key (EC/ECDSA-SECP256R1)" "$WORK/all.txt" ||
    fail "--list-all: no P-256 private key"
grep -q "URL: pkcs11:.*object=demo-aes;type=secret-key\$" "$WORK/all.txt" ||
    fail "--list-all has no secret key demo-aes"
ok "p11tool --list-all shows demo-rsa, demo-ec (public, private, certificate) and demo-aes"

# 4. The token's keys and certificates are Key Vault's: exported public keys against the
#    emulator's copies of the released keys, the listed certificate against Key Vault's.
for k in rsa ec; do
    tool --export-pubkey "$TOKEN;object=demo-$k;type=public" --outfile "$WORK/p11tool-$k.pub" \
        2>"$WORK/err" || fail "--export-pubkey demo-$k: $(cat "$WORK/err")"
    openssl pkey -pubin -in "$WORK/p11tool-$k.pub" -out "$WORK/p11tool-$k.pub.pem" ||
        fail "p11tool exported no public key for demo-$k"
    openssl pkey -in "$EMU/keys/demo.demo-$k.pem" -pubout -out "$WORK/kv-$k.pub.pem"
    cmp -s "$WORK/p11tool-$k.pub.pem" "$WORK/kv-$k.pub.pem" ||
        fail "public key of demo-$k is not Key Vault's"
    tool --export "$TOKEN;object=demo-$k;type=cert" --outfile "$WORK/p11tool-$k.crt" \
        2>"$WORK/err" || fail "--export demo-$k certificate: $(cat "$WORK/err")"
    openssl x509 -in "$WORK/p11tool-$k.crt" -outform DER -out "$WORK/p11tool-$k.crt.der"
    openssl x509 -in "$EMU/keys/demo.demo-$k.crt" -outform DER -out "$WORK/kv-$k.crt.der"
    cmp -s "$WORK/p11tool-$k.crt.der" "$WORK/kv-$k.crt.der" ||
        fail "certificate demo-$k is not Key Vault's"
done
ok "public keys and certificates p11tool reads are Key Vault's"

# 5. --test-sign: sign through the module, verify with the token's public key (p11tool prints
#    one "... ok" line per step and fails otherwise).
test_sign() { # key, label, extra p11tool options...
    key=$1
    what=$2
    shift 2
    tool --test-sign "$@" "$TOKEN;object=$key;type=private" >"$WORK/sign.txt" 2>&1 ||
        fail "--test-sign $what: $(cat "$WORK/sign.txt")"
    grep -q "^Signing using .*\.\.\. ok" "$WORK/sign.txt" &&
        grep -q "^Verifying against public key in the token\.\.\. ok" "$WORK/sign.txt" ||
        fail "--test-sign $what did not sign and verify: $(cat "$WORK/sign.txt")"
    ok "p11tool --test-sign $what: $(grep '^Signing using' "$WORK/sign.txt")"
}
test_sign demo-rsa "demo-rsa (RSA PKCS#1)"
test_sign demo-rsa "demo-rsa (RSA-PSS)" --sign-params rsa-pss
test_sign demo-ec "demo-ec (ECDSA)"
if [ -n "${server:-}" ] && grep -q "ERROR: AddressSanitizer" "$WORK/server.err"; then
    fail "the module under p11-kit server: $(cat "$WORK/server.err")"
fi
echo "p11tool: all checks passed (key path: emulator; route: $route)"
