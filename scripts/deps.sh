#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what building, testing and the demo need, from Debian 12's packages. Idempotent:
# installs only what is missing, and runs apt-get update only then.
set -euo pipefail
PKGS=(
  build-essential pkg-config cmake clang llvm libclang-rt-14-dev
  libssl-dev libcurl4-openssl-dev libjansson-dev libp11-kit-dev p11-kit p11-kit-modules
  libtss2-dev libinih-dev libcmocka-dev
  swtpm swtpm-tools tpm2-tools
  opensc gnutls-bin nginx libengine-pkcs11-openssl curl openssl
  openssh-server openssh-client openjdk-17-jdk-headless
  python3 python3-cryptography python3-pytest python3-tpm2-pytss python3-pykcs11
  softhsm2 valgrind gdb pmccabe jq clang-format
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
