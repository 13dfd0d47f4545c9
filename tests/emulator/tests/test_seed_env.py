# SPDX-License-Identifier: Apache-2.0
"""`up` writes DIR/env and the module configuration the issue asks for; a custom declarative seed
(vaults, keys, certificates, identities and their permissions, CVM report fields) is what the
emulator then serves."""
import configparser
import json
import os
import subprocess
import sys
import urllib.parse

import pytest

from conftest import Emu
from helpers import cvm_claims, decode_jws
from skremu import guest, hcl, jose, snp

HERE = os.path.dirname(os.path.abspath(__file__))
EXE = os.path.join(os.path.dirname(HERE), "skr-emulator")
GUARD = 600         # only so that a regression fails instead of hanging the suite

ENV_VARS = ("SKR_EMU_DIR", "SKR_EMU_IMDS", "SKR_EMU_MAA", "SKR_EMU_VAULT", "SKR_EMU_MHSM",
            "SKR_EMU_LOGIN", "SKR_EMU_TENANT", "SKR_EMU_ADMIN", "SKR_EMU_CA", "SKR_EMU_TCTI",
            "SKR_EMU_CVM", "SKR_EMU_IDENTITIES", "SKR_PKCS11_CONF", "SKR_EMU_PIDS")


def _sourced(directory):
    """The environment a POSIX shell gets from `. DIR/env` (what users and scripts do)."""
    out = subprocess.run(["sh", "-c", '. "$1/env" && env -0', "sh", directory],
                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                         check=True, capture_output=True).stdout
    return dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)


def test_env_file_is_shell_sourceable_and_complete(emu):
    env = _sourced(emu.dir)
    for var in ENV_VARS:
        assert var in env, var
        assert env[var] == emu.env[var], var
    assert env["SKR_EMU_DIR"] == emu.dir and env["SKR_EMU_CVM"] == "snp"
    ports = {}
    for var in ("SKR_EMU_IMDS", "SKR_EMU_ADMIN", "SKR_EMU_MAA", "SKR_EMU_VAULT", "SKR_EMU_MHSM",
                "SKR_EMU_LOGIN"):
        u = urllib.parse.urlsplit(env[var])
        assert u.hostname == "127.0.0.1" or u.hostname.endswith(".skr.localhost"), var
        assert u.scheme == ("http" if var in ("SKR_EMU_IMDS", "SKR_EMU_ADMIN") else "https")
        ports[var] = u.port
    # one port per service; Key Vault and Managed HSM share one (told apart by Host)
    assert ports["SKR_EMU_VAULT"] == ports["SKR_EMU_MHSM"]
    del ports["SKR_EMU_MHSM"]
    assert len(set(ports.values())) == len(ports)
    assert env["SKR_EMU_TCTI"].startswith("swtpm:host=127.0.0.1,port=")
    with open(env["SKR_EMU_CA"], encoding="ascii") as f:
        assert f.read().startswith("-----BEGIN CERTIFICATE-----")
    pids = [int(p) for p in env["SKR_EMU_PIDS"].split()]
    assert len(pids) == 3 and all(os.path.exists("/proc/%d" % p) for p in pids)
    with open(env["SKR_EMU_IDENTITIES"], encoding="utf-8") as f:
        assert json.load(f)["tenant"] == env["SKR_EMU_TENANT"]


def test_module_config_matches_the_seeded_vault(emu):
    conf = configparser.ConfigParser(comment_prefixes=(";", "#"), interpolation=None)
    conf.read(emu.env["SKR_PKCS11_CONF"])
    env = emu.env
    assert conf["module"]["ca-file"] == env["SKR_EMU_CA"]
    att = conf["attestation"]
    assert (att["provider"], att["maa-endpoint"], att["tcti"], att["pcrs"],
            att["imds-endpoint"]) == ("azure-cvm-vtpm", env["SKR_EMU_MAA"], env["SKR_EMU_TCTI"],
                                      "0-7", env["SKR_EMU_IMDS"])
    ident = conf["identity"]
    assert (ident["type"], ident["authority-host"], ident["tenant-id"]) == \
        ("managed-identity", env["SKR_EMU_LOGIN"], env["SKR_EMU_TENANT"])
    tok = conf["token demo"]
    assert (tok["label"], tok["vault"], tok["source"]) == ("demo", env["SKR_EMU_VAULT"],
                                                           "keyvault")
    keys = {s.split(" ", 1)[1]: conf[s] for s in conf.sections() if s.startswith("key ")}
    assert set(keys) == {"demo-rsa", "demo-ec", "demo-aes", "demo-denied", "demo-nonexportable"}
    in_vault = {k["kid"].rsplit("/", 1)[1] for k in emu.kv("GET", "/keys").json()["value"]}
    assert set(keys) <= in_vault
    for name, sec in keys.items():
        assert sec["token"] == "demo" and sec["name"] == name
        if "certificate" in sec:
            assert emu.kv("GET", "/certificates/" + sec["certificate"]).status == 200
    assert keys["demo-rsa"]["certificate"] == "demo-rsa"
    assert keys["demo-ec"]["certificate"] == "demo-ec"
    assert keys["demo-aes"]["oct-type"] == "aes"
    assert [n for n, s in sorted(keys.items()) if s["required"] == "yes"] == \
        ["demo-aes", "demo-ec", "demo-rsa"]


def test_default_seed_keys(emu):
    """The default seed of the issue: demo-rsa (RSA-2048) and demo-ec (P-256) with certificates,
    demo-aes (oct-HSM 256), all releasable to the CVM policy; demo-denied; demo-nonexportable."""
    def bundle(name):
        r = emu.kv("GET", "/keys/" + name)
        assert r.status == 200, r
        return r.json()
    rsa = bundle("demo-rsa")
    assert rsa["key"]["kty"] == "RSA-HSM" and len(jose.b64url_decode(rsa["key"]["n"])) == 256
    assert bundle("demo-ec")["key"]["crv"] == "P-256"
    assert len(jose.b64url_decode(emu.private("demo", "demo-aes")["k"])) == 32
    for name in ("demo-rsa", "demo-ec", "demo-aes", "demo-denied"):
        b = bundle(name)
        assert b["attributes"]["exportable"] is True and "release_policy" in b, name
    assert bundle("demo-nonexportable")["attributes"]["exportable"] is False
    for name in ("demo-rsa", "demo-ec"):
        assert emu.kv("GET", "/certificates/" + name).status == 200
    policy = json.loads(jose.b64url_decode(bundle("demo-rsa")["release_policy"]["data"]))
    assert policy["anyOf"][0]["authority"].rstrip("/") == emu.env["SKR_EMU_MAA"]


SEED = {
    "tenant": "0b5e8f1c-1111-4222-8333-944455556666",
    "vaults": [{"name": "alpha", "kind": "vault"}, {"name": "beta", "kind": "managedhsm"}],
    "keys": [
        {"vault": "alpha", "name": "a-ec", "kty": "EC-HSM", "curve": "P-384", "exportable": True,
         "policy": {"version": "1.0.0", "anyOf": [{"authority": "${MAA}", "allOf": [
             {"claim": "x-ms-isolation-tee.x-ms-sevsnpvm-is-debuggable", "equals": True}]}]},
         "certificate": True},
        {"vault": "alpha", "name": "a-rsa", "kty": "RSA-HSM", "size": 3072, "exportable": True,
         "policy": "cvm"},
        {"vault": "alpha", "name": "a-sealed", "kty": "oct-HSM", "size": 128,
         "exportable": False},
        {"vault": "beta", "name": "b-aes", "kty": "oct-HSM", "size": 192, "exportable": True,
         "policy": "cvm"},
    ],
    "identities": [
        {"name": "box", "type": "managed-identity", "system_assigned": True,
         "client_id": "11111111-0000-4000-8000-000000000001",
         "object_id": "11111111-0000-4000-8000-000000000002",
         "msi_res_id": "/subscriptions/0/resourcegroups/r/providers/"
                       "Microsoft.ManagedIdentity/userAssignedIdentities/box",
         "permissions": {"alpha": ["get", "release"]}},
        {"name": "svc", "type": "service-principal", "secret": "generate",
         "client_id": "22222222-0000-4000-8000-000000000001",
         "object_id": "22222222-0000-4000-8000-000000000002",
         "permissions": {"beta": ["all"]}},
    ],
    "cvm": {"snp": {"debug": True, "measurement": "5a" * 48,
                    "reported_tcb": {"bootloader": 2, "tee": 0, "snp": 7, "microcode": 100}}},
}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    d = tmp_path_factory.mktemp("skr-emu-seed")
    path = str(d / "seed.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(SEED, f)
    emu_dir = str(d / "emu")
    subprocess.run([sys.executable, EXE, "up", emu_dir, "--seed", path], check=True,
                   timeout=GUARD, stdout=subprocess.DEVNULL)
    try:
        yield Emu(emu_dir)
    finally:
        subprocess.run([sys.executable, EXE, "down", emu_dir], check=False, timeout=GUARD)


def test_seed_vaults_keys_and_certificates(seeded):
    e = seeded
    assert e.tenant == SEED["tenant"] and e.env["SKR_EMU_TENANT"] == SEED["tenant"]
    assert e.env["SKR_EMU_VAULT"].startswith("https://alpha.vault.skr.localhost:")
    assert e.env["SKR_EMU_MHSM"].startswith("https://beta.managedhsm.skr.localhost:")
    vaults = e.admin("GET", "/info")["vaults"]
    assert {n: (v["kind"], v["keys"]) for n, v in vaults.items()} == {
        "alpha": ("vault", ["a-ec", "a-rsa", "a-sealed"]), "beta": ("managedhsm", ["b-aes"])}
    ec_key = e.kv("GET", "/keys/a-ec").json()
    assert ec_key["key"]["kty"] == "EC-HSM" and ec_key["key"]["crv"] == "P-384"
    rsa_key = e.kv("GET", "/keys/a-rsa").json()
    assert len(jose.b64url_decode(rsa_key["key"]["n"])) == 384
    sealed = e.kv("GET", "/keys/a-sealed").json()
    assert sealed["attributes"]["exportable"] is False and "release_policy" not in sealed
    assert len(jose.b64url_decode(e.private("alpha", "a-sealed")["k"])) == 16
    assert e.kv("GET", "/certificates/a-ec").json()["kid"] == ec_key["key"]["kid"]
    assert e.kv("GET", "/certificates/a-rsa").status == 404
    tok = e.imds_token("https://managedhsm.azure.net",
                       client_id=SEED["identities"][0]["client_id"])
    assert e.kv("GET", "/keys/b-aes", token=tok, base=e.env["SKR_EMU_MHSM"]).status == 403


def test_seed_identities_and_permissions(seeded):
    e = seeded
    box = e.identities["box"]
    assert box["type"] == "managed-identity" and box["system_assigned"] is True
    assert e.kv("GET", "/keys/a-rsa").status == 200          # system-assigned MI: get
    r = e.kv("GET", "/keys")                                  # ... but not list
    assert r.status == 403 and r.json()["error"]["innererror"] == {"code": "AccessDenied"}
    svc = e.identities["svc"]
    with open(svc["secret_file"], encoding="utf-8") as f:
        form = {"client_id": svc["client_id"], "client_secret": f.read(),
                "grant_type": "client_credentials",
                "scope": "https://managedhsm.azure.net/.default"}
    r = e.req("%s/%s/oauth2/v2.0/token" % (e.env["SKR_EMU_LOGIN"], e.tenant), "POST", form=form)
    assert r.status == 200, r
    tok = r.json()["access_token"]
    assert jose.split(tok)[1]["oid"] == svc["object_id"]
    assert e.kv("GET", "/keys", token=tok, base=e.env["SKR_EMU_MHSM"]).status == 200  # "all"
    maa = e.maa_token(cvm_claims(e.env["SKR_EMU_MAA"]))
    assert e.release("b-aes", maa, token=tok, base=e.env["SKR_EMU_MHSM"]).status == 200
    assert e.release("a-rsa", maa).status == 200              # box has release on alpha
    assert e.release("a-sealed", maa).status == 400           # not exportable


def test_seed_cvm_fields_reach_the_report_and_the_release(seeded):
    """cvm.snp of the seed: a debuggable CVM with another measurement and TCB, attested through
    MAA (THIM serves the VCEK of that TCB) and released a key whose policy wants a debug CVM."""
    e = seeded
    thim = e.req(e.env["SKR_EMU_IMDS"] + "/metadata/THIM/amd/certification",
                 headers={"Metadata": "true"}).json()
    assert thim["tcbm"] == "6407000000000002"
    rep = hcl.parse(guest.read_hcl_report(e.env["SKR_EMU_TCTI"]))
    claims = snp.snp_claims(rep.hw_raw)
    assert claims["x-ms-sevsnpvm-is-debuggable"] is True
    assert claims["x-ms-sevsnpvm-launchmeasurement"] == "5a" * 48
    info, eph = guest.build_attestation_info(e.env["SKR_EMU_TCTI"], thim, nonce="seed")
    r = e.req(e.env["SKR_EMU_MAA"] + "/attest/AzureGuest?api-version=2020-10-01", "POST",
              guest.attestation_request_body(info))
    assert r.status == 200, r
    jwt = guest.decrypt_envelope(e.env["SKR_EMU_TCTI"], eph, r.json()["token"])
    tee = decode_jws(jwt)[1]["x-ms-isolation-tee"]
    assert tee["x-ms-sevsnpvm-bootloader-svn"] == 2 and tee["x-ms-sevsnpvm-snpfw-svn"] == 7
    r = e.release("a-ec", jwt, enc="RSA_AES_KEY_WRAP_384")
    assert r.status == 200, r
    key = decode_jws(r.json()["value"])[1]["response"]["key"]["key"]
    plain = guest.tpm_unwrap_key_hsm(e.env["SKR_EMU_TCTI"], eph, key["key_hsm"])
    from helpers import check_released
    check_released(plain, key, e.private("alpha", "a-ec"))
