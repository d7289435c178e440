"""JWT verification (HS256 shared secret or RS256 public key) and role dependencies."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request

from retailcare_shared.problems import Forbidden, Unauthorized
from retailcare_shared.settings import PlatformSettings

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
        if public_key:
            self._key: Any = public_key
            self._algorithm = "RS256"
        elif settings.auth_jwt_secret is not None:
            self._key = settings.auth_jwt_secret.get_secret_value()
            self._algorithm = "HS256"
        else:  # settings validation makes this unreachable
            raise ValueError("no token verification key configured")

    def verify(self, token: str) -> Principal:
        """Decode and validate a token; raise Unauthorized with the reason."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                options={"require": ["exp", "sub"]},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the token has expired") from None
        except jwt.InvalidTokenError as error:
            raise Unauthorized(f"invalid token: {error}") from None
        return principal_from_claims(claims)


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
    import time

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


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """Dependency allowing only the given roles (admin always allowed)."""
    allowed = frozenset(roles) | {"admin"}

    def dependency(principal: CurrentUser) -> Principal:
        if principal.roles.isdisjoint(allowed):
            raise Forbidden(f"this action needs one of the roles {sorted(allowed)}")
        return principal

    return dependency
