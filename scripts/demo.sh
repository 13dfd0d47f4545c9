#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job, issue-2 version: install dependencies, build the module, make demo keys, write a
# config for the file key source, then load the module with pkcs11-tool: list slots, tokens,
# mechanisms and objects, sign with the token's RSA and EC keys and verify both signatures with
# `openssl`. Everything it creates lives in a temp dir removed at exit.
# (A later issue replaces the file key source by Azure Secure Key Release.)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh

echo "== building libskr-pkcs11.so (dev preset)"
cmake --preset dev >/dev/null
cmake --build build -j"$(nproc)" --target skr-pkcs11
MODULE=$PWD/build/module/libskr-pkcs11.so

WORK=$(mktemp -d /tmp/skr-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

echo "== demo keys (test-only, in $WORK)"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
openssl req -new -x509 -key rsa.pem -subj /CN=skr-demo -days 1 -out rsa.crt 2>/dev/null
openssl pkey -in rsa.pem -pubout -out rsa.pub
openssl pkey -in ec.pem -pubout -out ec.pub

cat >skr-pkcs11.conf <<CONF
[module]
log-level = error

[attestation]
provider = none

[token demo]
label = demo
source = file            ; tests/development only: keys from local files

[key demo-rsa]
token = demo
file = $WORK/rsa.pem
cert-file = $WORK/rsa.crt
id = 01

[key demo-ec]
token = demo
file = $WORK/ec.pem
id = 02
CONF
export SKR_PKCS11_CONF=$WORK/skr-pkcs11.conf
p11() { pkcs11-tool --module "$MODULE" "$@"; }

echo "== slots and tokens";  p11 --list-slots
echo "== mechanisms";        p11 --list-mechanisms
echo "== objects";           p11 --list-objects

printf 'hello from skr-pkcs11\n' >data
echo "== sign with demo-rsa (SHA256-RSA-PKCS), verify with openssl"
p11 --sign --id 01 -m SHA256-RSA-PKCS -i data -o rsa.sig
openssl dgst -sha256 -verify rsa.pub -signature rsa.sig data
echo "== sign with demo-ec (ECDSA-SHA256), verify with openssl"
p11 --sign --id 02 -m ECDSA-SHA256 --signature-format openssl -i data -o ec.sig
openssl dgst -sha256 -verify ec.pub -signature ec.sig data
echo "DEMO OK"
