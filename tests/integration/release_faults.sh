#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The release flow (kr_release_all, the code the module runs in C_Initialize, driven here by
# `skr-tool list --release`) against the emulator's fault switches: transient faults are retried
# to success; a tampered release JWS, a TLS certificate for the wrong host, a truncated or
# malformed answer, a CA nobody configured are refused with a specific reason and no crash; one
# attestation serves all keys (counted at the emulator).
set -eu
tool=${1:?skr-tool}
. "$(dirname "$0")/emu_lib.sh"
emuctl() { "$EMULATOR" "$1" "$emu" $2 >/dev/null; }
run() { LD_PRELOAD="${SKR_PRELOAD:-}" "$tool" list --release >"$work/out" 2>&1; }
released() { grep -c "state=released" "$work/out" || true; }

emu_up

# Baseline: 3 keys released, 2 refused (optional), exactly one attestation.
emuctl counters reset
run || fail "baseline"
[ "$(released)" = 3 ] || fail "baseline: expected 3 released keys"
"$EMULATOR" counters "$emu" >"$work/counters"
grep -q '"maa-attest-guest": 1\b' "$work/counters" || fail "not exactly one attestation: $(cat "$work/counters")"

# Transient faults are retried to success.
for f in "endpoint=akv-release kind=429 count=2 retry_after=0" \
         "endpoint=akv-release kind=503 count=2" \
         "endpoint=akv-release kind=reset count=1" \
         "endpoint=akv-key-get kind=500 count=2" \
         "endpoint=imds-token kind=503 count=1" \
         "endpoint=maa-attest-guest kind=429 count=1 retry_after=0"; do
    emuctl fault "$f"
    run || fail "not retried to success: $f"
    [ "$(released)" = 3 ] || fail "$f: expected 3 released keys"
    emuctl fault clear
done

# Refusals: specific reason, nothing released, no crash.
check_refused() { # fault, expected text
    emuctl fault "$1"
    if run; then fail "accepted with $1"; fi
    [ "$(released)" = 0 ] || fail "$1: a key was released"
    grep -q "$2" "$work/out" || fail "$1: reason '$2' missing"
    emuctl fault clear
}
check_refused "endpoint=akv-release kind=bad-signature" "release-verify: key demo-rsa: release answer"
check_refused "endpoint=akv-release kind=truncate" "release-verify: key demo-rsa"
check_refused "endpoint=akv-release kind=malformed" "release-verify: key demo-rsa"
check_refused "endpoint=akv kind=wrong-host-cert" "metadata: key demo-rsa: GET https://demo.vault"
check_refused "endpoint=akv-release kind=500" "release: key demo-rsa: POST"
# Without ca-file the emulator's CA is trusted by nothing: every TLS peer is refused (the one
# trust store the module loads serves libcurl's connections too, kr_http_set_trust).
sed '/^ca-file *=/d' "$SKR_PKCS11_CONF" >"$work/noca.conf"
if SKR_PKCS11_CONF="$work/noca.conf" LD_PRELOAD="${SKR_PRELOAD:-}" "$tool" list --release \
    >"$work/out" 2>&1; then fail "untrusted TLS peer accepted"; fi
[ "$(released)" = 0 ] || fail "untrusted CA: a key was released"
grep -q "metadata: key demo-rsa: GET https://demo.vault" "$work/out" ||
    fail "untrusted CA: reason missing: $(cat "$work/out")"
# The MAA token is verified by the module even though Key Vault (the emulator) would accept it.
for k in bad-signature wrong-issuer expired; do
    check_refused "endpoint=maa-attest-guest kind=$k" "state=failed (attest: key demo-rsa: attestation failed (verification failed)"
done
emuctl counters reset
emuctl fault "endpoint=maa-attest-guest kind=bad-signature"
if run; then fail "tampered MAA token accepted"; fi
"$EMULATOR" counters "$emu" >"$work/counters"
if grep -q '"akv-release"' "$work/counters"; then fail "released with an unverified MAA token"; fi
emuctl fault clear
echo "release faults: all checks passed"
