#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# nginx benchmark (issue 5): server CPU time per full TLS 1.3 handshake with the key
#   - engine:  released by skr-pkcs11 from the local emulator, used through libp11's engine
#              (examples/openssl/engine.cnf, ssl_certificate_key "engine:pkcs11:pkcs11:...");
#   - pem:     the same key from a PEM file (the emulator's private copy, DIR/keys/*.pem);
#   - softhsm: the same key imported into a SoftHSMv2 token, through the same engine (optional,
#              when softhsm2-util and libsofthsm2.so are installed),
# for demo-rsa (RSA-2048, rsa_pss_rsae_sha256) and demo-ec (P-256, ecdsa_secp256r1_sha256).
# One nginx per column (master + 2 workers; softhsm: one process, see below), one server holding
# both keys as in examples/nginx/nginx.conf, all running at once; bench/skr-tls-handshakes makes
# N full handshakes per measurement (no resumption, chain verified) and the server's CPU time is
# the sum of the master's and workers' run time (/proc/PID/task/*/schedstat, ns) before/after.
# Rounds are interleaved (each round measures every column back to back, rotating who goes
# first); the table gives medians over rounds; ratios are medians of per-round ratios.
# Target: engine/pem <= 1.05. Not a test.
# Usage: bench/run-nginx-bench.sh [--rounds R] [--count N] [--threads T] [--keys "rsa ec"]
#                                 [--no-softhsm]
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SKR_BENCH_BUILD:-$SRC/build-bench}
ROUNDS=9
COUNT=1000
THREADS=2
SOFTHSM=1
KEYSEL="rsa ec"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift 2 ;;
    --count) COUNT=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --keys) KEYSEL=$2; shift 2 ;;
    --no-softhsm) SOFTHSM=0; shift ;;
    *) echo "usage: $0 [--rounds R] [--count N] [--threads T] [--keys \"rsa ec\"] [--no-softhsm]" >&2
       exit 2 ;;
  esac
done
ENGINE_SO=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
SOFTHSM_LIB=${SOFTHSM_LIB:-/usr/lib/softhsm/libsofthsm2.so}
command -v nginx >/dev/null || { echo "nginx not installed" >&2; exit 1; }
[ -e "$ENGINE_SO" ] || { echo "libengine-pkcs11-openssl not installed" >&2; exit 1; }
if [ "$SOFTHSM" = 1 ] && { [ ! -e "$SOFTHSM_LIB" ] || ! command -v softhsm2-util >/dev/null; }; then
  echo "SoftHSMv2 not installed: no softhsm column" >&2
  SOFTHSM=0
fi
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$BUILD" --target skr-pkcs11 skr-tls-handshakes -j2 >/dev/null
MOD=$(find "$BUILD/module" -name 'libskr-pkcs11.so' | head -n1)
DRIVER=$BUILD/bench/skr-tls-handshakes
EMU="$SRC/tests/emulator/skr-emulator"
PY=/usr/bin/python3
T=$(mktemp -d)
chmod 0711 "$T"
MASTERS=()
cleanup() {
  local p
  for p in "${MASTERS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${MASTERS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  "$EMU" down "$T/emu" >/dev/null 2>&1 || true
  rm -rf "$T"
}
trap cleanup EXIT

"$EMU" up "$T/emu" >"$T/emu.out" 2>&1 || { cat "$T/emu.out" >&2; exit 1; }
. "$T/emu/env"
KEYS=$SKR_EMU_DIR/keys
# The module's configuration: the emulator's, with only the benchmarked keys.
"$PY" - "$SKR_PKCS11_CONF" "$T/skr-pkcs11.conf" $KEYSEL <<'PY'
import re, sys
text = open(sys.argv[1]).read()
keep = {"demo-" + k for k in sys.argv[3:]}
out = []
for sec in re.split(r"(?m)^(?=\[)", text):
    m = re.match(r"\[key (\S+)\]", sec)
    if m is None or m.group(1) in keep:
        out.append(sec)
open(sys.argv[2], "w").write("".join(out))
PY
export SKR_PKCS11_CONF=$T/skr-pkcs11.conf
mkdir -p "$T/html" && echo bench >"$T/html/index.html" && chmod -R a+rX "$T/html"

engine_cnf() { # engine_cnf MODULE OUT: the shipped engine configuration with MODULE
  sed "s|^MODULE_PATH = .*|MODULE_PATH = $1|" "$SRC/examples/openssl/engine.cnf" >"$2"
}
free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# nginx_conf COL PORT KEYFMT: one server holding every benchmarked key (as
# examples/nginx/nginx.conf), ssl_certificate_key = KEYFMT with %s = the key's name
nginx_conf() {
  local d=$T/$1 k certs=""
  mkdir -p "$d/logs"
  for k in $KEYSEL; do
    # shellcheck disable=SC2059
    certs+="        ssl_certificate $KEYS/demo.demo-$k.crt;
        ssl_certificate_key \"$(printf "$3" "demo-$k")\";
"
  done
  cat >"$d/nginx.conf" <<EOF
worker_processes 2;
pid $d/nginx.pid;
env OPENSSL_CONF;
env SKR_PKCS11_CONF;
env SOFTHSM2_CONF;
events { worker_connections 1024; }
http {
    client_body_temp_path $d/tmp-body;
    proxy_temp_path $d/tmp-proxy;
    fastcgi_temp_path $d/tmp-fastcgi;
    uwsgi_temp_path $d/tmp-uwsgi;
    scgi_temp_path $d/tmp-scgi;
    access_log off;
    error_log $d/logs/error.log notice;
    server {
        listen 127.0.0.1:$2 ssl;
$certs        ssl_protocols TLSv1.3;
        location / { root $T/html; }
    }
}
EOF
}
declare -A PORT MASTER
# start COL OPENSSL_CONF [on|off]: nginx (master_process on by default) in the background, wait
# until it answers
start() {
  local col=$1 d=$T/$1 i
  OPENSSL_CONF=$2 nginx -c "$d/nginx.conf" -p "$d/" -e "$d/logs/error.log" \
    -g "daemon off; master_process ${3:-on};" >"$d/nginx.out" 2>&1 &
  MASTER[$col]=$!
  MASTERS+=("$!")
  for i in $(seq 1200); do
    if "$DRIVER" --port "${PORT[$col]}" --sni "demo-$FIRST.skr.localhost" \
      --cafile "$KEYS/demo.demo-$FIRST.crt" --sigalgs "$(sigalgs "$FIRST")" --count 1 \
      >/dev/null 2>&1; then
      return 0
    fi
    kill -0 "${MASTER[$col]}" 2>/dev/null || { cat "$d/nginx.out" "$d/logs/error.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "nginx ($col) did not answer: $(tail -5 "$d/logs/error.log")" >&2
  exit 1
}

sigalgs() { case $1 in rsa) echo rsa_pss_rsae_sha256 ;; ec) echo ecdsa_secp256r1_sha256 ;; esac; }
FIRST=${KEYSEL%% *}
COLS=(pem engine)
engine_cnf "$MOD" "$T/engine.cnf"
for c in pem engine softhsm; do PORT[$c]=$(free_port); done
nginx_conf pem "${PORT[pem]}" "$KEYS/demo.%s.pem"
nginx_conf engine "${PORT[engine]}" "engine:pkcs11:pkcs11:token=demo;object=%s;type=private"
start pem /dev/null
start engine "$T/engine.cnf"
if [ "$SOFTHSM" = 1 ]; then
  mkdir -p "$T/softhsm"
  printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$T/softhsm" >"$T/softhsm2.conf"
  export SOFTHSM2_CONF=$T/softhsm2.conf
  softhsm2-util --init-token --free --label bench --so-pin 5678 --pin 1234 >/dev/null
  id=1
  for k in $KEYSEL; do
    softhsm2-util --import "$KEYS/demo.demo-$k.pem" --token bench --label "demo-$k" \
      --id "0$id" --pin 1234 >/dev/null
    id=$((id + 1))
  done
  engine_cnf "$SOFTHSM_LIB" "$T/softhsm-engine.cnf"
  nginx_conf softhsm "${PORT[softhsm]}" \
    "engine:pkcs11:pkcs11:token=bench;object=%s;type=private;pin-value=1234"
  # SoftHSMv2 2.6.1 through libp11 0.4.12 does not survive nginx's fork: in the workers every
  # signature fails with CKR_OBJECT_HANDLE_INVALID (with library.reset_on_fork = true the first
  # handshake hangs). So this column is one nginx process (master_process off), no fork.
  start softhsm "$T/softhsm-engine.cnf" off
  COLS+=(softhsm)
fi

# Server CPU time (ns) of one nginx: master and workers, every thread.
cpu_ns() {
  local m=$1 p pids
  pids="$m $(ps -o pid= --ppid "$m" | tr '\n' ' ')"
  for p in $pids; do cat /proc/"$p"/task/*/schedstat 2>/dev/null || true; done |
    awk '{ s += $1 } END { printf "%.0f\n", s }'
}
# measure COL KEY N: prints server CPU µs per handshake
measure() {
  local col=$1 k=$2 n=$3 a b
  a=$(cpu_ns "${MASTER[$col]}")
  "$DRIVER" --port "${PORT[$col]}" --sni "demo-$k.skr.localhost" \
    --cafile "$KEYS/demo.demo-$k.crt" --sigalgs "$(sigalgs "$k")" --count "$n" \
    --threads "$THREADS" >"$T/drv.out" 2>&1 || { cat "$T/drv.out" >&2; exit 1; }
  b=$(cpu_ns "${MASTER[$col]}")
  "$PY" -c 'import sys; print("%.1f" % ((int(sys.argv[2]) - int(sys.argv[1])) / 1e3 / int(sys.argv[3])))' \
    "$a" "$b" "$n"
}

# Warm-up: every worker re-initializes the module (libp11 after fork) and opens sessions.
for c in "${COLS[@]}"; do for k in $KEYSEL; do measure "$c" "$k" 200 >/dev/null; done; done
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')  commit: $(git -C "$SRC" rev-parse --short HEAD)" \
  "  load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rounds=$ROUNDS count=$COUNT threads=$THREADS columns=${COLS[*]} keys=$KEYSEL"
: >"$T/samples"
for r in $(seq "$ROUNDS"); do
  for k in $KEYSEL; do
    n=${#COLS[@]}
    for i in $(seq 0 $((n - 1))); do
      c=${COLS[$(((i + r) % n))]}
      echo "$r $k $c $(measure "$c" "$k" "$COUNT")" >>"$T/samples"
    done
  done
done
for c in "${COLS[@]}"; do
  if grep -E '\[(error|crit|alert|emerg)\]' "$T/$c/logs/error.log" >&2; then
    echo "errors in nginx's error log ($c)" >&2
    exit 1
  fi
done
"$PY" - "$T/samples" "${COLS[@]}" <<'PY'
import collections, statistics, sys
cols = sys.argv[2:]
v = collections.defaultdict(dict)
for line in open(sys.argv[1]):
    r, k, c, us = line.split()
    v[(k, int(r))][c] = float(us)
names = {"rsa": "RSA-2048 (demo-rsa)", "ec": "ECDSA P-256 (demo-ec)"}
head = "| key | " + " | ".join("%s µs/hs" % c for c in cols) + " | " + \
    " | ".join("%s/pem" % c for c in cols if c != "pem") + " |"
print(head)
print("|" + "---|" * (1 + len(cols) + len(cols) - 1))
for k in ("rsa", "ec"):
    rounds = [d for (kk, _), d in sorted(v.items()) if kk == k]
    if not rounds:
        continue
    med = [statistics.median(d[c] for d in rounds) for c in cols]
    rat = ["%.3f" % statistics.median(d[c] / d["pem"] for d in rounds) for c in cols if c != "pem"]
    print("| %s | %s | %s |" % (names[k], " | ".join("%.1f" % m for m in med), " | ".join(rat)))
PY
