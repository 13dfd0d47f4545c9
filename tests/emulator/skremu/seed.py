# SPDX-License-Identifier: Apache-2.0
"""Declarative seed (README "Seed format"): vaults, keys, certificates, identities, CVM fields."""
import copy
import json
import os

from . import policy as pol

# Named policies taken from the shipped examples (examples/policies/*.json, authority replaced
# by the emulator's MAA): "cvm" = any-cvm.json (an AzureGuest token of a compliant SEV-SNP or TDX
# CVM: the demo keys release on both simulated CVMs), "cvm-snp" = sev-snp-cvm.json (SEV-SNP only,
# not debuggable), "cvm-tdx" = tdx-cvm.json (TDX only).
EXAMPLE_POLICIES = {"cvm": "any-cvm.json", "cvm-snp": "sev-snp-cvm.json",
                    "cvm-tdx": "tdx-cvm.json"}
EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))), "examples", "policies")

NAMED_POLICIES = {
    # SEV-SNP only (§g canonical CVM policy) and the SNP guest must not be debuggable
    "cvm-nodebug": [{"claim": "x-ms-isolation-tee.x-ms-attestation-type", "equals": "sevsnpvm"},
                    {"claim": "x-ms-isolation-tee.x-ms-compliance-status",
                     "equals": "azure-compliant-cvm"},
                    {"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable", "equals": False}],
    # releasable only to a debuggable guest (the default CVM is not): refusal test
    "deny-debug": [{"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable", "equals": True}],
}


class SeedError(ValueError):
    pass


def default_path():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "seed-default.json")


def load(path=None):
    with open(path or default_path(), encoding="utf-8") as f:
        data = json.load(f)
    validate(data)
    return data


def validate(data):
    if not isinstance(data.get("vaults"), list) or not data["vaults"]:
        raise SeedError("seed: 'vaults' must be a non-empty list")
    names = set()
    for v in data["vaults"]:
        if v.get("kind", "vault") not in ("vault", "managedhsm"):
            raise SeedError("seed: vault kind must be vault or managedhsm")
        names.add(v["name"])
    for k in data.get("keys", []):
        if k.get("vault") not in names:
            raise SeedError("seed: key %r names an unknown vault" % k.get("name"))
        if k.get("kty") not in ("RSA", "RSA-HSM", "EC", "EC-HSM", "oct", "oct-HSM"):
            raise SeedError("seed: key %r has an unsupported kty" % k.get("name"))
        if k.get("certificate") and k["kty"].startswith("oct"):
            raise SeedError("seed: oct keys cannot have a certificate")
    for i in data.get("identities", []):
        if i.get("type") not in ("managed-identity", "service-principal", "workload-identity"):
            raise SeedError("seed: identity %r has an unknown type" % i.get("name"))
        for field in ("client_id", "object_id"):
            if not i.get(field):
                raise SeedError("seed: identity %r needs %s" % (i.get("name"), field))


def _subst(obj, maa_url):
    if isinstance(obj, str):
        return obj.replace("${MAA}", maa_url)
    if isinstance(obj, list):
        return [_subst(x, maa_url) for x in obj]
    if isinstance(obj, dict):
        return {k: _subst(v, maa_url) for k, v in obj.items()}
    return obj


def example_policy(name, maa_url):
    """examples/policies/<EXAMPLE_POLICIES[name]> with every authority set to `maa_url`."""
    path = os.path.join(EXAMPLES_DIR, EXAMPLE_POLICIES[name])
    try:
        with open(path, encoding="utf-8") as f:
            p = json.load(f)
    except (OSError, ValueError) as exc:
        raise SeedError("seed: named policy %r: cannot read %s: %s" % (name, path, exc)) \
            from None
    for auth in p.get("anyOf", []):
        auth["authority"] = maa_url
    return p


def key_policy(spec, maa_url):
    """The normalised policy of a seeded key: a named policy, an inline one (${MAA} = the
    emulator's MAA URL), or None."""
    p = spec.get("policy")
    if p is None:
        return None
    if isinstance(p, str) and p in EXAMPLE_POLICIES:
        return pol.normalize(example_policy(p, maa_url))
    if isinstance(p, str):
        if p not in NAMED_POLICIES:
            raise SeedError("seed: unknown named policy %r (known: %s)"
                            % (p, ", ".join(list(EXAMPLE_POLICIES) + list(NAMED_POLICIES))))
        p = {"version": "1.0.0",
             "anyOf": [{"authority": maa_url, "allOf": copy.deepcopy(NAMED_POLICIES[p])}]}
    return pol.normalize(_subst(p, maa_url))
