"""API keys and JWTs (HS256, and RS256 against a real JWKS endpoint) turned into tenants."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from agentgym.auth import (
    DEFAULT_TENANT,
    ApiKeyAuth,
    AuthError,
    ConfigError,
    JwtAuth,
    authenticator,
    bearer,
    from_subprotocols,
    hash_key,
    new_key,
)

from ..servers import serve_asgi

SECRET = "s" * 40


def test_off_means_everyone_is_the_default_tenant() -> None:
    assert authenticator("off").authenticate(None).tenant == DEFAULT_TENANT


def test_api_keys_are_configured_as_hashes_and_name_their_tenant() -> None:
    key = new_key()
    auth = ApiKeyAuth(f"acme:{hash_key(key)}, other:{hash_key('x')}")
    assert auth.authenticate(key).tenant == "acme"
    with pytest.raises(AuthError, match="not valid"):
        auth.authenticate(key + "x")
    with pytest.raises(AuthError, match="required"):
        auth.authenticate(None)


def test_a_key_has_the_scopes_its_entry_grants() -> None:
    plain, reader = new_key(), new_key()
    auth = ApiKeyAuth(f"acme:{hash_key(plain)},acme:{hash_key(reader)}:decisions")
    assert auth.authenticate(plain).scopes == frozenset()
    assert auth.authenticate(reader).scopes == {"decisions"}
    assert authenticator("off").authenticate(None).scopes == {"decisions"}  # the local user


@pytest.mark.parametrize(
    "entries",
    ["", "acme:notahash", f"bad tenant:{'0' * 64}", f"default:{'0' * 64}", f"acme:{'0' * 64}:root"],
)
def test_bad_api_key_configuration_fails_at_start(entries: str) -> None:
    with pytest.raises(ConfigError):
        ApiKeyAuth(entries)


def test_keys_create_prints_a_key_and_a_working_entry() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "keys", "create", "--tenant", "acme"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    key, entry = out[1].strip(), out[3].strip()
    assert entry.startswith("acme:") and key not in entry
    assert ApiKeyAuth(entry).authenticate(key).tenant == "acme"
    scoped = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "keys", "create", "--tenant", "acme",
         "--scope", "decisions"], capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert scoped[3].strip().endswith(":decisions")
    assert ApiKeyAuth(scoped[3].strip()).authenticate(scoped[1].strip()).scopes == {"decisions"}
    refused = subprocess.run(
        [sys.executable, "-m", "agentgym.cli", "keys", "create", "--tenant", "acme",
         "--scope", "root"], capture_output=True, text=True,
    )  # fmt: skip
    assert refused.returncode == 2 and "root" in refused.stderr


def hs256(claims: dict[str, object], secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm="HS256")


def test_hs256_tokens_carry_the_tenant_claim() -> None:
    auth = JwtAuth(secret=SECRET)
    assert auth.authenticate(hs256({"tenant": "acme", "exp": time.time() + 60})).tenant == "acme"
    for token, says in (
        (hs256({"tenant": "acme", "exp": time.time() - 10}), "expired"),
        (hs256({"tenant": "acme", "exp": time.time() + 60}, "w" * 40), "not valid"),
        (hs256({"sub": "someone", "exp": time.time() + 60}), "tenant"),
        (hs256({"tenant": "acme"}), "'exp'"),  # a token that never expires is refused
        (hs256({"tenant": "default", "exp": time.time() + 60}), "default"),
        ("not.a.jwt", "not valid"),
    ):
        with pytest.raises(AuthError, match=says):
            auth.authenticate(token)


def test_a_tokens_scope_claim_grants_the_scopes_it_names() -> None:
    auth = JwtAuth(secret=SECRET)
    exp = time.time() + 60
    assert auth.authenticate(hs256({"tenant": "acme", "exp": exp})).scopes == frozenset()
    scoped = hs256({"tenant": "acme", "exp": exp, "scope": "openid decisions"})
    assert auth.authenticate(scoped).scopes == {"decisions"}  # the ones it knows


def test_a_short_jwt_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="32"):
        JwtAuth(secret="short")


@pytest.fixture
def jwks() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """A JWKS endpoint over HTTP serving one RSA public key, as an identity provider does."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    app = FastAPI()

    @app.get("/.well-known/jwks.json")
    def keys() -> dict[str, object]:
        return {"keys": [public | {"kid": "k1", "use": "sig", "alg": "RS256"}]}

    with serve_asgi(app) as url:
        yield f"{url}/.well-known/jwks.json", private


def test_rs256_tokens_are_checked_against_the_jwks(jwks: tuple[str, rsa.RSAPrivateKey]) -> None:
    url, private = jwks
    auth = JwtAuth(jwks_url=url)
    claims = {"tenant": "acme", "exp": time.time() + 60}
    token = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k1"})
    assert auth.authenticate(token).tenant == "acme"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": "k1"})
    with pytest.raises(AuthError):
        auth.authenticate(forged)
    unknown = jwt.encode(claims, private, algorithm="RS256", headers={"kid": "k9"})
    with pytest.raises(AuthError, match="unknown"):
        auth.authenticate(unknown)


def test_credentials_are_found_where_clients_put_them() -> None:
    assert bearer("Bearer abc") == "abc" and bearer("Basic abc") is None and bearer(None) is None
    assert from_subprotocols(["agentgym", "tok.en"]) == "tok.en"
    assert from_subprotocols(["agentgym"]) is None
