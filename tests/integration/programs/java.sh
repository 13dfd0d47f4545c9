#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Java (Debian's OpenJDK 17) with the module through the JDK's SunPKCS11 provider, keys released
# from the emulator: java/SkrSign.java, compiled into $WORK, configures SunPKCS11 with a config
# file (name = skr, library = the module, slotListIndex = 0), loads the token as a "PKCS11"
# KeyStore without a PIN (the token does not set CKF_LOGIN_REQUIRED), lists its aliases and signs
# with SHA256withRSA (demo-rsa) and SHA256withECDSA (demo-ec). Each signature is verified in
# Java with the alias's certificate, then here with openssl against the public keys read from
# the token ($PUB_RSA, $PUB_EC); a signature over other data must not verify.
. "$(dirname "$0")/lib.sh"
jdk=/usr/lib/jvm/java-17-openjdk-amd64/bin
if [ ! -x "$jdk/javac" ] || [ ! -x "$jdk/java" ]; then
    skip "Debian's openjdk-17-jdk-headless is not installed"
fi
skr_setup

cat >"$WORK/sunpkcs11.cfg" <<EOF
name = skr
library = $SKR_MODULE
slotListIndex = 0
EOF
mkdir "$WORK/classes" "$WORK/out"
"$jdk/javac" -d "$WORK/classes" "$PROGDIR/java/SkrSign.java" 2>"$WORK/err" ||
    fail "javac SkrSign.java: $(cat "$WORK/err")"
printf 'data signed by SunPKCS11 with a released key\n' >"$WORK/data"

# The JVM loads the module with dlopen: in ASan builds libasan must be preloaded (p11).
p11 "$jdk/java" -XX:-UsePerfData -Djava.io.tmpdir="$WORK" -cp "$WORK/classes" SkrSign \
    "$WORK/sunpkcs11.cfg" "$WORK/data" "$WORK/out" demo-rsa:SHA256withRSA \
    demo-ec:SHA256withECDSA >"$WORK/java.out" 2>"$WORK/java.err" ||
    fail "SkrSign: $(cat "$WORK/java.out" "$WORK/java.err")"
cat "$WORK/java.out"
grep -q '^provider: SunPKCS11-skr$' "$WORK/java.out" || fail "SunPKCS11 was not configured"
for k in rsa ec; do
    grep -q "^alias: demo-$k private-key\$" "$WORK/java.out" ||
        fail "the PKCS11 KeyStore has no private-key entry demo-$k"
done
ok "KeyStore PKCS11 (no PIN) lists private-key entries demo-rsa and demo-ec"

for k in rsa ec; do
    pub="$WORK/demo-$k.pub.pem"
    sig="$WORK/out/demo-$k.sig"
    [ -s "$sig" ] || fail "no signature written for demo-$k"
    openssl x509 -inform DER -in "$WORK/out/demo-$k.cert.der" -noout -pubkey |
        cmp -s - "$pub" || fail "the KeyStore certificate of demo-$k carries another public key"
    openssl dgst -sha256 -verify "$pub" -signature "$sig" "$WORK/data" >"$WORK/verify" 2>&1 ||
        fail "demo-$k signature from SunPKCS11 does not verify: $(cat "$WORK/verify")"
    printf 'other data\n' >"$WORK/other"
    if openssl dgst -sha256 -verify "$pub" -signature "$sig" "$WORK/other" >/dev/null 2>&1; then
        fail "demo-$k signature verifies over other data"
    fi
done
ok "SHA256withRSA (demo-rsa), SHA256withECDSA (demo-ec) verify with openssl and the token's keys"
echo "java SunPKCS11: all checks passed (key path: emulator)"
