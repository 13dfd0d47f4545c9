#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the .deb with cpack (from SKR_BUILD_DIR's CPackConfig.cmake) into a temp dir, installs
# it with dpkg -i, checks the installed files and that `p11-kit list-modules` lists the module
# from its installed module file, then purges the package. Root only: exit 77 (skip) otherwise,
# or when a skr-pkcs11 package or module file is already on the machine (never clobbered).
set -eu
build=${SKR_BUILD_DIR:?}
src=${SKR_SOURCE_DIR:?}
skip() {
    echo "SKIP: $*"
    exit 77
}
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
[ "$(id -u)" = 0 ] || skip "packaging test needs root (dpkg -i)"
# The package is built from the dev build: a sanitizer build's module is not something anyone
# ships, and p11-kit list-modules under LD_PRELOAD=libasan deadlocks in p11-kit-trust.so's
# constructor (newlocale waits on glibc's setlocale lock), with or without our module installed.
[ "${SKR_ASAN:-0}" = 1 ] && skip "sanitizer build: the package is tested from the dev build"
command -v dpkg >/dev/null && command -v cpack >/dev/null || skip "dpkg or cpack missing"
if dpkg-query -W -f='${Status}' skr-pkcs11 2>/dev/null | grep -q "installed"; then
    skip "a skr-pkcs11 package is already installed; not touching it"
fi
modpath=$(pkg-config --variable=p11_module_path p11-kit-1)
confdir=$(pkg-config --variable=p11_module_configs p11-kit-1)
[ ! -e "$modpath/libskr-pkcs11.so" ] && [ ! -e "$confdir/skr-pkcs11.module" ] ||
    skip "skr-pkcs11 files already present in $modpath or $confdir; not touching them"
[ ! -e /etc/skr-pkcs11/skr-pkcs11.conf ] && [ ! -e /etc/skr-pkcs11/engine.cnf ] ||
    skip "/etc/skr-pkcs11 already holds a configuration; not touching it"

work=$(mktemp -d /tmp/skr-pkg.XXXXXX)
installed=0
cleanup() {
    if [ "$installed" = 1 ]; then
        dpkg -P skr-pkcs11 >"$work/purge.log" 2>&1 || cat "$work/purge.log" >&2
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM # so that a ctest timeout still purges the package

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" >"$work/cpack.log" 2>&1 ||
    fail "cpack: $(tail -20 "$work/cpack.log")"
deb=$(ls "$work"/skr-pkcs11_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "cpack made no .deb: $(tail -5 "$work/cpack.log")"
echo "ok - cpack built $(basename "$deb")"
dpkg-deb -f "$deb" Package | grep -qx skr-pkcs11 || fail "package name"
dpkg-deb -I "$deb" conffiles | grep -qx /etc/skr-pkcs11/skr-pkcs11.conf ||
    fail "/etc/skr-pkcs11/skr-pkcs11.conf is not a conffile"

installed=1
dpkg -i "$deb" >"$work/dpkg.log" 2>&1 || fail "dpkg -i: $(cat "$work/dpkg.log")"
echo "ok - dpkg -i installed it (dependencies satisfied)"
for f in "$modpath/libskr-pkcs11.so" "$confdir/skr-pkcs11.module" /usr/bin/skr-tool \
    /etc/skr-pkcs11/skr-pkcs11.conf /etc/skr-pkcs11/skr-pkcs11.conf.example \
    /usr/share/man/man1/skr-tool.1 \
    /usr/share/man/man5/skr-pkcs11.conf.5; do
    [ -e "$f" ] || fail "$f not installed"
done
echo "ok - module, module file, skr-tool, config and man pages in place"

# The installed module with a development config (file key source, no Azure), chosen through
# SKR_PKCS11_CONF, which wins over the module file's x-init-reserved.
keys="$src/tests/data/module"
cat >"$work/skr.conf" <<CONF
[attestation]
provider = none
[token demo]
label = demo
source = file
[key demo-rsa]
token = demo
file = $keys/rsa.pem
CONF
SKR_PKCS11_CONF="$work/skr.conf" LD_PRELOAD="${SKR_PRELOAD:-}" p11-kit list-modules \
    >"$work/list.txt" 2>&1 || fail "p11-kit list-modules: $(cat "$work/list.txt")"
grep -q "^skr-pkcs11:" "$work/list.txt" || fail "p11-kit does not list skr-pkcs11: $(cat "$work/list.txt")"
grep -A12 "^skr-pkcs11:" "$work/list.txt" | grep -q "token: demo" ||
    fail "p11-kit lists skr-pkcs11 without its token: $(cat "$work/list.txt")"
echo "ok - p11-kit list-modules lists skr-pkcs11 and its token"
/usr/bin/skr-tool --help >/dev/null 2>&1 || fail "installed skr-tool does not run"

dpkg -r skr-pkcs11 >"$work/remove.log" 2>&1 || fail "dpkg -r: $(cat "$work/remove.log")"
[ ! -e "$modpath/libskr-pkcs11.so" ] || fail "dpkg -r left the module"
[ -e /etc/skr-pkcs11/skr-pkcs11.conf ] || fail "dpkg -r removed the conffile (it must stay)"
dpkg -P skr-pkcs11 >"$work/purge.log" 2>&1 || fail "dpkg -P: $(cat "$work/purge.log")"
installed=0
[ ! -e /etc/skr-pkcs11/skr-pkcs11.conf ] || fail "dpkg -P left the conffile"
echo "ok - dpkg -r removed it (conffile kept), dpkg -P purged it"
echo "packaging: all checks passed"
