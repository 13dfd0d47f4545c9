#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Build the module and the benchmark (release-like flags, own build dir), make keys with openssl,
# a file-source config for our module and a SoftHSMv2 token in a temp dir, then run
# skr-token-bench. Not a test. Usage: bench/run-token-bench.sh [--rounds N] [--seconds S]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SKR_BENCH_BUILD:-$SRC/build-bench}
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" --target skr-pkcs11 skr-token-bench -j2 >/dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem"
openssl genpkey -algorithm ED25519 -out "$T/ed.pem"
openssl rand 32 > "$T/aes.bin"
cat > "$T/skr-pkcs11.conf" <<CONF
[module]
log-level = error
[token bench]
source = file
[key bench-rsa]
token = bench
file = $T/rsa.pem
[key bench-ec]
token = bench
file = $T/ec.pem
[key bench-ed]
token = bench
file = $T/ed.pem
[key bench-aes]
token = bench
file = $T/aes.bin
key-type = aes
CONF
SOFTHSM_LIB=${SOFTHSM_LIB:-/usr/lib/softhsm/libsofthsm2.so}
SH=()
if [ -e "$SOFTHSM_LIB" ] && command -v softhsm2-util >/dev/null; then
  mkdir -p "$T/softhsm"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/softhsm" > "$T/softhsm2.conf"
  export SOFTHSM2_CONF=$T/softhsm2.conf
  softhsm2-util --init-token --free --label bench --so-pin 5678 --pin 1234 >/dev/null
  SH=(--softhsm "$SOFTHSM_LIB" --softhsm-pin 1234)
fi
SKR_PKCS11_CONF=$T/skr-pkcs11.conf "$BUILD/bench/skr-token-bench" \
  --module "$BUILD/module/libskr-pkcs11.so" --keys "$T" "${SH[@]}" "$@"
