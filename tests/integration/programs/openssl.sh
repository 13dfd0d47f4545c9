#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# openssl(1) with libp11's PKCS#11 engine and the module, keys released from the emulator:
# pkeyutl -sign (RSA PKCS#1, RSA-PSS, ECDSA) and -decrypt (PKCS#1 v1.5, OAEP), req -new -x509 with
# the token key; every result is checked with the public key alone, the token's public key being
# checked first against Key Vault's (the emulator's copy of the released key).
# Regression (issue 5): in a process that loads libp11's engine, OpenSSL made the EC public key
# the module decodes a legacy ENGINE key and demo-ec's public object could not be created, so
# C_Initialize failed for every key (softtoken/st_object_int.h; unit test test_st_engine).
. "$(dirname "$0")/lib.sh"
skr_setup
export OPENSSL_CONF="$(engine_conf)"
uri() { echo "pkcs11:token=demo;object=$1;type=private"; }
eng() { p11 openssl "$@" -engine pkcs11 -keyform engine; }

for k in rsa ec; do
    openssl pkey -in "$EMU/keys/demo.demo-$k.pem" -pubout -out "$WORK/kv-$k.pub.pem"
    cmp -s "$WORK/kv-$k.pub.pem" "$WORK/demo-$k.pub.pem" ||
        fail "public key of demo-$k on the token is not Key Vault's"
done
ok "the token's public keys are Key Vault's"

printf 'data signed through the engine\n' >"$WORK/data"
openssl dgst -sha256 -binary "$WORK/data" >"$WORK/dgst"
for k in rsa ec; do
    eng pkeyutl -sign -inkey "$(uri demo-$k)" -pkeyopt digest:sha256 -in "$WORK/dgst" \
        -out "$WORK/$k.sig" 2>"$WORK/err" || fail "pkeyutl -sign demo-$k: $(cat "$WORK/err")"
    openssl pkeyutl -verify -pubin -inkey "$WORK/kv-$k.pub.pem" -pkeyopt digest:sha256 \
        -in "$WORK/dgst" -sigfile "$WORK/$k.sig" >/dev/null || fail "demo-$k signature"
    ok "pkeyutl -sign with demo-$k verifies with the public key"
done
eng pkeyutl -sign -inkey "$(uri demo-rsa)" -pkeyopt digest:sha256 -pkeyopt rsa_padding_mode:pss \
    -pkeyopt rsa_pss_saltlen:32 -in "$WORK/dgst" -out "$WORK/pss.sig" 2>"$WORK/err" ||
    fail "pkeyutl -sign PSS: $(cat "$WORK/err")"
openssl pkeyutl -verify -pubin -inkey "$PUB_RSA" -pkeyopt digest:sha256 \
    -pkeyopt rsa_padding_mode:pss -pkeyopt rsa_pss_saltlen:32 -in "$WORK/dgst" \
    -sigfile "$WORK/pss.sig" >/dev/null || fail "RSA-PSS signature"
ok "pkeyutl -sign RSA-PSS verifies"

printf 'a secret for the released key' >"$WORK/plain"
for pad in pkcs1 oaep; do
    openssl pkeyutl -encrypt -pubin -inkey "$PUB_RSA" -pkeyopt rsa_padding_mode:$pad \
        -in "$WORK/plain" -out "$WORK/ct.$pad"
    eng pkeyutl -decrypt -inkey "$(uri demo-rsa)" -pkeyopt rsa_padding_mode:$pad \
        -in "$WORK/ct.$pad" -out "$WORK/pt.$pad" 2>"$WORK/err" ||
        fail "pkeyutl -decrypt $pad: $(cat "$WORK/err")"
    cmp -s "$WORK/plain" "$WORK/pt.$pad" || fail "decrypt $pad gave other bytes"
    ok "pkeyutl -decrypt ($pad) returns the plaintext"
done

for k in rsa ec; do
    eng req -new -x509 -key "$(uri demo-$k)" -subj "/CN=skr-$k" -days 2 -sha256 \
        -out "$WORK/$k.crt" 2>"$WORK/err" || fail "req -new -x509 demo-$k: $(cat "$WORK/err")"
    openssl x509 -in "$WORK/$k.crt" -noout -pubkey | cmp -s - "$WORK/demo-$k.pub.pem" ||
        fail "certificate of demo-$k carries another public key"
    openssl verify -CAfile "$WORK/$k.crt" "$WORK/$k.crt" >/dev/null ||
        fail "self-signed certificate of demo-$k does not verify"
    ok "req -new -x509 with demo-$k: self-signature verifies, public key matches"
done
echo "openssl engine: all checks passed (key path: emulator)"
