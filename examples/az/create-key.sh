#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The Azure CLI commands that prepare Secure Key Release for skr-pkcs11: an exportable HSM key with
# a release policy, in a Premium Key Vault (access policies) or in a Managed HSM (local RBAC), and
# the confidential VM's managed identity allowed to read and release it.
#
# Read it before running it: it creates billable resources. A Managed HSM is billed per hour from
# creation and must be activated with a security domain (quorum of your own RSA keys) before it
# holds keys. Set the variables below; every command is idempotent only as far as az is.
#
# Usage: RG=my-rg LOCATION=eastus VM=my-cvm VAULT=my-vault [HSM=my-hsm] sh create-key.sh
set -eu
: "${RG:?resource group}" "${LOCATION:?region, e.g. eastus}" "${VM:?confidential VM name}"
: "${VAULT:?Key Vault name (Premium)}"
KEY=${KEY:-demo-rsa}                      # key name = the [key NAME] section of skr-pkcs11.conf
EC_KEY=${EC_KEY:-demo-ec}
POLICY=${POLICY:-$(dirname "$0")/../policies/sev-snp-cvm.json}   # edit its "authority" first

# 1. Give the confidential VM a system-assigned managed identity (no-op if it has one) and read
#    its object (principal) id: Key Vault grants permissions to that id.
az vm identity assign --resource-group "$RG" --name "$VM"
OID=$(az vm show --resource-group "$RG" --name "$VM" --query identity.principalId --output tsv)

# ---- Premium Key Vault (access-policy permission model) ---------------------------------------
# 2. A Premium vault: Standard vaults have no HSM-backed keys, and only -HSM keys are exportable.
#    --enable-rbac-authorization false selects the access-policy model used in step 3.
az keyvault create --name "$VAULT" --resource-group "$RG" --location "$LOCATION" \
    --sku premium --enable-rbac-authorization false

# 3. The VM's identity may read the key (the module publishes its public part as objects before
#    release) and release it (Key Vault still evaluates the release policy on every release).
az keyvault set-policy --name "$VAULT" --object-id "$OID" --key-permissions get release

# 4. An exportable RSA-2048 HSM key with the release policy attached. Exportable keys must be
#    -HSM and must carry a policy; the policy names the MAA instance (authority) and the claims
#    of the CVM's attestation token (see ../policies/README.md).
az keyvault key create --vault-name "$VAULT" --name "$KEY" --kty RSA-HSM --size 2048 \
    --exportable true --policy "$POLICY"

# 5. The same for a P-256 EC key (ECDSA, ECDH).
az keyvault key create --vault-name "$VAULT" --name "$EC_KEY" --kty EC-HSM --curve P-256 \
    --exportable true --policy "$POLICY"

# ---- Managed HSM (local RBAC permission model) ------------------------------------------------
if [ -n "${HSM:-}" ]; then
    ME=$(az ad signed-in-user show --query id --output tsv)

    # 6. The Managed HSM pool, with you as its first local administrator. Creation takes a while;
    #    the pool must then be activated: `az keyvault security-domain download --hsm-name "$HSM"
    #    --sd-wrapping-keys k1.cer k2.cer k3.cer --sd-quorum 2 --security-domain-file sd.json`
    #    (three RSA key pairs you generate and keep offline). Keep sd.json and the keys safe.
    az keyvault create --hsm-name "$HSM" --resource-group "$RG" --location "$LOCATION" \
        --administrators "$ME" --retention-days 7

    # 7. You need a crypto role to create keys in the pool (administrators manage roles only).
    az keyvault role assignment create --hsm-name "$HSM" --role "Managed HSM Crypto User" \
        --assignee-object-id "$ME" --scope /keys

    # 8. The exportable key with its release policy, as in step 4.
    az keyvault key create --hsm-name "$HSM" --name "$KEY" --kty RSA-HSM --size 2048 \
        --exportable true --policy "$POLICY"

    # 9. The VM's identity may release this key ("Managed HSM Crypto Service Release User",
    #    data action keys/release) and read its public part ("Managed HSM Crypto Auditor"),
    #    both scoped to this one key.
    az keyvault role assignment create --hsm-name "$HSM" \
        --role "Managed HSM Crypto Service Release User" \
        --assignee-object-id "$OID" --scope "/keys/$KEY"
    az keyvault role assignment create --hsm-name "$HSM" --role "Managed HSM Crypto Auditor" \
        --assignee-object-id "$OID" --scope "/keys/$KEY"
fi

# 10. Check what Key Vault stored (it normalises the policy: `equals` values become strings).
az keyvault key show --vault-name "$VAULT" --name "$KEY" --query release_policy
