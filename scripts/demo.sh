#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: Secure Key Release end to end, on the local Azure emulator and its simulated
# SEV-SNP confidential VM (tests/emulator). Steps:
#   1. install the Debian packages (scripts/deps.sh, idempotent) and build the module and
#      skr-tool (release preset: no file key source) in a build dir of its own;
#   2. start the emulator (IMDS, Entra ID, Azure Attestation, Key Vault) and the simulated CVM
#      (swtpm shaped like the Azure vTPM) in a temp dir;
#   3. show the keys before release: what Key Vault hands out without attestation (public
#      members and the release policy), and the PKCS#11 token with attestation off (public keys
#      and certificates, no private key);
#   4. attest: vTPM evidence -> Azure Attestation -> verified token, its claims printed;
#   5. load the module as an application does: C_Initialize attests, Key Vault releases each key
#      wrapped to the vTPM's ephemeral key, the vTPM unwraps it; list the objects;
#   6. sign with the released RSA and EC keys (pkcs11-tool) and verify with openssl against the
#      public keys Key Vault published before the release;
#   7. nginx (master + 2 workers) serving TLS with the released RSA key through libp11's engine,
#      examples/nginx/nginx.conf adapted to a loopback port, fetched with curl.
# Everything runs on 127.0.0.1, lives in one temp dir and is stopped by pid at exit. Exit status
# non-zero on any failure.
# Usage: scripts/demo.sh        (SKR_DEMO_BUILD=DIR overrides the build dir, default build-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SKR_DEMO_BUILD:-$ROOT/build-demo}

step() { printf '\n== %s\n' "$*"; }
fail() {
    echo "DEMO FAILED: $*" >&2
    exit 1
}
indent() { sed 's/^/   /'; }

step "1. dependencies (scripts/deps.sh) and build ($BUILD, release preset)"
scripts/deps.sh
cmake --preset release -B "$BUILD" >/dev/null
cmake --build "$BUILD" -j"$(nproc)" --target skr-pkcs11 skr-tool | grep -E '^\[100%\]|error' || true
MODULE=$BUILD/module/libskr-pkcs11.so
SKR_TOOL=$BUILD/tools/skr-tool
[ -f "$MODULE" ] && [ -x "$SKR_TOOL" ] || fail "build did not produce $MODULE and $SKR_TOOL"
echo "module: $MODULE"

WORK=$(mktemp -d /tmp/skr-demo.XXXXXX)
EMU=$WORK/emu
NG=$WORK/nginx
NGINX_PID=""
stop_pid() { # SIGTERM, then SIGKILL after 5 s; works for processes that are not our children
    kill "$1" 2>/dev/null || return 0
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null || true
}
cleanup() {
    rc=$?
    [ -z "$NGINX_PID" ] || stop_pid "$NGINX_PID"
    [ ! -f "$EMU/env" ] || "$ROOT/tests/emulator/skr-emulator" down "$EMU" >/dev/null 2>&1 || true
    rm -rf "$WORK"
    [ "$rc" = 0 ] || echo "DEMO FAILED (exit $rc)" >&2
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
export TSS2_LOG=all+none # tpm2-tss prints its own errors otherwise
cd "$WORK"

step "2. local Azure emulator and simulated confidential VM ($EMU)"
# `up` and `nginx` fork daemons and return once they are ready. A Ctrl-C (sent to the whole
# process group) while they start would leave a daemon that the pid files do not name yet, so
# both start with INT/TERM ignored (the daemons install their own handlers).
trap '' INT TERM
"$ROOT/tests/emulator/skr-emulator" up "$EMU" >emu.out 2>&1 || emu_rc=$?
trap 'exit 1' INT TERM
[ "${emu_rc:-0}" = 0 ] || fail "the emulator did not start: $(tail -5 emu.out)"
. "$EMU/env"
cat <<EOF | indent
Azure Attestation  $SKR_EMU_MAA
Key Vault          $SKR_EMU_VAULT
IMDS               $SKR_EMU_IMDS  (managed identity tokens, CVM collateral)
vTPM               $SKR_EMU_TCTI  (swtpm provisioned like an Azure CVM vTPM)
module config      $SKR_PKCS11_CONF
EOF
counter() {
    curl -sf "$SKR_EMU_ADMIN/counters" | jq -r --arg n "$1" '.counters[$n] // 0'
}
p11() { pkcs11-tool --module "$MODULE" "$@"; }

step "3a. before release: what Key Vault gives without attestation (GET /keys/demo-rsa)"
tok=$(curl -sSf -H 'Metadata: true' \
    "$SKR_EMU_IMDS/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net" |
    jq -r .access_token) || fail "no managed identity token from IMDS"
curl -sSf --cacert "$SKR_EMU_CA" -H "Authorization: Bearer $tok" \
    "$SKR_EMU_VAULT/keys/demo-rsa?api-version=7.4" >kv-demo-rsa.json || fail "Key Vault GET key"
unset tok
jq -r '"kid        \(.key.kid)",
       "kty        \(.key.kty)   exportable: \(.attributes.exportable)",
       "members    \(.key | keys_unsorted | map(select(. == "n" or . == "e" or . == "d" or . == "p" or . == "q" or . == "dp" or . == "dq" or . == "qi")) | join(" "))"' \
    kv-demo-rsa.json | indent
jq -e '.key | has("d") or has("p") or has("key_hsm") | not' kv-demo-rsa.json >/dev/null ||
    fail "Key Vault returned private key members without a release"
echo "   release policy (decoded):"
jq -r .release_policy.data kv-demo-rsa.json |
    /usr/bin/python3 -c 'import base64, json, sys
d = sys.stdin.read().strip()
print(json.dumps(json.loads(base64.urlsafe_b64decode(d + "=" * (-len(d) % 4))), indent=1))' |
    indent | indent

step "3b. before release: the PKCS#11 token with attestation off (provider = none)"
# The emulator's config with the attestation provider off: the module fetches only public
# metadata (key and certificate) and releases nothing; keys become optional so it comes up.
sed -e 's/^provider = azure-cvm-vtpm$/provider = none/' -e 's/^required = yes$/required = no/' \
    "$SKR_PKCS11_CONF" >public-only.conf
grep -q '^provider = none$' public-only.conf || fail "could not derive the public-only config"
SKR_PKCS11_CONF=$PWD/public-only.conf p11 --list-objects >before.txt 2>before.err ||
    fail "module (public only): $(cat before.err)"
indent <before.txt
! grep -qE '^(Private|Secret) Key Object' before.txt || fail "private objects without attestation"
for k in rsa ec; do
    SKR_PKCS11_CONF=$PWD/public-only.conf p11 --read-object --type pubkey --label "demo-$k" \
        -o "demo-$k.pub.der" >/dev/null 2>&1 || fail "read public key demo-$k"
    openssl pkey -pubin -inform DER -in "demo-$k.pub.der" -out "demo-$k.pub.pem"
done
SKR_PKCS11_CONF=$PWD/public-only.conf p11 --read-object --type cert --label demo-rsa \
    -o demo-rsa.crt.der >/dev/null 2>&1 || fail "read certificate demo-rsa"
openssl x509 -inform DER -in demo-rsa.crt.der -out demo-rsa.crt
echo "-> public keys and certificates only. Azure Attestation calls so far: $(counter maa-attest-guest)," \
    "Key Vault releases so far: $(counter akv-release)"
[ "$(counter maa-attest-guest)" = 0 ] && [ "$(counter akv-release)" = 0 ] ||
    fail "something attested or released before step 4"

step "4. attestation: vTPM evidence -> Azure Attestation -> verified token (skr-tool attest)"
"$SKR_TOOL" attest >claims.json 2>attest.err || fail "skr-tool attest: $(cat attest.err)"
jq -r '"issuer              \(.iss)   (signature, issuer, time checked by skr-tool)",
  "valid until         \(.exp | todate)",
  "attestation type    \(."x-ms-attestation-type") / \(."x-ms-isolation-tee"."x-ms-attestation-type")",
  "compliance status   \(."x-ms-isolation-tee"."x-ms-compliance-status")",
  "debuggable          \(."x-ms-isolation-tee"."x-ms-sevsnpvm-is-debuggable")",
  "launch measurement  \(."x-ms-isolation-tee"."x-ms-sevsnpvm-launchmeasurement")",
  "secure boot         \(.secureboot)   attested PCRs \(."x-ms-azurevm-attested-pcrs" | map(tostring) | join(","))",
  "runtime key         \(."x-ms-runtime".keys[0].kid) (RSA, lives in the vTPM; Key Vault wraps releases to it)",
  "(\(keys | length) top-level claims in all)"' claims.json | indent
[ "$(jq -r '."x-ms-runtime".keys[0].kid' claims.json)" = TpmEphemeralEncryptionKey ] ||
    fail "the token does not carry the vTPM ephemeral key"

step "5. release: load the module (C_Initialize attests, Key Vault releases, the vTPM unwraps)"
attest0=$(counter maa-attest-guest)
release0=$(counter akv-release)
SKR_PKCS11_LOG=warn p11 --list-objects >after.txt 2>after.err || fail "module: $(cat after.err)"
indent <after.txt
for k in demo-rsa demo-ec; do
    grep -A1 '^Private Key Object' after.txt | grep -q "label: *$k\$" || fail "$k not released"
done
grep -A2 '^Secret Key Object' after.txt | grep -q 'label: *demo-aes$' || fail "demo-aes not released"
echo "-> private keys demo-rsa, demo-ec and secret key demo-aes released to this (simulated) CVM;"
echo "   their values are not readable through PKCS#11 (CKA_SENSITIVE, not extractable)."
echo "   Keys the emulator's vault refuses on purpose (required = no, so the token still comes up):"
sed -n 's/.*key \([a-z0-9-]*\) (required = no) left out: release: key [^ ]*: POST [^ ]*: \(.*\) (x-ms-request-id.*/\1: \2/p' \
    after.err | cut -c1-120 | indent | indent
echo "   Azure Attestation calls: $((  $(counter maa-attest-guest) - attest0 )), release requests:" \
    "$(( $(counter akv-release) - release0 )) (demo-rsa, demo-ec, demo-aes, and the 2 refused)"

step "6. sign with the released keys (pkcs11-tool), verify with openssl against the public keys of step 3"
# pkcs11-tool --sign selects the key by CKA_ID (its --label is not used there): take each key's
# id from the public key objects of step 3 (the module sets the same CKA_ID on all its objects)
key_id() { awk -v k="$1" '/^[A-Z]/ { l = "" } $1 == "label:" { l = $2 } $1 == "ID:" && l == k { print $2; exit }' before.txt; }
RSA_ID=$(key_id demo-rsa)
EC_ID=$(key_id demo-ec)
[ -n "$RSA_ID" ] && [ -n "$EC_ID" ] || fail "no CKA_ID for demo-rsa/demo-ec in the listing"
printf 'hello from skr-pkcs11\n' >data
p11 --sign --id "$RSA_ID" -m SHA256-RSA-PKCS -i data -o rsa.sig 2>sign.err ||
    fail "sign demo-rsa: $(cat sign.err)"
printf '   demo-rsa SHA256-RSA-PKCS: '
openssl dgst -sha256 -verify demo-rsa.pub.pem -signature rsa.sig data || fail "demo-rsa signature"
p11 --sign --id "$EC_ID" -m ECDSA-SHA256 --signature-format openssl -i data -o ec.sig \
    2>sign.err || fail "sign demo-ec: $(cat sign.err)"
printf '   demo-ec  ECDSA-SHA256:    '
openssl dgst -sha256 -verify demo-ec.pub.pem -signature ec.sig data || fail "demo-ec signature"

step "7. nginx with the released RSA key (libp11 engine), fetched over TLS with curl"
# examples/nginx/nginx.conf, adapted: a loopback port, 2 workers, every path under $NG, and only
# the RSA key, to keep the demo short (tests/integration/programs/nginx.sh serves both keys).
# Comment lines are dropped so that the shape check below looks at directives only.
mkdir -p "$NG/html" "$NG/tmp"
PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then
    user_sed='s/^user .*/user www-data;/'
    chmod 711 "$WORK" && chmod 755 "$NG" "$NG/html" # the workers run as www-data
else
    user_sed='/^user /d'
fi
sed -e '/^[[:space:]]*#/d' -e "$user_sed" \
    -e 's/^worker_processes .*/worker_processes 2;/' \
    -e "s|^pid .*|pid $NG/nginx.pid;|" \
    -e "s|access_log .*|access_log $NG/access.log;|" \
    -e "s|error_log .*|error_log $NG/error.log;|" \
    -e "/default_type/a\\
    client_body_temp_path $NG/tmp/body; proxy_temp_path $NG/tmp/proxy;\\
    fastcgi_temp_path $NG/tmp/fastcgi; uwsgi_temp_path $NG/tmp/uwsgi; scgi_temp_path $NG/tmp/scgi;" \
    -e "s|listen 443 ssl;|listen 127.0.0.1:$PORT ssl;|" \
    -e '/listen \[::\]:443/d' \
    -e "s|ssl_certificate /etc/nginx/tls/demo-rsa.crt;|ssl_certificate $WORK/demo-rsa.crt;|" \
    -e '/ssl_certificate .*demo-ec/d' -e '/ssl_certificate_key .*object=demo-ec/d' \
    -e "s|root /var/www/html;|root $NG/html;|" \
    "$ROOT/examples/nginx/nginx.conf" >"$NG/nginx.conf"
if grep -nE '/etc/nginx/tls|/var/|/run/|:443|demo-ec|worker_processes auto' "$NG/nginx.conf" ||
    ! grep -q "listen 127.0.0.1:$PORT ssl;" "$NG/nginx.conf" ||
    ! grep -q 'object=demo-rsa' "$NG/nginx.conf"; then
    fail "examples/nginx/nginx.conf changed shape; update the adaptation in scripts/demo.sh"
fi
sed -e "s|^MODULE_PATH = .*|MODULE_PATH = $MODULE|" \
    -e "s|^dynamic_path = .*|dynamic_path = $(openssl version -e | cut -d'"' -f2)/pkcs11.so|" \
    "$ROOT/examples/openssl/engine.cnf" >engine.cnf
# nginx's own module config: the emulator's, with only the key nginx uses (least privilege: the
# process releases only its TLS key).
awk '/^\[/ { skip = ($1 == "[key" && $2 != "demo-rsa]") } !skip' "$SKR_PKCS11_CONF" >nginx-skr.conf
grep -q '^\[key demo-rsa\]$' nginx-skr.conf && ! grep -q '^\[key demo-ec\]' nginx-skr.conf ||
    fail "could not derive nginx's module config"
echo "<p>served by nginx with a key released by Azure Secure Key Release</p>" >"$NG/html/index.html"
chmod 644 "$NG/html/index.html"
attest0=$(counter maa-attest-guest)
trap '' INT TERM
OPENSSL_CONF=$WORK/engine.cnf SKR_PKCS11_CONF=$WORK/nginx-skr.conf \
    nginx -p "$NG" -c "$NG/nginx.conf" -e "$NG/error.log" 2>nginx.err || ng_rc=$?
[ ! -s "$NG/nginx.pid" ] || NGINX_PID=$(cat "$NG/nginx.pid")
trap 'exit 1' INT TERM
[ "${ng_rc:-0}" = 0 ] && [ -n "$NGINX_PID" ] ||
    fail "nginx did not start: $(cat nginx.err; tail -5 "$NG/error.log")"
# the master forks its workers after writing the pid file: wait for both (no time limit here:
# the machine may be slow; a dead master ends the wait)
workers() { cat "/proc/$NGINX_PID/task/$NGINX_PID/children" 2>/dev/null || true; }
while [ "$(workers | wc -w)" -lt 2 ]; do
    kill -0 "$NGINX_PID" 2>/dev/null || fail "nginx exited: $(tail -5 "$NG/error.log")"
    sleep 0.1
done
echo "   nginx master $NGINX_PID, workers $(workers)(user" \
    "$(for w in $(workers); do stat -c %U "/proc/$w"; done | sort -u | tr '\n' ' ' | sed 's/ $//'))" \
    "on 127.0.0.1:$PORT"
echo "   module config: $SKR_PKCS11_CONF with only [key demo-rsa]"
echo "   ssl_certificate_key $(sed -n 's/.*ssl_certificate_key \(.*\);/\1/p' "$NG/nginx.conf")"
echo "   certificate: the Key Vault certificate demo-rsa ($(openssl x509 -in demo-rsa.crt -noout \
    -ext subjectAltName | tail -1 | tr -d ' '))"
URL="https://demo-rsa.skr.localhost:$PORT/"
echo "   curl --cacert demo-rsa.crt $URL"
curl -sS --cacert demo-rsa.crt -w '(HTTP %{http_code}; server certificate verified against demo-rsa.crt)\n' \
    "$URL" >curl.out 2>curl.err || fail "curl: $(cat curl.err; tail -5 "$NG/error.log")"
indent <curl.out
grep -q 'Secure Key Release' curl.out || fail "unexpected page"
n=$(($(counter maa-attest-guest) - attest0))
echo "   attestations for nginx: $n (in the master while it read its configuration; the workers" \
    "inherited the released key)"
[ "$n" = 1 ] || fail "expected one attestation for nginx, got $n"

step "8. stop nginx and the emulator, remove $WORK"
stop_pid "$NGINX_PID"
NGINX_PID=""
echo "DEMO OK"
