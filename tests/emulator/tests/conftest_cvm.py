# SPDX-License-Identifier: Apache-2.0
"""Fixtures for the simulated CVM (h5). Test modules import them:
    from conftest_cvm import amd_chain, ak_ca, cvm  # noqa: F401
`cvm` is a freshly started and provisioned swtpm CVM per test, stopped by pid afterwards."""
import datetime
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

from skremu import cvm as cvm_mod  # noqa: E402
from skremu import snp  # noqa: E402

SHARED = os.environ.get("SKR_SHARED_DIR") or os.path.join(ROOT, "..", "..", "..", "shared")
FIXTURES = os.path.join(SHARED, "fixtures", "azure")


def fixture_bytes(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


class AkCa:
    def __init__(self, cn="SKR Emulator test AK CA"):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = datetime.datetime.utcnow()
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(1)
                     .not_valid_before(now - datetime.timedelta(days=1))
                     .not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                     .sign(self.key, hashes.SHA256()))
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="session")
def amd_chain():
    return snp.AmdChain.generate()


@pytest.fixture(scope="session")
def ak_ca():
    return AkCa()


def start_cvm(directory, amd, ca, snp_fields=None):
    c = cvm_mod.start(str(directory))
    try:
        cvm_mod.provision(c, amd, ca.key, ca.cert, snp_fields or {})
    except Exception:
        c.stop()
        raise
    return c


@pytest.fixture
def cvm(tmp_path, amd_chain, ak_ca):
    c = start_cvm(tmp_path / "cvm", amd_chain, ak_ca)
    try:
        yield c
    finally:
        c.stop()
