#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# Writes the seed corpus of fuzz_templates (records [sel][len][bytes], see fuzz_templates.c).
import os, struct, subprocess, sys
here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, '..', '..', '..', 'data', 'st')
T = dict(CLASS=0, KEY_TYPE=1, TOKEN=2, PRIVATE=3, LABEL=4, VALUE=5, VALUE_LEN=6, ID=7,
         SENSITIVE=8, EXTRACTABLE=9, MODIFIABLE=10, COPYABLE=11, SIGN=15, MODULUS=20,
         PUBLIC_EXPONENT=21, EC_PARAMS=29, EC_POINT=30, CERT_TYPE=31, SUBJECT=32)
def rec(name, b): return bytes([T[name], len(b)]) + b
def ul(v): return struct.pack('<Q', v)
def bb(v): return bytes([v])
P256 = bytes.fromhex('06082a8648ce3d030107')
ED25519 = bytes.fromhex('06032b6570')
def pubpoint(name):
    der = open(os.path.join(data, name), 'rb').read()
    return der[-65:]
seeds = {
  'data': rec('CLASS', ul(0)) + rec('LABEL', b'lbl') + rec('VALUE', b'hello')
          + b'\xfd' + rec('LABEL', b'new') + b'\xfc' + rec('MODIFIABLE', bb(0)),
  'aes': rec('CLASS', ul(4)) + rec('KEY_TYPE', ul(0x1f)) + rec('VALUE', bytes(range(16)))
         + rec('SENSITIVE', bb(0)) + b'\xfd' + rec('SENSITIVE', bb(1)) + rec('SIGN', bb(0))
         + b'\xfc' + rec('LABEL', b'copy'),
  'generic': rec('CLASS', ul(4)) + rec('KEY_TYPE', ul(0x10)) + rec('VALUE', b'k' * 40)
             + rec('EXTRACTABLE', bb(1)) + rec('SENSITIVE', bb(0)),
  'ec_pub': rec('CLASS', ul(2)) + rec('KEY_TYPE', ul(3)) + rec('EC_PARAMS', P256)
            + rec('EC_POINT', b'\x04\x41' + pubpoint('ec256.spki.der')),
  'ed_priv': rec('CLASS', ul(3)) + rec('KEY_TYPE', ul(0x40)) + rec('EC_PARAMS', ED25519)
             + rec('VALUE', bytes(range(32))) + rec('SENSITIVE', bb(0)),
  'ed_pub_ps': rec('CLASS', ul(2)) + rec('KEY_TYPE', ul(0x40))
               + rec('EC_PARAMS', b'\x13\x0cedwards25519') + rec('EC_POINT', bytes(range(32))),
  'ec_priv': rec('CLASS', ul(3)) + rec('KEY_TYPE', ul(3)) + rec('EC_PARAMS', P256)
             + rec('VALUE', bytes(range(1, 33))) + rec('SENSITIVE', bb(0)),
  'rsa_pub': rec('CLASS', ul(2)) + rec('KEY_TYPE', ul(0)) + rec('MODULUS', b'\xc1' + b'\x5a' * 62 + b'\x07')
             + rec('PUBLIC_EXPONENT', b'\x01\x00\x01'),
  'null_value': rec('CLASS', ul(0)) + bytes([0xFE, 4]) + b'\x00\x00\x00\x00',
}
for name, b in seeds.items():
    with open(os.path.join(here, name), 'wb') as f:
        f.write(b)
