#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# OpenSC pkcs11-tool against the module (file key source): -I -L -M -O, sign/verify with RSA
# (PKCS#1 v1.5 and PSS), ECDSA and EdDSA checked by `openssl`, RSA OAEP/PKCS#1 decryption of
# what `openssl pkeyutl` encrypted, ECDH derivation compared with `openssl pkeyutl -derive`, and
# `pkcs11-tool --test --allow-sw` on both tokens (with login on the PIN token; --allow-sw because
# the mechanisms honestly lack CKF_HW, and pkcs11-tool skips the signature tests without it).
. "$(dirname "$0")/mod_env.sh"
cd "$WORK"
printf 'the quick brown fox' >data
openssl pkey -in "$KEYS/rsa.pem" -pubout -out rsa.pub
openssl pkey -in "$KEYS/ec.pem" -pubout -out ec.pub
openssl pkey -in "$KEYS/ed.pem" -pubout -out ed.pub

pt -I >info.txt || fail "-I"
grep -q "skr-pkcs11" info.txt || fail "-I manufacturer"
grep -q "Cryptoki version 3.0" info.txt || fail "-I version"
ok "-I"
pt -L >slots.txt || fail "-L"
grep -q "token label        : demo" slots.txt || fail "-L demo"
grep -q "token label        : sec" slots.txt || fail "-L sec"
grep -q "login required" slots.txt || fail "-L login flag"
ok "-L"
pt -M >mechs.txt || fail "-M"
for m in RSA-PKCS-PSS ECDSA-SHA256 EDDSA AES-GCM SHA256-HMAC ECDH1-DERIVE; do
  grep -q "$m" mechs.txt || fail "-M lacks $m"
done
ok "-M"
pt --slot 0 -O >objs.txt || fail "-O"
[ "$(grep -c '^Private Key Object' objs.txt)" = 3 ] || fail "-O: 3 private keys"
[ "$(grep -c '^Public Key Object' objs.txt)" = 3 ] || fail "-O: 3 public keys"
grep -q '^Certificate Object' objs.txt || fail "-O certificate"
grep -q '^Secret Key Object' objs.txt || fail "-O secret key"
pt --slot 1 -O >sec-public.txt || fail "-O sec"
grep -q '^Private Key Object' sec-public.txt && fail "private key visible before login"
pt --slot 1 -O --login --pin "$PIN" >sec.txt || fail "-O sec login"
grep -q '^Private Key Object' sec.txt || fail "private key hidden after login"
ok "-O (private objects hidden until login)"
SKR_PKCS11_LOG=trace pt --slot 1 -O --login --pin "$PIN" >/dev/null 2>trace.txt || fail "trace run"
grep -q "C_Login(session=" trace.txt || fail "C_Login not traced"
grep -q "C_Login -> CKR_OK" trace.txt || fail "C_Login exit not traced"
grep -q -- "$PIN" trace.txt && fail "the PIN appears in the trace log"
ok "TRACE logs every call on entry and exit, never the PIN"

pt --slot 0 --sign -m SHA256-RSA-PKCS --id 01 -i data -o sig.rsa || fail "sign rsa"
openssl dgst -sha256 -verify rsa.pub -signature sig.rsa data >/dev/null || fail "openssl rsa"
pt --slot 0 --verify -m SHA256-RSA-PKCS --id 01 -i data --signature-file sig.rsa \
  >/dev/null || fail "verify rsa"
ok "RSA PKCS#1 v1.5 sign, verified by openssl"
pt --slot 0 --sign -m SHA256-RSA-PKCS-PSS --id 01 -i data -o sig.pss || fail "sign pss"
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto \
  -verify rsa.pub -signature sig.pss data >/dev/null || fail "openssl pss"
ok "RSA-PSS sign, verified by openssl"
pt --slot 0 --sign -m ECDSA-SHA256 --signature-format openssl --id 0e01 -i data \
  -o sig.ec || fail "sign ecdsa"
openssl dgst -sha256 -verify ec.pub -signature sig.ec data >/dev/null || fail "openssl ecdsa"
ok "ECDSA sign, verified by openssl"
pt --slot 0 --sign -m EDDSA --id 03 -i data -o sig.ed || fail "sign eddsa"
openssl pkeyutl -verify -pubin -inkey ed.pub -rawin -in data -sigfile sig.ed >/dev/null \
  || fail "openssl eddsa"
ok "Ed25519 sign, verified by openssl"
pt --slot 1 --login --pin "$PIN" --sign -m ECDSA-SHA256 --signature-format openssl \
  --id 04 -i data -o sig.sec || fail "sign on PIN token"
openssl dgst -sha256 -verify ec.pub -signature sig.sec data >/dev/null || fail "openssl sec"
ok "sign after login on the PIN token"

printf 'secret message 0123456789' >plain
openssl pkeyutl -encrypt -pubin -inkey rsa.pub -pkeyopt rsa_padding_mode:oaep \
  -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256 -in plain -out ct.oaep
pt --slot 0 --decrypt -m RSA-PKCS-OAEP --hash-algorithm SHA256 --mgf MGF1-SHA256 \
  --id 01 -i ct.oaep -o pt.oaep || fail "decrypt oaep"
cmp -s plain pt.oaep || fail "oaep plaintext differs"
ok "RSA-OAEP decrypt of openssl ciphertext"
openssl pkeyutl -encrypt -pubin -inkey rsa.pub -in plain -out ct.pkcs
pt --slot 0 --decrypt -m RSA-PKCS --id 01 -i ct.pkcs -o pt.pkcs || fail "decrypt pkcs"
cmp -s plain pt.pkcs || fail "pkcs plaintext differs"
ok "RSA PKCS#1 decrypt of openssl ciphertext"

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out peer.pem 2>/dev/null
openssl pkey -in peer.pem -pubout -outform DER -out peer.der
pt --slot 0 --derive -m ECDH1-DERIVE --id 0e01 -i peer.der -o z.p11 || fail "derive"
openssl pkeyutl -derive -inkey "$KEYS/ec.pem" -peerkey <(openssl pkey -in peer.pem -pubout) \
  -out z.ossl
cmp -s z.p11 z.ossl || fail "ECDH secret differs from openssl"
ok "ECDH derive equals openssl"

pt --slot 0 --test --allow-sw >test0.txt 2>&1 || { cat test0.txt; fail "--test slot 0"; }
pt --slot 1 --login --pin "$PIN" --test --allow-sw >test1.txt 2>&1 || { cat test1.txt; fail "--test slot 1"; }
grep -q "No errors" test0.txt || { cat test0.txt; fail "--test slot 0 reported errors"; }
grep -q "No errors" test1.txt || { cat test1.txt; fail "--test slot 1 reported errors"; }
ok "pkcs11-tool --test on both tokens"
echo "ALL OK"
