# SPDX-License-Identifier: Apache-2.0
"""The simulated CVM's paravisor relay as its own process (started by cvm.start(), see
cvm.relay_main): TPM traffic does not compete with the emulator's HTTP services for the GIL."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from skremu import cvm  # noqa: E402

if __name__ == "__main__":
    sys.exit(cvm.relay_main())
