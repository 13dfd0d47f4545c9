#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Every identity type against the emulator's Entra/IMDS, through the release flow
# (`skr-tool list --release`): a user-assigned managed identity chosen by client-id, a service
# principal with a secret file, with a certificate (client assertion), and an AKS workload
# identity (federated token file) all release the three releasable keys; a managed identity
# without the release permission is refused with 403 Forbidden naming the missing permission;
# an unknown identity fails at the identity stage; a Key Vault and a Managed HSM token are served
# by one attestation. No secret reaches the output.
set -eu
tool=${1:?skr-tool}
. "$(dirname "$0")/emu_lib.sh"

emu_up

# Identity parameters from the emulator's identities.json.
/usr/bin/python3 - "$emu/identities.json" >"$work/ids" <<'PYEOF'
import json, sys
d = {i["name"]: i for i in json.load(open(sys.argv[1]))["identities"]}
print("CVM_ID=%s" % d["cvm"]["client_id"])
print("READER_ID=%s" % d["reader"]["client_id"])
print("APP_ID=%s" % d["app"]["client_id"])
print("APP_SECRET=%s" % d["app"]["secret_file"])
print("APP_PEM=%s" % d["app"]["certificate_file"])
print("AKS_ID=%s" % d["aks"]["client_id"])
print("AKS_TOKEN=%s" % d["aks"]["federated_token_file"])
PYEOF
. "$work/ids"

# The emulator's config with the [identity] type/client lines replaced by $2.
mkconf() {
    awk -v repl="$2" '
        /^\[identity\]/ { print; printf "%s\n", repl; inid = 1; next }
        /^\[/ { inid = 0 }
        inid && /^(type|client-id|client-secret-file|client-certificate|federated-token-file)[ =]/ { next }
        { print }' "$SKR_PKCS11_CONF" >"$work/$1.conf"
}
run() { LD_PRELOAD="${SKR_PRELOAD:-}" "$tool" list --release --config "$work/$1.conf" >"$work/out" 2>&1; }

mkconf mi "type = managed-identity
client-id = $CVM_ID"
mkconf sp_secret "type = service-principal
client-id = $APP_ID
client-secret-file = $APP_SECRET"
mkconf sp_cert "type = service-principal
client-id = $APP_ID
client-certificate = $APP_PEM"
mkconf wi "type = workload-identity
client-id = $AKS_ID
federated-token-file = $AKS_TOKEN"
mkconf reader "type = managed-identity
client-id = $READER_ID"
mkconf unknown "type = managed-identity
client-id = 00000000-1111-2222-3333-444444444444"

for c in mi sp_secret sp_cert wi; do
    run "$c" || fail "$c: release failed"
    [ "$(grep -c 'state=released' "$work/out")" = 3 ] || fail "$c: expected 3 released keys"
    if grep -q "$(cat "$APP_SECRET")" "$work/out"; then fail "$c: secret in output"; fi
done
if run reader; then fail "reader: release accepted"; fi
grep "demo-rsa" "$work/out" | grep -q "HTTP 403 Forbidden: .*does not have keys release permission" ||
    fail "reader: 403 reason missing"
grep -q "public=yes" "$work/out" || fail "reader: public metadata missing"
if run unknown; then fail "unknown identity accepted"; fi
grep -q "state=failed (identity: key demo-rsa: no bearer token" "$work/out" ||
    fail "unknown identity: identity stage not named"
# Two tokens, a Key Vault and a Managed HSM: two audiences, one attestation, all in parallel.
cp "$SKR_PKCS11_CONF" "$work/two.conf"
printf '\n[token hsm]\nvault = %s\nsource = keyvault\n\n[key hsm-aes]\ntoken = hsm\noct-type = generic-secret\n\n[key hsm-rsa]\ntoken = hsm\n' \
    "$SKR_EMU_MHSM" >>"$work/two.conf"
"$EMULATOR" counters "$emu" reset >/dev/null
run two || fail "Key Vault + Managed HSM"
[ "$(grep -c 'state=released' "$work/out")" = 5 ] || fail "two tokens: expected 5 released keys"
"$EMULATOR" counters "$emu" >"$work/counters"
grep -q '"maa-attest-guest": 1\b' "$work/counters" || fail "two tokens: not one attestation"
echo "release identities: all checks passed"
