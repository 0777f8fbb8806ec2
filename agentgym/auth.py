"""Who is calling: API keys or JWTs, each naming a tenant. Off by default, for local use.

- `off`: everyone is the `default` tenant.
- `apikey`: `AGENTGYM_API_KEYS` lists `tenant:sha256-hex-of-key[:scope+scope]` entries; only
  hashes are configured or kept. A client sends the key as `Authorization: Bearer <key>` or
  `X-API-Key`.
- `jwt`: HS256 with `AGENTGYM_JWT_SECRET`, or RS256 (and the other asymmetric algorithms)
  against the keys at `AGENTGYM_JWT_JWKS_URL`, so an API gateway's authorizer and the app
  accept the same tokens. The tenant is the `tenant` claim; `exp` is required and enforced;
  scopes are the space-separated `scope` claim (OAuth 2.0's).

Scopes grant what every key need not: `decisions`, reading what served models chose
(`GET /api/decisions...`), which holds users' own words. Any key may do the rest, a gateway's
key writing decisions included. With authentication off, the one local user has every scope.

A key or token never names the `default` tenant: its things are the ones everyone reaches
when authentication is off.

A browser cannot set headers on a WebSocket: it passes the token as a `Sec-WebSocket-Protocol`
value (offering `agentgym` and the token) or as a `token` query parameter.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from agentgym.errors import AgentGymError

if TYPE_CHECKING:
    from agentgym.config import CommonSettings

DEFAULT_TENANT = "default"
SUBPROTOCOL = "agentgym"  # what the WebSocket servers accept when a token rides along
_TENANT = re.compile(r"[A-Za-z0-9_-]{1,64}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
DECISIONS = "decisions"  # the scope that reads decisions
SCOPES = frozenset({DECISIONS})


class AuthError(AgentGymError):
    """Missing or bad credentials; the message says which, never why a secret failed."""


class ConfigError(AgentGymError, ValueError):
    """Authentication is configured wrongly; raised at start, not per request."""


@dataclass(frozen=True)
class Principal:
    tenant: str
    scopes: frozenset[str] = frozenset()


def check_scopes(scopes: list[str], where: str) -> frozenset[str]:
    unknown = sorted(set(scopes) - SCOPES)
    if unknown:
        raise ConfigError(f"{where}: unknown scopes {unknown}; the scopes are {sorted(SCOPES)}")
    return frozenset(scopes)


def check_tenant(tenant: str) -> str:
    if not _TENANT.fullmatch(tenant):
        raise ConfigError(f"tenant {tenant!r}: use 1-64 letters, digits, '_' or '-'")
    if tenant == DEFAULT_TENANT:
        raise ConfigError(
            f"tenant {DEFAULT_TENANT!r} is what authentication off uses; name the tenant otherwise"
        )
    return tenant


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A new API key: 256 random bits, URL-safe (and so usable as a WebSocket subprotocol)."""
    return f"agk_{secrets.token_urlsafe(32)}"


class Authenticator(Protocol):
    """Turns a presented credential (or none) into a Principal, or raises AuthError."""

    blocking: bool  # authenticate may wait on the network (a JWKS fetch)

    def authenticate(self, credential: str | None) -> Principal: ...


async def authenticate(authenticator: Authenticator, credential: str | None) -> Principal:
    """From an event loop: a check that may wait on the network runs in a thread, so that a
    token naming an unknown key (a JWKS fetch) never stalls the other requests."""
    if authenticator.blocking:
        return await asyncio.to_thread(authenticator.authenticate, credential)
    return authenticator.authenticate(credential)


class NoAuth:
    blocking = False

    def authenticate(self, credential: str | None) -> Principal:
        return Principal(DEFAULT_TENANT, SCOPES)


class ApiKeyAuth:
    blocking = False

    def __init__(self, entries: str) -> None:
        self.principals: dict[str, Principal] = {}
        for entry in filter(None, (e.strip() for e in entries.split(","))):
            tenant, _, rest = entry.partition(":")
            digest, _, scopes = rest.partition(":")
            where = f"AGENTGYM_API_KEYS entry for {tenant!r}"
            if not _HEX_SHA256.fullmatch(digest):
                raise ConfigError(
                    f"{where}: expected tenant:<64 hex digits of the key's SHA-256>[:scope+scope] "
                    "(agentgym keys create prints one)"
                )
            granted = check_scopes(scopes.split("+") if scopes else [], where)
            self.principals[digest] = Principal(check_tenant(tenant), granted)
        if not self.principals:
            raise ConfigError("AGENTGYM_AUTH=apikey needs AGENTGYM_API_KEYS (agentgym keys create)")

    def authenticate(self, credential: str | None) -> Principal:
        if not credential:
            raise AuthError("an API key is required: send Authorization: Bearer <key>")
        principal = self.principals.get(hash_key(credential))
        if principal is None:
            raise AuthError("the API key is not valid")
        return principal


class JwtAuth:
    def __init__(self, secret: str = "", jwks_url: str = "", audience: str = "") -> None:
        if not secret and not jwks_url:
            raise ConfigError(
                "AGENTGYM_AUTH=jwt needs AGENTGYM_JWT_SECRET or AGENTGYM_JWT_JWKS_URL"
            )
        if secret and len(secret) < 32:
            raise ConfigError("AGENTGYM_JWT_SECRET must be at least 32 characters")
        import jwt  # PyJWT loads cryptography: only processes that check JWTs pay for it

        self.jwt = jwt
        self.secret = secret
        self.jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self.blocking = self.jwks is not None
        self.audience = audience or None

    def authenticate(self, credential: str | None) -> Principal:
        if not credential:
            raise AuthError("a token is required: send Authorization: Bearer <JWT>")
        jwt = self.jwt
        try:
            if self.jwks is not None:
                key = self.jwks.get_signing_key_from_jwt(credential).key
                algorithms = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
            else:
                key, algorithms = self.secret, ["HS256"]
            claims = jwt.decode(
                credential,
                key,
                algorithms=algorithms,
                audience=self.audience,
                options={"verify_aud": self.audience is not None, "require": ["exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("the token has expired") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"the token has no {exc.claim!r} claim; it must expire") from None
        except jwt.PyJWKClientError:
            raise AuthError("the token's signing key is unknown") from None
        except jwt.InvalidTokenError:
            raise AuthError("the token is not valid") from None
        tenant = claims.get("tenant")
        if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
            raise AuthError("the token has no valid 'tenant' claim")
        if tenant == DEFAULT_TENANT:
            raise AuthError(f"the token's tenant may not be {DEFAULT_TENANT!r}")
        scope = claims.get("scope")
        granted = SCOPES & set(scope.split()) if isinstance(scope, str) else frozenset()
        return Principal(tenant, frozenset(granted))


def authenticator(
    mode: str, api_keys: str = "", jwt_secret: str = "", jwt_jwks_url: str = ""
) -> Authenticator:
    """The authenticator a process's settings ask for (ConfigError when they don't add up)."""
    if mode == "off":
        return NoAuth()
    if mode == "apikey":
        return ApiKeyAuth(api_keys)
    if mode == "jwt":
        return JwtAuth(jwt_secret, jwt_jwks_url)
    raise ConfigError(f"AGENTGYM_AUTH is off, apikey or jwt, not {mode!r}")


def authenticator_for(settings: CommonSettings) -> Authenticator:
    """The authenticator of a process's settings (AGENTGYM_AUTH and what its mode needs)."""
    return authenticator(
        settings.auth, settings.api_keys, settings.jwt_secret, settings.jwt_jwks_url
    )


def bearer(authorization: str | None) -> str | None:
    """The credential in an `Authorization: Bearer ...` header."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def from_subprotocols(offered: list[str]) -> str | None:
    """The token a browser offered as a WebSocket subprotocol beside `agentgym`."""
    others = [p for p in offered if p != SUBPROTOCOL]
    return others[0] if others else None
