# SPDX-License-Identifier: Apache-2.0
"""TD report and fake quote (tdx.py) against the real TDX fixtures' layout."""
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest_cvm import fixture_bytes
from skremu import hcl, tdx


def test_real_td_report_in_hcl_parses():
    rep = hcl.parse(fixture_bytes("snp_hcl_report.bin"))
    td = tdx.TdReport.parse(rep.hw_raw)
    assert td.report_data == hcl.report_data_for(rep.var_data)


def test_real_quote_layout():
    q = fixture_bytes("td_quote_v4.dat")
    assert struct.unpack("<HHI", q[:8]) == (4, 2, 0x81)
    assert q[12:28] == tdx.INTEL_QE_VENDOR_ID
    assert tdx.quote_report_data(q)[32:] == b"\0" * 32


def test_fake_quote_round_trip():
    var = b'{"keys":[]}'
    td = tdx.TdReport(report_data=hcl.report_data_for(var), mrconfigid="aa" * 48).to_bytes()
    assert len(td) == 1024 and tdx.TdReport.parse(td).mrconfigid == b"\xaa" * 48
    raw = hcl.build(td, var, hcl.REPORT_TYPE_TDX)
    assert hcl.parse(raw).binding_ok()
    key = ec.generate_private_key(ec.SECP256R1())
    quote = tdx.fake_quote(td, key)
    assert tdx.verify_fake_quote(quote, key.public_key()) == hcl.report_data_for(var)
    bad = bytearray(quote)
    bad[tdx.QUOTE_REPORT_DATA_OFFSET] ^= 1
    with pytest.raises(tdx.TdxError):
        tdx.verify_fake_quote(bytes(bad), key.public_key())
