# SPDX-License-Identifier: Apache-2.0
"""Session fixture: one `skr-emulator up` into a temp dir for all tests, `down` at the end."""
import json
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from skremu import client, jose  # noqa: E402

SHARED = os.environ.get("SKR_SHARED_DIR") or os.path.join(ROOT, "..", "..", "..", "shared")
FIXTURES = os.path.join(SHARED, "fixtures", "azure")
VAULT_RESOURCE = "https://vault.azure.net"
MHSM_RESOURCE = "https://managedhsm.azure.net"


def fixture_path(name):
    return os.path.join(FIXTURES, name)


def load_recording(name):
    with open(fixture_path(name), encoding="utf-8") as f:
        return json.load(f)


def read_env(directory):
    env = {}
    with open(os.path.join(directory, "env"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("export "):
                k, v = line.split("=", 1)
                env[k] = v[1:-1] if v.startswith("'") else v
    return env


class Emu:
    def __init__(self, directory):
        self.dir = str(directory)
        self.env = read_env(self.dir)
        self.ca = self.env["SKR_EMU_CA"]
        with open(self.env["SKR_EMU_IDENTITIES"], encoding="utf-8") as f:
            ids = json.load(f)
        self.tenant = ids["tenant"]
        self.identities = {i["name"]: i for i in ids["identities"]}

    # ---- raw HTTP ------------------------------------------------------------------------
    def req(self, url, method="GET", body=None, headers=None, form=None, timeout=30):
        return client.request(url, method, body, headers, self.ca, timeout, form)

    def admin(self, method, path, body=None):
        r = self.req(self.env["SKR_EMU_ADMIN"] + path, method, body)
        assert r.status == 200, r
        return r.json()

    # ---- faults and counters --------------------------------------------------------------
    def fault(self, endpoint, kind, **kw):
        body = {"endpoint": endpoint, "kind": kind}
        body.update(kw)
        return self.admin("POST", "/faults", body)

    def clear_faults(self):
        return self.admin("DELETE", "/faults")

    def counters(self):
        return self.admin("GET", "/counters")["counters"]

    def reset_counters(self):
        self.admin("DELETE", "/counters")

    # ---- identity ----------------------------------------------------------------------------
    def imds_token(self, resource=VAULT_RESOURCE, **selectors):
        q = "api-version=2018-02-01&resource=" + client.urllib.parse.quote(resource, safe="")
        for k, v in selectors.items():
            q += "&%s=%s" % (k, client.urllib.parse.quote(v, safe=""))
        r = self.req(self.env["SKR_EMU_IMDS"] + "/metadata/identity/oauth2/token?" + q,
                     headers={"Metadata": "true"})
        assert r.status == 200, r
        return r.json()["access_token"]

    # ---- Key Vault ---------------------------------------------------------------------------
    def kv(self, method, path, body=None, token=None, base=None, api="7.4", auth=True):
        base = base or self.env["SKR_EMU_VAULT"]
        headers = {}
        if auth:
            if token is None:
                resource = MHSM_RESOURCE if "managedhsm" in base else VAULT_RESOURCE
                token = self.imds_token(resource)
            headers["Authorization"] = "Bearer " + token
        sep = "&" if "?" in path else "?"
        url = base + path + (sep + "api-version=" + api if api else "")
        return self.req(url, method, body, headers)

    def release(self, name, target, enc=None, version=None, token=None, base=None, api="7.4",
                nonce=None):
        body = {"target": target}
        if enc:
            body["enc"] = enc
        if nonce is not None:
            body["nonce"] = nonce
        path = "/keys/%s%s/release" % (name, "/" + version if version else "")
        return self.kv("POST", path, body, token=token, base=base, api=api)

    def private(self, vault, name):
        return self.admin("GET", "/keys/%s/%s" % (vault, name))["versions"][-1]

    # ---- MAA ---------------------------------------------------------------------------------
    def maa_token(self, claims):
        return self.admin("POST", "/maa/token", {"claims": claims})["token"]

    def cvm_report(self, **snp):
        return self.admin("POST", "/cvm/report", {"snp": snp})


@pytest.fixture(scope="session")
def emu(tmp_path_factory):
    d = tmp_path_factory.mktemp("skr-emu")
    exe = os.path.join(ROOT, "skr-emulator")
    subprocess.run([exe, "up", str(d)], check=True, stdout=subprocess.DEVNULL)
    try:
        yield Emu(d)
    finally:
        subprocess.run([exe, "down", str(d)], check=False)


@pytest.fixture(autouse=True)
def _clean_faults(request):
    yield
    if "emu" in request.fixturenames:
        emu = request.getfixturevalue("emu")
        emu.clear_faults()


def wait_until(fn, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        if fn():
            return True
        time.sleep(0.05)
    return False


__all__ = ["Emu", "jose", "fixture_path", "load_recording", "wait_until"]
