#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Cross-check softtoken against the openssl command, both directions: RSA PKCS#1 v1.5 and PSS,
# ECDSA P-256 and Ed25519 signatures, RSA OAEP (SHA-256; SHA-1 with a label) and PKCS#1 v1.5
# encryption, and ECDH P-256 shared secrets. Keys are made fresh by openssl in a temp dir.
# Usage: st_openssl_xcheck.sh /path/to/st_xcheck
set -euo pipefail
X=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
check() { local what=$1; shift; if "$@" >/dev/null 2>err.log; then ok "$what"; else bad "$what"; cat err.log; fi; }

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec2.pem
openssl genpkey -algorithm ED25519 -out ed.pem
for k in rsa ec ec2 ed; do openssl pkey -in $k.pem -pubout -out $k.pub; done
head -c 1000 /dev/urandom > msg
head -c 100 /dev/urandom > secret

# --- softtoken signs, openssl verifies ---
check "sha256-rsa: st sign, openssl verify" "$X" sign sha256-rsa rsa.pem msg s1
check "" openssl dgst -sha256 -verify rsa.pub -signature s1 msg
check "sha256-rsa-pss: st sign, openssl verify" "$X" sign sha256-rsa-pss rsa.pem msg s2
check "" openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
    -sigopt rsa_mgf1_md:sha256 -verify rsa.pub -signature s2 msg
check "ecdsa-sha256: st sign, openssl verify" "$X" sign ecdsa-sha256 ec.pem msg s3
check "" openssl dgst -sha256 -verify ec.pub -signature s3 msg
check "eddsa: st sign, openssl verify" "$X" sign eddsa ed.pem msg s4
check "" openssl pkeyutl -verify -pubin -inkey ed.pub -rawin -in msg -sigfile s4

# --- openssl signs, softtoken verifies (and rejects a modified message) ---
openssl dgst -sha256 -sign rsa.pem -out o1 msg
check "sha256-rsa: openssl sign, st verify" "$X" verify sha256-rsa rsa.pub msg o1
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
    -sigopt rsa_mgf1_md:sha256 -sign rsa.pem -out o2 msg
check "sha256-rsa-pss: openssl sign, st verify" "$X" verify sha256-rsa-pss rsa.pub msg o2
openssl dgst -sha256 -sign ec.pem -out o3 msg
check "ecdsa-sha256: openssl sign, st verify" "$X" verify ecdsa-sha256 ec.pub msg o3
openssl pkeyutl -sign -inkey ed.pem -rawin -in msg -out o4
check "eddsa: openssl sign, st verify" "$X" verify eddsa ed.pub msg o4
printf 'x' >> msg
rc=0; "$X" verify sha256-rsa rsa.pub msg o1 2>/dev/null || rc=$?
[ "$rc" = 3 ] && ok "modified message: CKR_SIGNATURE_INVALID" || bad "modified message rc=$rc"
rc=0; "$X" verify ecdsa-sha256 ec.pub msg o3 2>/dev/null || rc=$?
[ "$rc" = 3 ] && ok "modified message (ECDSA): CKR_SIGNATURE_INVALID" || bad "ECDSA modified rc=$rc"

# --- OAEP and PKCS#1 v1.5 encryption, both ways ---
OAEP256=(-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha256 -pkeyopt rsa_mgf1_md:sha256)
OAEP1=(-pkeyopt rsa_padding_mode:oaep -pkeyopt rsa_oaep_md:sha1 -pkeyopt rsa_mgf1_md:sha1
       -pkeyopt rsa_oaep_label:$(printf 'xcheck-label' | xxd -p))
openssl pkeyutl -encrypt -pubin -inkey rsa.pub "${OAEP256[@]}" -in secret -out c1
check "oaep-sha256: openssl encrypt, st decrypt" "$X" decrypt oaep-sha256 rsa.pem c1 p1
check "" cmp secret p1
check "oaep-sha256: st encrypt, openssl decrypt" "$X" encrypt oaep-sha256 rsa.pub secret c2
check "" openssl pkeyutl -decrypt -inkey rsa.pem "${OAEP256[@]}" -in c2 -out p2
check "" cmp secret p2
openssl pkeyutl -encrypt -pubin -inkey rsa.pub "${OAEP1[@]}" -in secret -out c3
check "oaep-sha1-label: openssl encrypt, st decrypt" "$X" decrypt oaep-sha1-label rsa.pem c3 p3
check "" cmp secret p3
check "oaep-sha1-label: st encrypt, openssl decrypt" "$X" encrypt oaep-sha1-label rsa.pub secret c4
check "" openssl pkeyutl -decrypt -inkey rsa.pem "${OAEP1[@]}" -in c4 -out p4
check "" cmp secret p4
openssl pkeyutl -encrypt -pubin -inkey rsa.pub -in secret -out c5
check "rsa-pkcs: openssl encrypt, st decrypt" "$X" decrypt rsa-pkcs rsa.pem c5 p5
check "" cmp secret p5

# --- ECDH: both sides agree with openssl ---
openssl pkeyutl -derive -inkey ec.pem -peerkey ec2.pub -out z-openssl
check "ecdh: st derive (ec, ec2.pub)" "$X" derive ec.pem ec2.pub z1
check "ecdh: st derive (ec2, ec.pub)" "$X" derive ec2.pem ec.pub z2
check "ecdh: equal to openssl pkeyutl -derive" cmp z-openssl z1
check "" cmp z-openssl z2

exit $fail
