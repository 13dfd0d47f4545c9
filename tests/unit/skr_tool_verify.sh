#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# skr-tool verify, offline: (1) the REAL Key Vault release answer of the Azure SDK recording
# verifies at its recording time against the Baltimore root it carries, and the printed claims
# are the JWS payload; it is refused today (expired chain), for another host and for another
# key. (2) An MAA-shaped token made by python3-cryptography (an independent implementation)
# verifies against its JWKS with the OIDC issuer pin, and is refused when expired, for another
# issuer, or tampered.
set -eu
tool=$1
py=/usr/bin/python3
rec="$SKR_SHARED_DIR/fixtures/azure/test_key_client.pyTestKeyClienttest_key_release[7.3_vault].json"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

$py - "$rec" "$work" <<'PYEOF'
import base64, json, sys
rec, work = sys.argv[1], sys.argv[2]
d = json.load(open(rec))
e = [x for x in d["Entries"] if "/release" in x["RequestUri"]][0]
open(work + "/release.json", "w").write(json.dumps(e["ResponseBody"]))
jws = e["ResponseBody"]["value"]
dec = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
h, p, _ = jws.split(".")
root = json.loads(dec(h))["x5c"][-1]
pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(root[i:i + 64] for i in range(0, len(root), 64))
open(work + "/root.pem", "w").write(pem + "\n-----END CERTIFICATE-----\n")
open(work + "/expected.json", "w").write(dec(p).decode())
PYEOF

"$tool" verify --release "$work/release.json" --roots "$work/root.pem" \
    --at 2022-04-22T15:06:45Z >"$work/out.json" || fail "recorded release JWS refused"
$py - "$work" <<'PYEOF' || fail "claims differ from the JWS payload"
import json, sys
w = sys.argv[1]
out, exp = json.load(open(w + "/out.json")), json.load(open(w + "/expected.json"))
dec = out["response"]["key"]["key"].pop("key_hsm_decoded")
assert out == exp, "payload mismatch"
assert dec == {"kid": "fake-release-key", "enc": "CKM_RSA_AES_KEY_WRAP", "ciphertext_bytes": 1488}, dec
assert exp["request"]["kid"].endswith("/keys/livekvtestrsa-key-name3c62956")
PYEOF
"$tool" verify --release "$work/release.json" --roots "$work/root.pem" --at 1650640005 \
    >/dev/null || fail "unix --at refused"
if "$tool" verify --release "$work/release.json" --roots "$work/root.pem" >/dev/null 2>&1; then
    fail "expired chain accepted today"
fi
if "$tool" verify --release "$work/release.json" --roots "$work/root.pem" --host evil.example.com \
    --at 2022-04-22 >/dev/null 2>&1; then fail "wrong host accepted"; fi
if "$tool" verify --release "$work/release.json" --roots "$work/root.pem" --at 2022-04-22 \
    --key https://kashifkhankeyvault.vault.azure.net/keys/other >/dev/null 2>&1; then
    fail "wrong key accepted"
fi

# (2) MAA-shaped tokens from an independent signer.
$py - "$work" <<'PYEOF'
import base64, json, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
w = sys.argv[1]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
n = k.public_key().public_numbers().n
iss = "https://maa.skr.localhost:8443"
json.dump({"keys": [{"kty": "RSA", "kid": "kid-1", "n": b64(n.to_bytes(256, "big")),
                     "e": "AQAB"}]}, open(w + "/jwks.json", "w"))
json.dump({"issuer": iss, "jwks_uri": iss + "/certs"}, open(w + "/oidc.json", "w"))
def tok(claims, alg="RS256"):
    h = b64(json.dumps({"alg": alg, "kid": "kid-1", "typ": "JWT"}).encode())
    p = b64(json.dumps(claims).encode())
    sig = k.sign((h + "." + p).encode(), padding.PKCS1v15(), hashes.SHA256())
    return h + "." + p + "." + b64(sig)
c = {"iss": iss, "nbf": 1700000000, "exp": 1700028800, "x-ms-attestation-type": "azurevm"}
open(w + "/good.jwt", "w").write(tok(c) + "\n")
open(w + "/other.jwt", "w").write(tok(dict(c, iss="https://evil.example")) + "\n")
t = tok(c)
open(w + "/tampered.jwt", "w").write(t.replace(t.split(".")[1], b64(json.dumps(dict(c, exp=1900000000)).encode())))
open(w + "/hs.jwt", "w").write(tok(c, "HS256"))
PYEOF
if "$tool" verify --token "$work/good.jwt" --jwks "$work/jwks.json" >/dev/null 2>&1; then
    fail "expired token accepted today"
fi
"$tool" verify --token "$work/good.jwt" --jwks "$work/jwks.json" --oidc "$work/oidc.json" \
    --at 1700001000 >"$work/claims.json" || fail "good token refused"
grep -q '"x-ms-attestation-type": "azurevm"' "$work/claims.json" || fail "claims not printed"
for bad in other tampered hs; do
    if "$tool" verify --token "$work/$bad.jwt" --jwks "$work/jwks.json" --oidc "$work/oidc.json" \
        --at 1700001000 >/dev/null 2>&1; then fail "$bad token accepted"; fi
done
if "$tool" verify --token "$work/good.jwt" --jwks "$work/jwks.json" --at 1700100000 \
    >/dev/null 2>&1; then fail "expired token accepted"; fi
echo "skr-tool verify: all checks passed"
