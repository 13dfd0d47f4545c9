#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# nginx (Debian 12's 1.22) serving TLS with emulator-released keys through libp11's engine
# (libengine-pkcs11-openssl): the configuration is examples/nginx/nginx.conf with only its
# installation paths, port and worker count replaced, and OPENSSL_CONF is the shipped engine
# configuration (init = 1). One server holds both keys: demo-rsa (RSA-2048) and demo-ec (P-256).
# Checks: curl fetches the page over each key (TLS 1.3 picks ECDSA, TLS 1.2 with an ECDHE-RSA
# suite forces RSA) and verifies the Key Vault certificate read from the token (self-signed,
# issuer Self, so it is its own trust anchor); 10,000 full TLS 1.3 handshakes (5,000 per key,
# no resumption, chain and name verified, GET / each) by bench/skr-tls-handshakes; exactly one
# attestation for the master and none for its workers (they fork from it and reuse its
# released keys); `nginx -s reload` brings up new workers that keep serving without attesting;
# nothing at level error or above in nginx's error log.
. "$(dirname "$0")/lib.sh"
command -v nginx >/dev/null || skip "nginx not installed (Debian: nginx)"
ENGINE_SO=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
[ -e "$ENGINE_SO" ] || skip "libp11's engine not installed (Debian: libengine-pkcs11-openssl)"
DRIVER="${SKR_BUILD_DIR:?}/bench/skr-tls-handshakes"
[ -x "$DRIVER" ] || fail "$DRIVER not built (target skr-tls-handshakes)"
skr_setup

# The certificates: the Key Vault certificates of the same names, as the token shows them.
mkdir -p "$WORK/tls" "$WORK/html" "$WORK/logs"
for k in rsa ec; do
    pt --read-object --type cert --label "demo-$k" -o "$WORK/demo-$k.crt.der" >/dev/null 2>&1 ||
        fail "read certificate demo-$k from the token"
    openssl x509 -inform DER -in "$WORK/demo-$k.crt.der" -out "$WORK/tls/demo-$k.crt"
    cmp -s "$WORK/tls/demo-$k.crt" "$SKR_EMU_DIR/keys/demo.demo-$k.crt" ||
        fail "the token's certificate demo-$k is not the vault's"
    openssl x509 -in "$WORK/tls/demo-$k.crt" -noout -pubkey | cmp -s - "$WORK/demo-$k.pub.pem" ||
        fail "certificate demo-$k carries another public key than the token's key"
done
cat "$WORK/tls/demo-rsa.crt" "$WORK/tls/demo-ec.crt" >"$WORK/both.crt"
echo "served by the released keys" >"$WORK/html/index.html"
# Workers run as the example's user (www-data) when we are root: they read the page.
chmod 0711 "$WORK"
chmod 0755 "$WORK/html"
chmod 0644 "$WORK/html/index.html"

PORT=$(free_port)
user_sed='s|^user .*;|user www-data;|'
if [ "$(id -u)" != 0 ] || ! id www-data >/dev/null 2>&1; then
    user_sed='/^user /d'
fi
preload_env=""
[ -n "${SKR_PRELOAD:-}" ] && preload_env='env LD_PRELOAD;'
sed -e "$user_sed" \
    -e "s|^worker_processes .*;|worker_processes 2;|" \
    -e "s|^pid .*;|pid $WORK/nginx.pid;|" \
    -e "s|^env SKR_PKCS11_LOG;|&\\n$preload_env|" \
    -e "s|listen 443 ssl;|listen 127.0.0.1:$PORT ssl;|" \
    -e '/listen \[::\]:443 ssl;/d' \
    -e "s|/etc/nginx/tls/|$WORK/tls/|" \
    -e "s|/var/log/nginx/|$WORK/logs/|" \
    -e "s|root /var/www/html;|root $WORK/html;|" \
    -e "s|^http {|&\\n    client_body_temp_path $WORK/tmp-body;\\n    proxy_temp_path $WORK/tmp-proxy;\\n    fastcgi_temp_path $WORK/tmp-fastcgi;\\n    uwsgi_temp_path $WORK/tmp-uwsgi;\\n    scgi_temp_path $WORK/tmp-scgi;|" \
    "$SKR_SOURCE_DIR/examples/nginx/nginx.conf" >"$WORK/nginx.conf"
! sed 's/#.*//' "$WORK/nginx.conf" | grep -nE '/etc/nginx/tls|/var/log|/run/|/var/www| 443 |\]:443' ||
    fail "examples/nginx/nginx.conf changed shape: the lines above were not rewritten"
grep -q 'ssl_certificate_key "engine:pkcs11:pkcs11:token=demo;object=demo-rsa;type=private";' \
    "$WORK/nginx.conf" || fail "the example no longer loads demo-rsa through the engine"
# From here on every process loads the engine (init = 1), like nginx under the systemd drop-in.
export OPENSSL_CONF="$(engine_conf)"
NGX="nginx -c $WORK/nginx.conf -p $WORK/ -e $WORK/logs/error.log"

# `nginx -t` parses the whole configuration, keys included: it is a process of its own that
# loads the engine and releases the keys (one attestation), so it runs before the counters reset.
p11 $NGX -t >"$WORK/t.out" 2>&1 || fail "nginx -t: $(cat "$WORK/t.out")"
ok "nginx -t accepts the configuration made from examples/nginx/nginx.conf"

emu_counters_reset
LD_PRELOAD="${SKR_PRELOAD:-}" $NGX -g 'daemon off; master_process on;' >"$WORK/nginx.out" 2>&1 &
MASTER=$!
bg_pid $MASTER

hs() { # hs KEY COUNT [driver args]: COUNT full TLS 1.3 handshakes that must use key KEY
    k=$1
    n=$2
    shift 2
    case $k in
    rsa) sig=rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pkcs1_sha256 ;;
    ec) sig=ecdsa_secp256r1_sha256 ;;
    esac
    "$DRIVER" --port "$PORT" --sni "demo-$k.skr.localhost" --cafile "$WORK/tls/demo-$k.crt" \
        --sigalgs "$sig" --count "$n" "$@"
}
workers() { ps -o pid= --ppid "$MASTER" | tr -d ' ' | sort | paste -sd' '; }

# Start-up includes the key release (attestation, Key Vault): wait for the first answer.
i=0
until hs rsa 1 >/dev/null 2>&1; do
    kill -0 "$MASTER" 2>/dev/null || fail "nginx exited: $(cat "$WORK/nginx.out" "$WORK/logs/error.log")"
    i=$((i + 1))
    [ $i -lt 1200 ] || fail "nginx did not answer: $(tail -5 "$WORK/logs/error.log")"
    sleep 0.1
done
[ "$(cat "$WORK/nginx.pid")" = "$MASTER" ] || fail "nginx.pid is not the master we started"
set -- $(workers)
[ $# -eq 2 ] || fail "expected 2 workers, found: $*"
OLD_WORKERS=$(workers)
ok "nginx master $MASTER serving on 127.0.0.1:$PORT with workers $OLD_WORKERS"

fetch() { # fetch KEY: curl verifies the certificate of KEY and gets the page
    case $1 in
    ec) tls="--tlsv1.3" ;;
    rsa) tls="--tlsv1.2 --tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256" ;;
    esac
    curl -sS --fail $tls --cacert "$WORK/tls/demo-$1.crt" \
        --resolve "demo-$1.skr.localhost:$PORT:127.0.0.1" "https://demo-$1.skr.localhost:$PORT/" \
        >"$WORK/page" 2>"$WORK/curl.err" || fail "curl over demo-$1: $(cat "$WORK/curl.err")"
    cmp -s "$WORK/page" "$WORK/html/index.html" || fail "curl over demo-$1 got another page"
}
for k in rsa ec; do
    fetch $k
    ok "curl verifies demo-$k's certificate and fetches the page"
done

for k in rsa ec; do
    hs $k 5000 --get --threads 2 >"$WORK/hs.out" 2>&1 ||
        fail "handshakes with demo-$k: $(cat "$WORK/hs.out")"
    ok "5000 full TLS 1.3 handshakes + GET with demo-$k: $(cat "$WORK/hs.out")"
done

att=$(emu_counter maa-attest-guest)
[ "$att" = 1 ] || fail "expected 1 attestation (the master), got $att"
[ "$(workers)" = "$OLD_WORKERS" ] || fail "workers changed while serving: $(workers)"
ok "one attestation for the master, none for workers $OLD_WORKERS after 10,000 handshakes"

# Reload: the signal process parses the configuration, keys included, so it releases them once
# itself; the master re-reads its configuration and forks new workers, neither attesting.
p11 $NGX -s reload >"$WORK/reload.out" 2>&1 || fail "nginx -s reload: $(cat "$WORK/reload.out")"
i=0
while :; do
    now=$(workers)
    set -- $now
    fresh=1
    for p in $OLD_WORKERS; do
        case " $now " in *" $p "*) fresh=0 ;; esac
    done
    [ $# -eq 2 ] && [ $fresh = 1 ] && break
    kill -0 "$MASTER" 2>/dev/null || fail "nginx exited on reload: $(tail -5 "$WORK/logs/error.log")"
    i=$((i + 1))
    [ $i -lt 1200 ] || fail "no new workers after reload (now: $now, before: $OLD_WORKERS)"
    sleep 0.1
done
for k in rsa ec; do
    fetch $k
    hs $k 200 --get >"$WORK/hs.out" 2>&1 || fail "after reload, demo-$k: $(cat "$WORK/hs.out")"
done
att=$(emu_counter maa-attest-guest)
[ "$att" = 2 ] || fail "expected 2 attestations (master, the reload's signal process), got $att"
ok "after nginx -s reload, new workers $now serve both keys; only the signal process attested"

kill "$MASTER"
wait "$MASTER" || true
if grep -E '\[(error|crit|alert|emerg)\]|exited on signal' "$WORK/logs/error.log" >"$WORK/bad"; then
    fail "nginx's error log: $(head -5 "$WORK/bad")"
fi
if grep -E 'ERROR: AddressSanitizer|runtime error:' "$WORK/nginx.out" "$WORK/logs/error.log"; then
    fail "sanitizer report in nginx's output"
fi
ok "nothing at level error or above in nginx's error log"
echo "nginx: all checks passed (key path: emulator)"
