#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Search a core file for private-key bytes the skr-emulator holds (the gcore test, issue 4).

    core_scan.py CORE ADMIN_URL VAULT KEY [KEY...]

For every key, GET ADMIN_URL/keys/VAULT/KEY returns the private material; the secrets searched
are: the PKCS#8 DER; RSA d, p, q, dP, dQ, qInv; the EC private scalar; the raw oct key — each as
big-endian bytes and in little-endian limb order (how a BIGNUM holds them on x86-64, which is the
byte-reversed big-endian form). Any window of 16 or more bytes of a secret found in the core is
reported with the secret's name, its offset in the secret, the core file offset and the virtual
address (from the PT_LOAD headers). Exit 1 if anything was found, 0 if not, 2 on usage errors.

Method: every 8-byte window of every secret (all offsets) goes into a table; the core is read as
aligned 8-byte words. A common run of >= 16 bytes always contains one aligned core word, so each
hit is then extended both ways and kept if the run reaches 16 bytes.
"""
import base64
import json
import struct
import sys
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

MIN_RUN = 16


def be(n, size=None):
    size = size or (n.bit_length() + 7) // 8
    return n.to_bytes(size, "big")


def secrets_of(name, version):
    """[(label, bytes)] for one key version from the admin endpoint."""
    out = []
    if "k" in version:
        k = base64.urlsafe_b64decode(version["k"] + "=" * (-len(version["k"]) % 4))
        out.append((name + ":aes-key", k, None))
    if "pem" in version:
        key = serialization.load_pem_private_key(version["pem"].encode(), None)
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        parts = []
        if isinstance(key, rsa.RSAPrivateKey):
            n = key.private_numbers()
            for lab, v in (("d", n.d), ("p", n.p), ("q", n.q), ("dP", n.dmp1), ("dQ", n.dmq1),
                           ("qInv", n.iqmp)):
                parts.append((f"{name}:{lab}", be(v)))
        elif isinstance(key, ec.EllipticCurvePrivateKey):
            size = (key.curve.key_size + 7) // 8
            parts.append((name + ":ec-scalar", be(key.private_numbers().private_value, size)))
        out.append((name + ":pkcs8-der", der, private_ranges(der, [b for _l, b in parts])))
        out.extend((lab, b, None) for lab, b in parts)
    both = []
    for lab, b, priv in out:
        both.append((lab, b, priv))
        if priv is None:
            both.append((lab + "(le)", b[::-1], None))
    return both


def private_ranges(der, parts):
    """Where the private components sit in the DER: a DER run only counts when it covers
    MIN_RUN bytes of them (the modulus, public point and algorithm OIDs are public)."""
    ranges = []
    for b in parts:
        at = der.find(b)
        if at >= 0:
            ranges.append((at, at + len(b)))
    return ranges


def private_len(priv, start, length):
    if priv is None:
        return length
    return sum(max(0, min(e, start + length) - max(s, start)) for s, e in priv)


def fetch(admin, vault, name):
    with urllib.request.urlopen(f"{admin}/keys/{vault}/{name}", timeout=30) as r:
        doc = json.load(r)
    res = []
    for v in doc["versions"]:
        res.extend(secrets_of(name, v))
    return res


def load_segments(core):
    """[(file_off, vaddr, filesz)] of the PT_LOAD headers of an ELF64 little-endian core."""
    if core[:4] != b"\x7fELF" or core[4] != 2:
        return []
    phoff, = struct.unpack_from("<Q", core, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", core, 0x36)
    segs = []
    for i in range(phnum):
        p_type, _flags, off, vaddr, _pa, filesz = struct.unpack_from(
            "<IIQQQQ", core, phoff + i * phentsize)
        if p_type == 1 and filesz:
            segs.append((off, vaddr, filesz))
    return segs


def vaddr_of(segs, off):
    for s_off, vaddr, size in segs:
        if s_off <= off < s_off + size:
            return vaddr + off - s_off
    return None


def scan(core, secrets):
    table = {}
    for si, (_lab, b, _priv) in enumerate(secrets):
        for i in range(len(b) - 7):
            table.setdefault(b[i:i + 8], []).append((si, i))
    keys = {struct.unpack("<Q", w)[0] for w in table}
    hits = {}
    words = struct.iter_unpack("<Q", memoryview(core)[: len(core) - len(core) % 8])
    for wi, (w,) in enumerate(words):
        if w not in keys:
            continue
        pos = wi * 8
        for si, i in table[core[pos:pos + 8]]:
            b = secrets[si][1]
            lo, hi = 0, 8
            while i - lo > 0 and pos - lo > 0 and b[i - lo - 1] == core[pos - lo - 1]:
                lo += 1
            while i + hi < len(b) and pos + hi < len(core) and b[i + hi] == core[pos + hi]:
                hi += 1
            if private_len(secrets[si][2], i - lo, lo + hi) >= MIN_RUN:
                hits[(si, pos - lo)] = (i - lo, lo + hi)
    return hits


def main(argv):
    if len(argv) < 5:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], "rb") as f:
        core = f.read()
    secrets = []
    for name in argv[4:]:
        secrets.extend(fetch(argv[2], argv[3], name))
    segs = load_segments(core)
    hits = scan(core, secrets)
    for (si, off), (soff, length) in sorted(hits.items(), key=lambda h: h[0][1]):
        va = vaddr_of(segs, off)
        print(f"LEAK {secrets[si][0]}: {length} bytes (secret offset {soff}/"
              f"{len(secrets[si][1])}) at core offset 0x{off:x}"
              + (f" vaddr 0x{va:x}" if va is not None else ""))
    print(f"core_scan: {len(core)} bytes, {len(secrets)} secrets, {len(hits)} leaks")
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
