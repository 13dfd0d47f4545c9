# SPDX-License-Identifier: Apache-2.0
# Sourced by the module's integration scripts: a private temp dir, a file-source config over the
# committed test keys (tests/data/module), and `p11` = a client run with SKR_PRELOAD (libasan in
# sanitizer builds) in LD_PRELOAD. Needs SKR_MODULE and SKR_SOURCE_DIR (set by skr_add_test).
set -euo pipefail
: "${SKR_MODULE:?SKR_MODULE not set}"
: "${SKR_SOURCE_DIR:?SKR_SOURCE_DIR not set}"
KEYS="$SKR_SOURCE_DIR/tests/data/module"
WORK=$(mktemp -d /tmp/skr-mod-it.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PIN=s3cr3t-PIN-4711
cat >"$WORK/skr.conf" <<CONF
[module]
log-level = error
[attestation]
provider = none
[token demo]
label = demo
serial = 0001
source = file
[token sec]
label = sec
pin = $PIN
source = file
[key demo-rsa]
token = demo
file = $KEYS/rsa.pem
cert-file = $KEYS/rsa.crt
id = 01
[key demo-ec]
token = demo
file = $KEYS/ec.der
id = 0e01
[key demo-ed]
token = demo
file = $KEYS/ed.pem
id = 03
[key demo-aes]
token = demo
file = $KEYS/aes.bin
key-type = aes
[key sec-ec]
token = sec
file = $KEYS/ec.pem
id = 04
CONF
export SKR_PKCS11_CONF="$WORK/skr.conf"

# Run an uninstrumented client against the (maybe instrumented) module.
p11() { LD_PRELOAD="${SKR_PRELOAD:-}" "$@"; }
pt() { p11 pkcs11-tool --module "$SKR_MODULE" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
