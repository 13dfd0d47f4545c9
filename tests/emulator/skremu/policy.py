# SPDX-License-Identifier: Apache-2.0
"""Key release policy (spec §g): normalisation as Key Vault does it on create, and evaluation of
an attestation token against it."""
import json
import time

from . import jose

OPS = ("equals", "notEquals", "less", "lessOrEquals", "greater", "greaterOrEquals", "exists")
CLOCK_SKEW = 300  # seconds tolerated on exp/nbf (UNVERIFIED in the spec; README)


class PolicyError(Exception):
    """Malformed policy (400 on create/import)."""


class ReleaseDenied(Exception):
    """Token valid but the policy is not satisfied, or no authority matches (403)."""


class TokenInvalid(Exception):
    """Token cannot be verified: malformed, bad signature, expired, unknown key (400)."""


def _string_form(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    raise PolicyError("condition values must be strings, numbers or booleans")


def _norm_condition(cond):
    if not isinstance(cond, dict):
        raise PolicyError("a condition must be an object")
    for group in ("anyOf", "allOf"):
        if group in cond:
            items = cond[group]
            if not isinstance(items, list) or not items:
                raise PolicyError("%s must be a non-empty array" % group)
            return {group: [_norm_condition(c) for c in items]}
    claim = cond.get("claim")
    ops = [op for op in OPS if op in cond]
    if not isinstance(claim, str) or not claim or len(ops) != 1:
        raise PolicyError("a claim condition needs 'claim' and exactly one operator")
    op = ops[0]
    value = cond[op]
    if op == "exists":
        return {"claim": claim, op: _string_form(value if value is not None else True)}
    return {"claim": claim, op: _string_form(value)}


def normalize(policy):
    """Re-serialise like AKV: {version, anyOf:[{authority, anyOf|allOf:[...]}]}, values as
    strings (bool true -> "true"), compact."""
    if not isinstance(policy, dict):
        raise PolicyError("the release policy must be a JSON object")
    version = policy.get("version", "1.0.0")
    auths = policy.get("anyOf")
    if not isinstance(auths, list) or not auths:
        raise PolicyError("the release policy needs a non-empty top-level anyOf of authorities")
    out = []
    for a in auths:
        if not isinstance(a, dict) or not isinstance(a.get("authority"), str):
            raise PolicyError("each top-level anyOf entry needs an authority")
        entry = {"authority": a["authority"]}
        groups = [g for g in ("anyOf", "allOf") if g in a]
        if len(groups) != 1 or not isinstance(a[groups[0]], list) or not a[groups[0]]:
            raise PolicyError("an authority needs exactly one non-empty anyOf or allOf")
        entry[groups[0]] = [_norm_condition(c) for c in a[groups[0]]]
        out.append(entry)
    return {"version": str(version), "anyOf": out}


def encode(policy):
    return jose.b64url(jose.compact_json(policy).encode())


def decode(data):
    try:
        return json.loads(jose.b64url_decode(data))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PolicyError("release_policy.data is not b64url JSON") from exc


def lookup(claims, path):
    """Dotted path into nested objects; an exact top-level name with dots wins."""
    if path in claims:
        return True, claims[path]
    cur = claims
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return False, None
        cur = cur[part]
    return True, cur


def _num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _compare(op, actual, expected):
    if isinstance(actual, (dict, list)) or actual is None:
        return False
    a = _string_form(actual)
    if op == "equals":
        return a == expected
    if op == "notEquals":
        return a != expected
    an, en = _num(a), _num(expected)
    if an is not None and en is not None:
        a, expected = an, en
    return {"less": a < expected, "lessOrEquals": a <= expected,
            "greater": a > expected, "greaterOrEquals": a >= expected}[op]


def eval_condition(cond, claims):
    if "anyOf" in cond:
        return any(eval_condition(c, claims) for c in cond["anyOf"])
    if "allOf" in cond:
        return all(eval_condition(c, claims) for c in cond["allOf"])
    found, actual = lookup(claims, cond["claim"])
    for op in OPS:
        if op in cond:
            if op == "exists":
                return found == (str(cond[op]).lower() != "false")
            return found and _compare(op, actual, cond[op])
    return False


def same_authority(a, b):
    return a.rstrip("/").lower() == b.rstrip("/").lower()


def evaluate(policy, token, resolve_key, now=None):
    """Verify `token` and evaluate it against the normalised `policy`.

    resolve_key(authority, header) -> RSA public key (OIDC metadata -> jwks_uri -> kid) or raises
    TokenInvalid. Returns the token claims when the key may be released."""
    now = time.time() if now is None else now
    try:
        header, claims, _sig, _inp = jose.split(token)
    except jose.JoseError as exc:
        raise TokenInvalid(str(exc)) from exc
    iss = claims.get("iss")
    if not isinstance(iss, str):
        raise TokenInvalid("the attestation token has no issuer")
    matching = [a for a in policy["anyOf"] if same_authority(a["authority"], iss)]
    if not matching:
        raise ReleaseDenied("the token issuer %s is not an authority of the key release policy"
                            % iss)
    key = resolve_key(matching[0]["authority"], header)
    try:
        jose.verify_rs256(token, key)
    except jose.JoseError as exc:
        raise TokenInvalid("the attestation token signature is invalid") from exc
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, (int, float)) or exp + CLOCK_SKEW < now:
        raise TokenInvalid("the attestation token is expired")
    if isinstance(nbf, (int, float)) and nbf - CLOCK_SKEW > now:
        raise TokenInvalid("the attestation token is not yet valid")
    for auth in matching:
        group = "allOf" if "allOf" in auth else "anyOf"
        if eval_condition({group: auth[group]}, claims):
            return claims
    raise ReleaseDenied("the attestation token claims do not satisfy the key release policy")
