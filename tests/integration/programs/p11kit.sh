#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# p11-kit with the module, keys released from the emulator, three ways:
#  1. the p11-kit proxy, the module registered by a module file made from the shipped
#     examples/skr-pkcs11.module (only module: and x-init-reserved: changed, so the config path
#     reaches C_Initialize through x-init-reserved; SKR_PKCS11_CONF is unset there):
#     `p11-kit list-modules` lists it with token demo, pkcs11-tool signs through the proxy;
#  2. the module by path (pkcs11-tool --module $SKR_MODULE);
#  3. `p11-kit server --provider $SKR_MODULE pkcs11:token=demo` on a unix socket in $WORK, used by
#     a second process through p11-kit-client.so: RSA and ECDSA signatures, PKCS#1 v1.5 and OAEP
#     decryption, and AES-GCM, which p11-kit 0.24's RPC cannot carry (no CK_GCM_PARAMS): it must
#     fail with a CK_RV, the server must live on.
# Signatures are verified and ciphertexts made with openssl and the public keys alone.
# The module file goes to /etc/pkcs11/modules as root (p11-kit ignores ~/.config/pkcs11 for
# root), else to $XDG_CONFIG_HOME/pkcs11/modules with XDG_CONFIG_HOME in $WORK; it is named
# skr-pkcs11-test-<pid>.module, restricted by enable-in to the two programs that use it, and
# removed as soon as part 1 is done (and at exit). Skipped (77) when a skr-pkcs11 module file is
# already registered on the machine: two modules would serve a token "demo".
. "$(dirname "$0")/lib.sh"

command -v p11-kit >/dev/null || skip "p11-kit is not installed"
proxy=$(pkg-config --variable=proxy_module p11-kit-1 2>/dev/null || true)
[ -n "$proxy" ] && [ -e "$proxy" ] ||
    proxy=$(dpkg -L p11-kit-modules 2>/dev/null | grep '/p11-kit-proxy\.so$' | head -1 || true)
client=$(pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null || true)/p11-kit-client.so
[ -e "$client" ] ||
    client=$(dpkg -L p11-kit-modules 2>/dev/null | grep '/p11-kit-client\.so$' | head -1 || true)
[ -n "$proxy" ] && [ -e "$proxy" ] && [ -n "$client" ] && [ -e "$client" ] ||
    skip "p11-kit-proxy.so or p11-kit-client.so not found (package p11-kit-modules)"
$PY -c 'import PyKCS11' 2>/dev/null || skip "python3-pykcs11 is not installed"

if [ "$(id -u)" = 0 ]; then
    moddir=/etc/pkcs11/modules
else
    export XDG_CONFIG_HOME="$WORK/xdg"
    moddir="$XDG_CONFIG_HOME/pkcs11/modules"
fi
for d in "$moddir" "$(pkg-config --variable=p11_module_configs p11-kit-1 2>/dev/null || true)"; do
    [ -d "$d" ] || continue
    found=$(grep -ls '^module:.*skr-pkcs11' "$d"/*.module 2>/dev/null | tr '\n' ' ' || true)
    [ -z "$found" ] || skip "a skr-pkcs11 module is already registered: $found; not adding another"
done
name="skr-pkcs11-test-$$"
modfile="$moddir/$name.module"
[ ! -e "$modfile" ] || skip "$modfile already exists"

skr_setup
conf="$SKR_PKCS11_CONF"
id_of() { awk -v l="$1" '$1 == "label:" && $2 == l { f = 1 } f && $1 == "ID:" { print $2; exit }' \
    "$WORK/priv.txt"; }
rsa_id=$(id_of demo-rsa)
ec_id=$(id_of demo-ec)
[ -n "$rsa_id" ] && [ -n "$ec_id" ] ||
    fail "no CKA_ID for demo-rsa/demo-ec: $(cat "$WORK/priv.txt")"
printf 'data signed through p11-kit\n' >"$WORK/data"
openssl dgst -sha256 -binary "$WORK/data" >"$WORK/dgst"

# sign_rsa TAG PKCS11-TOOL-ARGS...: SHA256-RSA-PKCS over $WORK/data, checked with $PUB_RSA.
sign_rsa() {
    tag=$1
    shift
    rm -f "$WORK/$tag.rsa.sig"
    "$@" --token-label demo --sign -m SHA256-RSA-PKCS --id "$rsa_id" -i "$WORK/data" \
        -o "$WORK/$tag.rsa.sig" >"$WORK/err" 2>&1 || fail "$tag: RSA sign: $(cat "$WORK/err")"
    openssl dgst -sha256 -verify "$PUB_RSA" -signature "$WORK/$tag.rsa.sig" "$WORK/data" \
        >/dev/null || fail "$tag: the RSA signature does not verify with the public key"
}
# sign_ec TAG PKCS11-TOOL-ARGS...: CKM_ECDSA over SHA-256(data), checked with $PUB_EC.
# (p11-kit 0.24's RPC lists only the ECDSA mechanisms it knows: CKM_ECDSA, CKM_ECDSA_SHA1.)
sign_ec() {
    tag=$1
    shift
    rm -f "$WORK/$tag.ec.sig"
    "$@" --token-label demo --sign -m ECDSA --signature-format openssl --id "$ec_id" \
        -i "$WORK/dgst" -o "$WORK/$tag.ec.sig" >"$WORK/err" 2>&1 ||
        fail "$tag: ECDSA sign: $(cat "$WORK/err")"
    openssl dgst -sha256 -verify "$PUB_EC" -signature "$WORK/$tag.ec.sig" "$WORK/data" \
        >/dev/null || fail "$tag: the ECDSA signature does not verify with the public key"
}

# ---- 1. the p11-kit proxy, registered by a module file made from the shipped example ----------
example="$SKR_SOURCE_DIR/examples/skr-pkcs11.module"
grep -q '^module:' "$example" && grep -q '^x-init-reserved: *config=' "$example" ||
    fail "$example has no module: or x-init-reserved: config= line"
made_dirs=""
for d in "$(dirname "$(dirname "$moddir")")" "$(dirname "$moddir")" "$moddir"; do
    [ -d "$d" ] || made_dirs="$d $made_dirs"
done
unregister() {
    rm -f "$modfile" "$modfile.tmp"
    for d in $made_dirs; do rmdir "$d" 2>/dev/null || true; done
    made_dirs=""
}
on_exit unregister
# register CONFIG: the example with this build's module and CONFIG in x-init-reserved, nothing
# else changed; enable-in added so that only this test's programs load it while it exists.
register() {
    mkdir -p "$moddir"
    {
        sed -e "s|^module:.*|module: $SKR_MODULE|" \
            -e "s|^x-init-reserved: *config=[^ ]*|x-init-reserved: config=$1|" "$example"
        echo "enable-in: p11-kit, pkcs11-tool"
    } >"$modfile.tmp"
    mv "$modfile.tmp" "$modfile"
    grep -qx "module: $SKR_MODULE" "$modfile" &&
        grep -q "^x-init-reserved: config=$1\$" "$modfile" ||
        fail "the module file made from $example: $(cat "$modfile")"
}
# p11-kit list-modules deadlocks under LD_PRELOAD=libasan (p11-kit-trust.so's constructor waits
# in newlocale on glibc's setlocale lock, with or without this module), so the ASan build sees
# the registration through the proxy only.
list_modules() { [ "${SKR_ASAN:-0}" = 1 ] || p11-kit list-modules; }
# The config path comes from x-init-reserved only.
unset SKR_PKCS11_CONF

# A module file whose config is absent: C_Initialize fails with one log line, p11-kit skips the
# module (critical: no) and the proxy still comes up with the other modules.
register "$WORK/absent.conf"
list_modules >"$WORK/list.txt" 2>"$WORK/list.err" ||
    fail "p11-kit list-modules with a missing config: $(cat "$WORK/list.err")"
! grep -q "^$name:" "$WORK/list.txt" ||
    fail "p11-kit lists $name although its C_Initialize must fail: $(cat "$WORK/list.txt")"
p11 pkcs11-tool --module "$proxy" --list-token-slots >"$WORK/slots.txt" 2>"$WORK/slots.err" ||
    fail "the p11-kit proxy fails when skr-pkcs11's config is missing: $(cat "$WORK/slots.err")"
! grep -q "token label *: demo\$" "$WORK/slots.txt" || fail "token demo without a config"
checked="slots"
[ "${SKR_ASAN:-0}" = 1 ] || checked="list slots"
for f in $checked; do
    n=$(grep -c '^skr-pkcs11\[' "$WORK/$f.err" || true)
    [ "$n" = 1 ] && grep -q "absent.conf" "$WORK/$f.err" ||
        fail "$f: expected one log line naming the missing config, got $n: $(cat "$WORK/$f.err")"
done
ok "missing config: one log line, p11-kit skips the module and loads the others"

register "$conf"
list_modules >"$WORK/list.txt" 2>"$WORK/list.err" ||
    fail "p11-kit list-modules: $(cat "$WORK/list.err")"
if [ "${SKR_ASAN:-0}" != 1 ]; then
    awk -v n="$name:" '$1 == n { f = 1; print; next } f && /^[^ \t]/ { f = 0 } f' \
        "$WORK/list.txt" >"$WORK/ours.txt"
    grep -q "^$name: $SKR_MODULE\$" "$WORK/ours.txt" ||
        fail "p11-kit list-modules does not list $name: $(cat "$WORK/list.txt" "$WORK/list.err")"
    grep -q "^ *token: demo\$" "$WORK/ours.txt" ||
        fail "p11-kit lists $name without token demo: $(cat "$WORK/ours.txt" "$WORK/list.err")"
    ok "p11-kit list-modules lists $name from the example module file, with token demo"
fi
p11 pkcs11-tool --module "$proxy" --list-token-slots >"$WORK/slots.txt" 2>&1 ||
    fail "pkcs11-tool with the p11-kit proxy: $(cat "$WORK/slots.txt")"
[ "$(grep -c "token label *: demo\$" "$WORK/slots.txt")" = 1 ] ||
    fail "the p11-kit proxy does not show one token demo: $(cat "$WORK/slots.txt")"
ok "the p11-kit proxy shows token demo"
sign_rsa proxy p11 pkcs11-tool --module "$proxy"
ok "RSA signature through the p11-kit proxy verifies with the public key"
sign_ec proxy p11 pkcs11-tool --module "$proxy"
ok "ECDSA signature through the p11-kit proxy verifies with the public key"
unregister
export SKR_PKCS11_CONF="$conf"

# ---- 2. by path --------------------------------------------------------------------------------
sign_rsa direct pt
sign_ec direct pt
ok "RSA and ECDSA signatures with --module \$SKR_MODULE verify"

# ---- 3. p11-kit server and p11-kit-client.so ---------------------------------------------------
# The server runs in a process group of its own (setsid; env, p11-kit and p11-kit-server exec
# one another, so $! is the server and the group id) and the whole group is stopped at exit:
# the server forks a p11-kit-remote per connection, and under LD_PRELOAD=libasan those hang at
# exit in libp11-kit's destructor (freelocale on glibc's setlocale lock, as list-modules above).
sock="$WORK/p11kit.sock"
setsid env LD_PRELOAD="${SKR_PRELOAD:-}" p11-kit server -f -n "$sock" --provider "$SKR_MODULE" \
    "pkcs11:token=demo" >"$WORK/server.out" 2>"$WORK/server.err" &
srv=$!
stop_server() {
    kill -TERM "-$srv" 2>/dev/null || return 0
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        kill -0 "-$srv" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "-$srv" 2>/dev/null || true
}
on_exit stop_server
# The server loads and initializes the module, then listens; wait for the socket, however long
# the machine takes, unless the server exits.
while [ ! -S "$sock" ]; do
    kill -0 "$srv" 2>/dev/null ||
        fail "p11-kit server exited: $(cat "$WORK/server.out" "$WORK/server.err")"
    sleep 0.1
done
export P11_KIT_SERVER_ADDRESS="unix:path=$sock"
cli() { pkcs11-tool --module "$client" "$@"; }

cli --list-token-slots >"$WORK/slots.txt" 2>&1 || fail "p11-kit-client.so: $(cat "$WORK/slots.txt")"
grep -q "token label *: demo\$" "$WORK/slots.txt" ||
    fail "p11-kit-client.so does not show token demo: $(cat "$WORK/slots.txt")"
sign_rsa server cli
ok "RSA signature through p11-kit server verifies with the public key"
sign_ec server cli
ok "ECDSA signature through p11-kit server verifies with the public key"

printf 'a secret for the released key' >"$WORK/plain"
openssl pkeyutl -encrypt -pubin -inkey "$PUB_RSA" -in "$WORK/plain" -out "$WORK/ct.pkcs1"
openssl pkeyutl -encrypt -pubin -inkey "$PUB_RSA" -pkeyopt rsa_padding_mode:oaep \
    -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in "$WORK/plain" -out "$WORK/ct.oaep"
cli --token-label demo --decrypt -m RSA-PKCS --id "$rsa_id" -i "$WORK/ct.pkcs1" \
    -o "$WORK/pt.pkcs1" >"$WORK/err" 2>&1 || fail "RSA-PKCS decrypt: $(cat "$WORK/err")"
cmp -s "$WORK/plain" "$WORK/pt.pkcs1" || fail "RSA-PKCS decrypt through the server gave other bytes"
cli --token-label demo --decrypt -m RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 \
    --id "$rsa_id" -i "$WORK/ct.oaep" -o "$WORK/pt.oaep" >"$WORK/err" 2>&1 ||
    fail "RSA-PKCS-OAEP decrypt: $(cat "$WORK/err")"
cmp -s "$WORK/plain" "$WORK/pt.oaep" || fail "RSA-OAEP decrypt through the server gave other bytes"
ok "PKCS#1 v1.5 and OAEP (SHA-256) decryption through p11-kit server return the plaintext"

# AES-GCM with demo-aes: by path it must work (the ciphertext is checked against the emulator's
# copy of the key); through p11-kit-client.so, p11-kit 0.24 cannot serialize CK_GCM_PARAMS, so it
# must end in a CK_RV (not a crash, not wrong bytes) and the server must still serve. Should a
# later p11-kit carry GCM, the same ciphertext is required.
cat >"$WORK/gcm.py" <<'EOF'
import sys
import PyKCS11
lib = PyKCS11.PyKCS11Lib()
lib.load(sys.argv[1])
slot = [s for s in lib.getSlotList(tokenPresent=True)
        if lib.getTokenInfo(s).label.strip() == "demo"][0]
sess = lib.openSession(slot)
key = sess.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_SECRET_KEY),
                        (PyKCS11.CKA_LABEL, "demo-aes")])[0]
mech = PyKCS11.AES_GCM_Mechanism(bytes(range(12)), b"skr-pkcs11 aad", 128)
try:
    ct = bytes(sess.encrypt(key, b"AES-GCM through PKCS#11", mech))
except PyKCS11.PyKCS11Error as e:
    print(PyKCS11.CKR.get(e.value, hex(e.value)))
    sys.exit(3)
if len(sys.argv) > 2:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    with open(sys.argv[2], "rb") as f:
        want = AESGCM(f.read()).encrypt(bytes(range(12)), b"AES-GCM through PKCS#11",
                                        b"skr-pkcs11 aad")
    if ct != want:
        print("ciphertext differs from AES-GCM with the vault's key")
        sys.exit(1)
print("ok")
EOF
aeskey="$EMU/keys/demo.demo-aes.bin"
[ -f "$aeskey" ] || fail "the emulator's copy of demo-aes ($aeskey) is missing"
# (ASan: libstdc++ preloaded too, or ASan's __cxa_throw interceptor has no real function for
# PyKCS11's C++ exceptions.)
LD_PRELOAD="${SKR_PRELOAD:+$SKR_PRELOAD libstdc++.so.6}" \
    $PY "$WORK/gcm.py" "$SKR_MODULE" "$aeskey" >"$WORK/gcm.direct" 2>&1 ||
    fail "AES-GCM by path: $(cat "$WORK/gcm.direct")"
ok "AES-GCM encryption with demo-aes by path matches AES-GCM with the vault's key"
rc=0
$PY "$WORK/gcm.py" "$client" "$aeskey" >"$WORK/gcm.client" 2>&1 || rc=$?
case $rc in
0) ok "AES-GCM through p11-kit server matches (this p11-kit's RPC carries CK_GCM_PARAMS)" ;;
3) ok "AES-GCM through p11-kit server fails cleanly: $(cat "$WORK/gcm.client") (no GCM params)" ;;
*) fail "AES-GCM through p11-kit server: exit $rc: $(cat "$WORK/gcm.client")" ;;
esac
kill -0 "$srv" 2>/dev/null || fail "p11-kit server died: $(cat "$WORK/server.err")"
sign_rsa server-after-gcm cli
ok "p11-kit server still signs after the AES-GCM attempt"

if grep -q "AddressSanitizer\|runtime error:" "$WORK/server.err"; then
    fail "the module reported a sanitizer error under p11-kit server: $(cat "$WORK/server.err")"
fi
echo "p11-kit: all checks passed (key path: emulator)"
