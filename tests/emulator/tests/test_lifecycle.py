# SPDX-License-Identifier: Apache-2.0
"""`skr-emulator up`/`down` process hygiene: every process is in SKR_EMU_PIDS (daemon, swtpm,
paravisor relay) and gone after `down`; a failed `up` returns an error instead of hanging and
leaves nothing behind."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EMU = os.path.join(ROOT, "skr-emulator")
GUARD = 600         # only so that a regression fails instead of hanging the suite


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid, encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _procs_mentioning(path):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if path in cmd and _alive(int(d)):
            out.append((int(d), cmd))
    return out


def _env(directory):
    env = {}
    with open(os.path.join(directory, "env"), encoding="utf-8") as f:
        for line in f:
            if "=" in line and not line.startswith("export "):
                k, v = line.strip().split("=", 1)
                env[k] = v.strip("'")
    return env


def test_down_stops_daemon_swtpm_and_relay(tmp_path):
    d = str(tmp_path / "emu")
    subprocess.run([sys.executable, EMU, "up", d], check=True, timeout=GUARD,
                   stdout=subprocess.DEVNULL)
    try:
        pids = [int(p) for p in _env(d)["SKR_EMU_PIDS"].split()]
        with open(os.path.join(d, "cvm", "relay.pid"), encoding="ascii") as f:
            relay = int(f.read())
        with open(os.path.join(d, "cvm", "swtpm.pid"), encoding="ascii") as f:
            swtpm = int(f.read())
        assert len(pids) == 3 and relay in pids and swtpm in pids
        assert all(_alive(p) for p in pids)
        assert {p for p, _ in _procs_mentioning(d)} <= set(pids)
    finally:
        subprocess.run([sys.executable, EMU, "down", d], check=True, timeout=GUARD)
    assert [p for p in pids if _alive(p)] == []
    assert _procs_mentioning(d) == []


@pytest.mark.parametrize("fault", ["seed", "swtpm"])
def test_failed_up_returns_and_leaves_nothing(tmp_path, fault):
    d = str(tmp_path / "emu")
    env = dict(os.environ)
    args = [sys.executable, EMU, "up", d]
    if fault == "seed":
        with open(os.path.join(ROOT, "seed-default.json"), encoding="utf-8") as f:
            seed = json.load(f)
        seed["keys"].append({"vault": seed["vaults"][0]["name"], "name": "bad", "kty": "RSA",
                             "policy": "no-such-policy"})
        path = str(tmp_path / "seed.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(seed, f)
        args += ["--seed", path]
        expect = "no-such-policy"
    else:
        env["PATH"] = str(tmp_path)      # no swtpm on PATH
        expect = "cannot start swtpm"
    r = subprocess.run(args, env=env, timeout=GUARD, capture_output=True, text=True)
    assert r.returncode == 1
    assert "start-up failed" in r.stderr and expect in r.stderr
    assert _procs_mentioning(d) == []
