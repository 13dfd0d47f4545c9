#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""skr-tool attest / policy / doctor against the emulator and its simulated CVM (swtpm):
the verified claims are the ones of an SNP CVM and bind the TPM ephemeral key; a transient
MAA 503 is retried; a bad signature, wrong issuer or expired token is refused; a TPM that
cannot be reached fails at stage evidence."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

SRC = os.environ["SKR_SOURCE_DIR"]
TOOL = os.path.join(os.environ["SKR_BUILD_DIR"], "tools", "skr-tool")
EMU = os.path.join(SRC, "tests", "emulator", "skr-emulator")


def read_env(d):
    env = {}
    with open(os.path.join(d, "env"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("export "):
                k, v = line.split("=", 1)
                env[k] = v.strip("'")
    return env


def tool(env, *args, conf=None):
    e = dict(os.environ)
    e.update(env)
    if conf:
        e["SKR_PKCS11_CONF"] = conf
    return subprocess.run([TOOL, *args], env=e, capture_output=True, text=True, timeout=300)


def counter(d, name):
    out = subprocess.run([EMU, "counters", d], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["counters"].get(name, 0)


def fault(d, *kv):
    subprocess.run([EMU, "fault", d, *kv], check=True, capture_output=True)


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)
    print("ok:", what)


def check_claims(env, claims):
    tee = claims["x-ms-isolation-tee"]
    check(claims["iss"] == env["SKR_EMU_MAA"], "issuer is the configured MAA")
    check(tee["x-ms-attestation-type"] == "sevsnpvm", "attestation type sevsnpvm")
    check(tee["x-ms-compliance-status"] == "azure-compliant-cvm", "compliance status")
    check(claims["x-ms-azurevm-attested-pcrs"] == list(range(8)), "attested PCRs 0-7")
    keys = claims["x-ms-runtime"]["keys"]
    check(any(k["kid"] == "TpmEphemeralEncryptionKey" and k["kty"] == "RSA" for k in keys),
          "top-level x-ms-runtime has the TPM ephemeral key")
    check(claims["exp"] > time.time(), "token not expired")


def conf_variant(d, env, name, pattern, repl):
    conf = os.path.join(d, name)
    with open(env["SKR_PKCS11_CONF"], encoding="utf-8") as f:
        text = f.read()
    with open(conf, "w", encoding="utf-8") as f:
        f.write(re.sub(pattern, repl, text, flags=re.M))
    return conf


def test_nonce(d, env):
    conf = conf_variant(d, env, "nonce.conf", r"^(imds-endpoint = .*)$", r"\1\nnonce = ADE0101")
    r = tool(env, "attest", conf=conf)
    check(r.returncode == 0, "attest with a ClientPayload nonce")
    cp = json.loads(r.stdout)["x-ms-runtime"]["client-payload"]
    check(cp == {"nonce": "QURFMDEwMQ=="}, "client payload echoed as b64 of the nonce")


def test_refusals(d, env):
    for kind in ("bad-signature", "wrong-issuer", "expired"):
        fault(d, "endpoint=maa-attest-guest", "kind=" + kind, "count=1")
        r = tool(env, "attest")
        check(r.returncode == 1 and "token-verify" in r.stderr,
              "token with %s refused at token-verify" % kind)
        fault(d, "clear")


def test_evidence_failure(d, env):
    # port 1 on loopback: nobody listens there
    conf = conf_variant(d, env, "bad-tcti.conf", r"^tcti = .*$", "tcti = swtpm:host=127.0.0.1,port=1")
    r = tool(env, "attest", conf=conf)
    check(r.returncode == 1 and "evidence" in r.stderr, "unreachable TPM fails at evidence")
    r = tool(env, "doctor", conf=conf)
    check(r.returncode == 1 and re.search(r"^evidence\s+FAIL", r.stdout, re.M),
          "doctor reports the evidence failure")


def main():
    d = tempfile.mkdtemp(prefix="skr-attest-")
    subprocess.run([EMU, "up", d], check=True, capture_output=True, timeout=300)
    try:
        env = read_env(d)
        before = counter(d, "maa-attest-guest")
        r = tool(env, "attest")
        check(r.returncode == 0, "skr-tool attest succeeds: " + r.stderr[-500:])
        check_claims(env, json.loads(r.stdout))
        check(counter(d, "maa-attest-guest") == before + 1, "one MAA request per attestation")
        test_nonce(d, env)

        before = counter(d, "maa-attest-guest")
        helper = os.path.join(os.environ["SKR_BUILD_DIR"], "tests", "integration",
                              "kr_attest_threads")
        e = dict(os.environ)
        e.update(env)
        r = subprocess.run([helper], env=e, capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, "8 threads share the unwrapper; key re-created after release: "
              + r.stdout + r.stderr[-500:])
        check(counter(d, "maa-attest-guest") == before + 1, "the token is cached: one attestation")

        fault(d, "endpoint=maa-attest-guest", "kind=503", "count=1")
        r = tool(env, "attest", "--jwt")
        check(r.returncode == 0 and r.stdout.strip().count(".") == 2,
              "a transient 503 is retried; --jwt prints a compact JWT")
        fault(d, "clear")

        test_refusals(d, env)

        r = tool(env, "policy", "--measurement")
        check(r.returncode == 0, "skr-tool policy succeeds")
        pol = json.loads(r.stdout)
        auth = pol["anyOf"][0]
        claims = {c["claim"]: c["equals"] for c in auth["allOf"]}
        check(pol["version"] == "1.0.0" and auth["authority"] == env["SKR_EMU_MAA"],
              "policy names the configured MAA")
        check(claims.get("x-ms-isolation-tee.x-ms-attestation-type") == "sevsnpvm" and
              claims.get("x-ms-isolation-tee.x-ms-compliance-status") == "azure-compliant-cvm"
              and len(claims.get("x-ms-isolation-tee.x-ms-sevsnpvm-launchmeasurement", "")) == 96,
              "policy claims: type, compliance, launch measurement")

        r = tool(env, "doctor")
        out = r.stdout
        check(r.returncode == 0, "doctor exits 0 (optional keys may be refused): " + out)
        for stage in ("config", "evidence", "thim", "attest", "token-verify", "identity"):
            check(re.search(r"^%s\s+OK" % stage, out, re.M), "doctor: %s OK" % stage)
        for key in ("demo-rsa", "demo-ec", "demo-aes"):
            check(re.search(r"^unwrap\s+OK\s+demo/%s" % key, out, re.M), "doctor: %s unwrapped" % key)
        check(re.search(r"^release\s+WARN\s+demo/demo-denied.*polic", out, re.M),
              "doctor: demo-denied refused by policy")
        test_evidence_failure(d, env)
    finally:
        subprocess.run([EMU, "down", d], capture_output=True)
        subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    main()
