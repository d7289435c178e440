"""JWT verification (HS256 secret, RS256 public key or JWKS by `kid`) and role dependencies."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from jwt.types import Options

from retailcare_shared.problems import Forbidden, Unauthorized
from retailcare_shared.settings import ConfigurationError, PlatformSettings

LEEWAY_SECONDS = 5
# Verified tokens remembered per process: a caller sends the same token on every request, and
# checking an HS256/RS256 signature and the claims again each time is pure repeated CPU.
VERIFIED_CACHE_SIZE = 4096

ROLES = frozenset(
    {"order_platform", "call_center", "customer_manager", "supervisor", "analyst", "admin"}
)
# Roles that may see personal data (gateway.md, field-level rules); a manager only for own shops.
PERSONAL_DATA_ROLES = frozenset({"call_center", "supervisor", "admin"})


@dataclass(frozen=True)
class Principal:
    """The verified caller."""

    sub: str
    roles: frozenset[str]
    manager_id: uuid.UUID | None = None
    county: str | None = None

    def has(self, *roles: str) -> bool:
        """True if the caller holds any of the roles."""
        return not self.roles.isdisjoint(roles)

    @property
    def is_admin(self) -> bool:
        """Admins may do everything."""
        return "admin" in self.roles


class TokenVerifier:
    """Verifies bearer tokens with exactly one configured algorithm (never `none`)."""

    def __init__(self, settings: PlatformSettings) -> None:
        public_key = settings.auth_jwt_public_key
        if settings.auth_jwt_public_key_file:
            public_key = Path(settings.auth_jwt_public_key_file).read_text()
        # kid → key when a JWKS file is configured (it wins over a single key or a secret).
        self._keys_by_kid: dict[str, Any] | None = None
        self._key: Any = None
        if settings.auth_jwks_file:
            self._keys_by_kid = load_jwks(settings.auth_jwks_file)
            self._algorithm = "RS256"
        elif public_key:
            self._key = public_key
            self._algorithm = "RS256"
        elif settings.auth_jwt_secret is not None:
            self._key = settings.auth_jwt_secret.get_secret_value()
            self._algorithm = "HS256"
        else:  # settings validation makes this unreachable
            raise ValueError("no token verification key configured")
        self._issuer = settings.auth_jwt_issuer
        self._audience = settings.auth_jwt_audience
        required = ["exp", "sub"]
        if self._issuer is not None:
            required.append("iss")
        if self._audience is not None:
            required.append("aud")
        # Without a configured audience, `aud` is not ours to judge (the check is optional).
        self._options: Options = {
            "require": required,
            "verify_aud": self._audience is not None,
        }
        # token → (principal, exp): only tokens that passed every check; the key never changes.
        self._verified: dict[str, tuple[Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        """Decode and validate a token (or reuse an earlier verdict); raise Unauthorized."""
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            # The signature and claims cannot change; only the clock moves on (iat/nbf only
            # become more valid with time, exp less).
            if time.time() < expires + LEEWAY_SECONDS:
                return principal
            del self._verified[token]
            raise Unauthorized("the token has expired")
        principal, expires = self._decode(token)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            # Drop the oldest entry (dicts keep insertion order).
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (principal, expires)
        return principal

    def _signing_key(self, token: str) -> Any:
        """The configured key, or the JWKS key named by the token's `kid` header."""
        if self._keys_by_kid is None:
            return self._key
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"invalid token: {error}") from None
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("invalid token: the header names no signing key (`kid`)")
        key = self._keys_by_kid.get(kid)
        if key is None:
            raise Unauthorized("invalid token: unknown signing key (`kid`)")
        return key

    def _decode(self, token: str) -> tuple[Principal, float]:
        key = self._signing_key(token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[self._algorithm],
                options=self._options,
                leeway=LEEWAY_SECONDS,
                issuer=self._issuer,
                audience=self._audience,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"invalid token: {error}") from None
        return principal_from_claims(claims), float(claims["exp"])


def load_jwks(path: str) -> dict[str, Any]:
    """kid → RS256 public key from a JWKS file; ConfigurationError naming AUTH_JWKS_FILE."""
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ConfigurationError(f"AUTH_JWKS_FILE: cannot read a JWKS document: {error}") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise ConfigurationError("AUTH_JWKS_FILE: a JWKS document needs a `keys` list")
    keys: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ConfigurationError("AUTH_JWKS_FILE: every entry of `keys` must be an object")
        # Encryption keys and other algorithms may share the document; they never sign ours.
        if entry.get("use", "sig") != "sig" or entry.get("alg", "RS256") != "RS256":
            continue
        kid = entry.get("kid")
        if not isinstance(kid, str) or not kid:
            raise ConfigurationError("AUTH_JWKS_FILE: every signing key needs a `kid`")
        if kid in keys:
            raise ConfigurationError(f"AUTH_JWKS_FILE: `kid` {kid!r} appears twice")
        try:
            keys[kid] = jwt.PyJWK(entry, algorithm="RS256").key
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as error:
            raise ConfigurationError(
                f"AUTH_JWKS_FILE: key {kid!r} is not an RSA key: {error}"
            ) from None
    if not keys:
        raise ConfigurationError("AUTH_JWKS_FILE: the document holds no RS256 signing key")
    return keys


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Validate the claims RetailCare relies on and build the Principal."""
    roles = claims.get("roles")
    if not isinstance(roles, list) or not roles or not all(isinstance(role, str) for role in roles):
        raise Unauthorized("invalid token: `roles` must be a non-empty list of role names")
    unknown = set(roles) - ROLES
    if unknown:
        raise Unauthorized(f"invalid token: unknown roles {sorted(unknown)}")
    manager_id = claims.get("manager_id")
    try:
        parsed_manager = uuid.UUID(str(manager_id)) if manager_id else None
    except ValueError:
        raise Unauthorized("invalid token: `manager_id` must be a UUID") from None
    if "customer_manager" in roles and parsed_manager is None:
        raise Unauthorized("invalid token: a customer_manager token needs `manager_id`")
    county = claims.get("county")
    return Principal(
        sub=str(claims["sub"]),
        roles=frozenset(roles),
        manager_id=parsed_manager,
        county=str(county) if county else None,
    )


def issue_token(
    secret: str,
    *,
    sub: str,
    roles: Iterable[str],
    ttl_seconds: int = 3600,
    manager_id: str | None = None,
    county: str | None = None,
    algorithm: str = "HS256",
) -> str:
    """Sign a development token (production tokens come from the identity provider)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "roles": list(roles),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if manager_id:
        claims["manager_id"] = manager_id
    if county:
        claims["county"] = county
    return jwt.encode(claims, secret, algorithm=algorithm)


def current_principal(request: Request) -> Principal:
    """The verified caller of this request (401 problem if the token is missing or bad)."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required")
    verifier: TokenVerifier = request.app.state.token_verifier
    return verifier.verify(token.strip())


async def _principal(request: Request) -> Principal:
    # An async dependency runs inline; FastAPI runs a plain `def` one in a worker thread, and
    # that hand-off cost more than verifying the token itself.
    return current_principal(request)


CurrentUser = Annotated[Principal, Depends(_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency allowing only the given roles (admin always allowed)."""
    allowed = frozenset(roles) | {"admin"}

    async def dependency(principal: CurrentUser) -> Principal:
        if principal.roles.isdisjoint(allowed):
            raise Forbidden(f"this action needs one of the roles {sorted(allowed)}")
        return principal

    return dependency
