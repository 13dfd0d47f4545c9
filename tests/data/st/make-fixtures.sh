#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# How the softtoken object/import fixtures were made (committed; rerun only to replace them).
# Keys are test-only. Certificates carry OpenSSL's default subjectKeyIdentifier (SHA-1 of the
# subjectPublicKey), which CKA_ID derivation must reproduce.
set -eu
cd "$(dirname "$0")"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -outform DER -out rsa2048.p8.der
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -outform DER -out ec256.p8.der
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -outform DER -out ec384.p8.der
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -outform DER -out ec521.p8.der
openssl genpkey -algorithm ED25519 -outform DER -out ed25519.p8.der
openssl genpkey -algorithm ED448 -outform DER -out ed448.p8.der
for k in rsa2048 ec256 ed25519; do
    openssl pkey -inform DER -in $k.p8.der -pubout -outform DER -out $k.spki.der
    openssl req -x509 -new -key $k.p8.der -keyform DER -subj "/CN=skr-test-$k" -days 36500 \
        -outform DER -out $k.cert.der
done
