#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions per operation (valgrind callgrind), module vs raw OpenSSL: a measure of the
# module's own overhead that the machine's load cannot disturb. For each operation, runs
# skr-token-bench --count N and --count 2N and reports (I(2N) - I(N)) / N. Not a test.
# Usage: bench/count-instructions.sh [N]   (after bench/run-token-bench.sh built build-bench)
# Keep N a multiple of 32 so every window holds the same number of RSA blinding refreshes.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SKR_BENCH_BUILD:-$SRC/build-bench}
N=${1:-32} # a multiple of 32: OpenSSL refreshes RSA blinding every 32 uses
cmake --build "$BUILD" --target skr-pkcs11 skr-token-bench -j2 >/dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/rsa.pem" 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/ec.pem"
openssl genpkey -algorithm ED25519 -out "$T/ed.pem"
openssl rand 32 > "$T/aes.bin"
{
  echo "[token bench]"; echo "source = file"
  for k in rsa ec ed; do printf '[key bench-%s]\ntoken = bench\nfile = %s/%s.pem\n' $k "$T" $k; done
  printf '[key bench-aes]\ntoken = bench\nfile = %s/aes.bin\nkey-type = aes\n' "$T"
} > "$T/skr.conf"
count() { # impl op n
  SKR_PKCS11_CONF=$T/skr.conf valgrind --tool=callgrind --callgrind-out-file="$T/cg" \
    "$BUILD/bench/skr-token-bench" --module "$BUILD/module/libskr-pkcs11.so" --keys "$T" \
    --count "$3" --impl "$1" --op "$2" 2>&1 | sed -n 's/.*Collected : //p'
}
names=("RSA-2048 PKCS#1 v1.5" "RSA-2048 PSS" "ECDSA P-256" "Ed25519" "AES-256-GCM 16 KiB")
echo "| operation | module instr/op | raw instr/op | module/raw (raw÷module) |"
echo "|---|---|---|---|"
for op in 0 1 2 3 4; do
  m1=$(count 0 $op "$N"); m2=$(count 0 $op $((2 * N)))
  r1=$(count 1 $op "$N"); r2=$(count 1 $op $((2 * N)))
  awk -v n="$N" -v m1="$m1" -v m2="$m2" -v r1="$r1" -v r2="$r2" -v name="${names[$op]}" \
    'BEGIN { m = (m2 - m1) / n; r = (r2 - r1) / n;
             printf "| %s | %.0f | %.0f | %.3f |\n", name, m, r, r / m }'
done
