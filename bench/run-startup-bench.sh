#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Start-up benchmark (issue 4): time from C_Initialize to the first signature with 1, 16 and 64
# exportable keys released to the simulated CVM, with 20 ms latency injected by the emulator on
# every request (IMDS, Entra, MAA, Key Vault). Target: 64-key time <= 1.5 x the 1-key time (one
# attestation plus one release round trip, whatever the number of keys). Not a test.
# Medians over the runs: init_ms (C_Initialize), first_sig_ms (C_Initialize to the first
# signature), cpu_ms (CPU of the benchmark process, all threads) and emu_cpu_ms (CPU of the
# emulator daemon + swtpm during the run). SKR_BENCH_BUILD selects the build dir. Last, the
# vTPM time one released key costs (PolicyPCR + RSA_Decrypt, bench/tpm_decrypt_time.py) and the
# floor it sets: every key needs both, and the TPM runs one command at a time.
# Usage: bench/run-startup-bench.sh [--runs N] [--latency MS] [--keys "1 16 64"]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SKR_BENCH_BUILD:-$SRC/build-bench}
RUNS=7
LAT=20
COUNTS="1 16 64"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --latency) LAT=$2; shift 2 ;;
    --keys) COUNTS=$2; shift 2 ;;
    *) echo "usage: $0 [--runs N] [--latency MS] [--keys \"1 16 64\"]" >&2; exit 2 ;;
  esac
done
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" --target skr-pkcs11 skr-startup-bench -j2 >/dev/null
MOD=$(find "$BUILD/module" -name 'libskr-pkcs11.so' | head -n1)
EMU="$SRC/tests/emulator/skr-emulator"
PY=/usr/bin/python3
T=$(mktemp -d)
trap '"$EMU" down "$T/emu" >/dev/null 2>&1 || true; rm -rf "$T"' EXIT

# seed: the default seed's tenant, vault and identities; N EC P-256 keys bench-000.. (policy cvm)
make_seed() {
  "$PY" - "$SRC/tests/emulator/seed-default.json" "$1" >"$T/seed.json" <<'PY'
import json, sys
seed = json.load(open(sys.argv[1]))
seed["keys"] = [{"vault": "demo", "name": "bench-%03d" % i, "kty": "EC-HSM", "curve": "P-256",
                 "exportable": True, "policy": "cvm"} for i in range(int(sys.argv[2]))]
print(json.dumps(seed))
PY
}

# the emulator's [module]/[attestation]/[identity]/[token demo] sections, then N keys
make_conf() {
  sed '/^\[key /,$d' "$T/emu/skr-pkcs11.conf" >"$T/bench.conf"
  for ((i = 0; i < $1; i++)); do
    printf '[key bench-%03d]\ntoken = demo\nrequired = yes\n\n' "$i" >>"$T/bench.conf"
  done
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# CPU (user+system, ms) used so far by the emulator daemon and its swtpm
TCK=$(getconf CLK_TCK)
emu_cpu() {
  local pids
  pids=$(. "$T/emu/env" && echo "$SKR_EMU_PIDS")
  for p in $pids; do cat "/proc/$p/stat" 2>/dev/null || true; done |
    awk -v t="$TCK" '{s += $14 + $15} END {printf "%.0f\n", s * 1000 / t}'
}
field() { sed "s/^\(.* \)\{0,1\}$1=\([0-9.]*\).*/\2/" "$T/runs"; } # whole-word key

declare -A RES
TDEC=
printf '%-6s %-12s %-14s %-10s %-12s %s\n' keys init_ms first_sig_ms cpu_ms emu_cpu_ms \
  "runs (first_sig_ms)"
for n in $COUNTS; do
  make_seed "$n"
  "$EMU" up "$T/emu" --seed "$T/seed.json" >/dev/null
  make_conf "$n"
  for svc in imds entra maa akv; do
    "$EMU" fault "$T/emu" endpoint=$svc kind=latency ms="$LAT" >/dev/null
  done
  : >"$T/runs"
  for ((r = 0; r < RUNS; r++)); do
    e0=$(emu_cpu)
    line=$(SKR_PKCS11_CONF="$T/bench.conf" "$BUILD/bench/skr-startup-bench" "$MOD" bench-000)
    echo "$line emu_cpu_ms=$(($(emu_cpu) - e0))" >>"$T/runs"
  done
  att=$("$EMU" counters "$T/emu" | "$PY" -c \
    'import json,sys; c=json.load(sys.stdin)["counters"]; print(c.get("maa-attest-guest",0), c.get("akv-release",0))')
  init=$(field init_ms | median)
  first=$(field first_sig_ms | median)
  cpu=$(field cpu_ms | median)
  ecpu=$(field emu_cpu_ms | median)
  all=$(field first_sig_ms | tr '\n' ' ')
  printf '%-6s %-12s %-14s %-10s %-12s %s [attest/release requests: %s]\n' "$n" "$init" "$first" \
    "$cpu" "$ecpu" "$all" "$att"
  RES[$n]=$first
  if [ -z "$TDEC" ]; then # the vTPM the module talks to (relay + swtpm), measured once
    TDEC=$(TSS2_LOG=all+none "$PY" "$SRC/bench/tpm_decrypt_time.py" \
      "$(. "$T/emu/env" && echo "$SKR_EMU_TCTI")" 100)
  fi
  "$EMU" down "$T/emu" >/dev/null
done
if [ -n "${RES[1]:-}" ] && [ -n "${RES[64]:-}" ]; then
  awk -v a="${RES[64]}" -v b="${RES[1]}" -v l="$LAT" \
    'BEGIN {r = a / b; printf "ratio 64-key/1-key = %.2f (target <= 1.50) %s, latency %s ms\n", r, (r <= 1.5 ? "MET" : "MISSED"), l}'
fi
# The floor no client can go under: each key is one PolicyPCR + one RSA_Decrypt on the vTPM,
# which runs one command at a time, so 64 keys take at least 63 x that longer than 1 key.
echo "vTPM per released key (simulated CVM, this run): $TDEC"
if [ -n "${RES[1]:-}" ]; then
  awk -v b="${RES[1]}" -v t="$(echo "$TDEC" | sed 's/.*per_key_ms=\([0-9.]*\).*/\1/')" \
    'BEGIN {printf "floor for 64 keys = %.1f + 63 x %.2f = %.1f ms, ratio >= %.2f\n", b, t, b + 63 * t, (b + 63 * t) / b}'
fi
