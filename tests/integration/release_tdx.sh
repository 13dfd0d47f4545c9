#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Secure Key Release on an Intel TDX CVM, end to end through the module: the test starts the
# emulator with the simulated TDX CVM (`skr-emulator up --cvm tdx`: TD report in the vTPM's HCL
# report, IMDS /acc/tdquote, MAA AzureGuest with IsolationInfo.Type Tdx) and stops it by pid.
#   - skr-tool attest: the verified claims say x-ms-isolation-tee.x-ms-attestation-type = tdxvm
#     with the tdx_* claims and no SEV-SNP ones; the TD quote came from IMDS;
#   - skr-tool policy --measurement pins tdx_mrtd;
#   - pkcs11-tool: demo-rsa and demo-ec (policy examples/policies/any-cvm.json) are released,
#     their signatures verify with openssl against the Key Vault certificates;
#   - demo-nodebug, whose release policy requires sevsnpvm, is not released, and the module's
#     log line names the key and the policy refusal.
set -eu
tool=${1:?skr-tool}
mod=${SKR_MODULE:?}
. "$(dirname "$0")/emu_lib.sh"
p11() { LD_PRELOAD="${SKR_PRELOAD:-}" pkcs11-tool --module "$mod" "$@"; }
skr_tool() { LD_PRELOAD="${SKR_PRELOAD:-}" "$tool" "$@"; }
export TSS2_LOG=all+none

emu_up --cvm tdx
[ "$SKR_EMU_CVM" = tdx ] || fail "the emulator did not simulate a TDX CVM (SKR_EMU_CVM=$SKR_EMU_CVM)"

# ---- skr-tool attest: a tdxvm token ----------------------------------------------------------
skr_tool attest >"$work/claims.json" 2>"$work/attest.log" ||
    fail "skr-tool attest: $(cat "$work/attest.log")"
$py - "$work/claims.json" <<'EOF' || fail "skr-tool attest claims are not those of a TDX CVM"
import json, sys
c = json.load(open(sys.argv[1]))
tee = c["x-ms-isolation-tee"]
problems = []
if c.get("x-ms-attestation-type") != "azurevm":
    problems.append("x-ms-attestation-type %r" % c.get("x-ms-attestation-type"))
if tee.get("x-ms-attestation-type") != "tdxvm":
    problems.append("x-ms-isolation-tee.x-ms-attestation-type %r" % tee.get("x-ms-attestation-type"))
if tee.get("x-ms-compliance-status") != "azure-compliant-cvm":
    problems.append("compliance %r" % tee.get("x-ms-compliance-status"))
for k in ("tdx_mrtd", "tdx_mrseam", "tdx_report_data", "tdx_tee_tcb_svn", "tdx_td_attributes"):
    if not isinstance(tee.get(k), str) or not tee[k]:
        problems.append("no %s" % k)
if tee.get("tdx_report_data", "")[64:] != "0" * 64:
    problems.append("tdx_report_data is not SHA-256 || zeros")
if [k for k in tee if k.startswith("x-ms-sevsnpvm")]:
    problems.append("SEV-SNP claims in a TDX token")
if c["x-ms-runtime"]["keys"][0]["kid"] != "TpmEphemeralEncryptionKey":
    problems.append("no ephemeral key in x-ms-runtime")
for p in problems:
    print("claims: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
[ "$(counter imds-tdquote)" -ge 1 ] || fail "the TD quote was not fetched from IMDS /acc/tdquote"
[ "$(counter imds-thim)" = 0 ] || fail "a TDX CVM fetched the SEV-SNP VCEK chain from THIM"

skr_tool policy --measurement >"$work/policy.json" 2>"$work/policy.log" ||
    fail "skr-tool policy --measurement: $(cat "$work/policy.log")"
mrtd=$($py -c 'import json,sys; print(json.load(open(sys.argv[1]))["x-ms-isolation-tee"]["tdx_mrtd"])' \
    "$work/claims.json")
$py - "$work/policy.json" "$mrtd" <<'EOF' || fail "policy --measurement: $(cat "$work/policy.json")"
import json, sys
p = json.load(open(sys.argv[1]))
conds = {c["claim"]: c["equals"] for c in p["anyOf"][0]["allOf"]}
assert conds["x-ms-isolation-tee.x-ms-attestation-type"] == "tdxvm", conds
assert conds["x-ms-isolation-tee.tdx_mrtd"] == sys.argv[2], conds
EOF

# ---- the module: demo keys released, the SEV-SNP-only key refused -----------------------------
# demo-nodebug's release policy (seed "cvm-nodebug") requires x-ms-isolation-tee.x-ms-attestation-type
# sevsnpvm; it is added to the module's config as an optional key.
cp "$SKR_PKCS11_CONF" "$work/tdx.conf"
printf '\n[key demo-nodebug]\ntoken = demo\nname = demo-nodebug\nrequired = no\n' >>"$work/tdx.conf"
export SKR_PKCS11_CONF="$work/tdx.conf"

SKR_PKCS11_LOG=warn p11 --list-objects --type privkey >"$work/priv.txt" 2>"$work/log.txt" ||
    fail "C_Initialize/list failed on the TDX CVM: $(cat "$work/log.txt")"
p11 --list-objects --type pubkey >"$work/pub.txt" 2>/dev/null || fail "list public keys"
for k in demo-rsa demo-ec; do
    grep -q "label: *$k\$" "$work/priv.txt" || fail "no private key $k on the TDX CVM"
done
grep -q "label: *demo-nodebug\$" "$work/pub.txt" || fail "no public key demo-nodebug"
if grep -q "label: *demo-nodebug\$" "$work/priv.txt"; then
    fail "demo-nodebug (policy requires sevsnpvm) was released on a TDX CVM"
fi
grep "demo-nodebug" "$work/log.txt" | grep -q "refused by policy" ||
    fail "the log does not say demo-nodebug was refused by policy: $(cat "$work/log.txt")"
if grep -qi "bearer ey\|access_token" "$work/log.txt"; then fail "a token reached the log"; fi

id_of() { # label: the CKA_ID of that label's private key (pkcs11-tool --sign selects by ID)
    awk -v l="$1" '/^Private Key Object/ { p = 1; next } /^[A-Z]/ { p = 0 }
        p && $1 == "label:" && $2 == l { f = 1 } p && f && $1 == "ID:" { print $2; exit }' \
        "$work/priv.txt"
}
rsa_id=$(id_of demo-rsa)
ec_id=$(id_of demo-ec)
[ -n "$rsa_id" ] && [ -n "$ec_id" ] || fail "no CKA_ID for the private keys"
sign_verify_demo "$rsa_id" "$ec_id"

echo "release on a TDX CVM: all checks passed"
