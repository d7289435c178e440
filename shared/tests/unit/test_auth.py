"""Token verification: RS256 with a public key or JWKS, HS256 with a secret, never `alg: none`."""

import json
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from retailcare_shared.auth import TokenVerifier
from retailcare_shared.problems import Unauthorized
from retailcare_shared.settings import ConfigurationError, PlatformSettings

MANAGER = "7d0f0a38-0d7e-4d4e-9d61-1f3a7f1b2c11"


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def claims(**extra: object) -> dict[str, object]:
    return {
        "sub": "u1",
        "roles": ["customer_manager"],
        "manager_id": MANAGER,
        "county": "330102",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
        **extra,
    }


def test_rs256_token_is_verified_with_the_public_key(key_pair: tuple[bytes, str]) -> None:
    private, public = key_pair
    verifier = TokenVerifier(
        PlatformSettings(kafka_bootstrap_servers="k:1", auth_jwt_public_key=public)
    )

    principal = verifier.verify(jwt.encode(claims(), private, algorithm="RS256"))

    assert principal.sub == "u1"
    assert principal.roles == frozenset({"customer_manager"})
    assert str(principal.manager_id) == MANAGER
    assert principal.county == "330102"


def test_rs256_verifier_refuses_hs256_tokens_signed_with_the_public_key(
    key_pair: tuple[bytes, str],
) -> None:
    _, public = key_pair
    verifier = TokenVerifier(
        PlatformSettings(kafka_bootstrap_servers="k:1", auth_jwt_public_key=public)
    )
    forged = jwt.api_jws.PyJWS().encode(
        jwt.utils.force_bytes('{"sub":"u1","roles":["admin"],"exp":4102444800}'),
        "x" * 32,
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized):
        verifier.verify(forged)


def test_manager_token_without_manager_id_is_refused() -> None:
    verifier = TokenVerifier(
        PlatformSettings(kafka_bootstrap_servers="k:1", auth_jwt_secret="s" * 32)
    )
    token = jwt.encode(claims(manager_id=None), "s" * 32, algorithm="HS256")
    with pytest.raises(Unauthorized, match="needs `manager_id`"):
        verifier.verify(token)


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(
        PlatformSettings(kafka_bootstrap_servers="k:1", auth_jwt_secret="s" * 32)
    )
    now = time.time()
    token = jwt.encode(claims(exp=int(now) + 60), "s" * 32, algorithm="HS256")
    assert verifier.verify(token).sub == "u1"
    assert verifier.verify(token).sub == "u1"  # the second time from the verified-token cache

    monkeypatch.setattr(time, "time", lambda: now + 3600)
    with pytest.raises(Unauthorized, match="expired"):
        verifier.verify(token)


def test_refused_tokens_are_never_remembered() -> None:
    verifier = TokenVerifier(
        PlatformSettings(kafka_bootstrap_servers="k:1", auth_jwt_secret="s" * 32)
    )
    token = jwt.encode(claims(), "x" * 32, algorithm="HS256")
    for _ in range(2):
        with pytest.raises(Unauthorized, match="invalid token"):
            verifier.verify(token)


def rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, object]:
    """The public JWK of a key, as an identity provider publishes it."""
    document = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**document, "kid": kid, "use": "sig", "alg": "RS256"}


@pytest.fixture(scope="module")
def two_keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return rsa_private_key(), rsa_private_key()


@pytest.fixture
def jwks_file(tmp_path: Path, two_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> Path:
    current, next_key = two_keys
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk(current, "2026-11"), jwk(next_key, "2026-12")]}))
    return path


def signed(key: rsa.RSAPrivateKey, kid: str | None, **extra: object) -> str:
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims(**extra), key, algorithm="RS256", headers=headers)


def jwks_verifier(path: Path, **settings: str) -> TokenVerifier:
    return TokenVerifier(
        PlatformSettings(kafka_bootstrap_servers="k:1", auth_jwks_file=str(path), **settings)
    )


def test_jwks_key_is_selected_by_kid(
    jwks_file: Path, two_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    current, next_key = two_keys
    verifier = jwks_verifier(jwks_file)

    assert verifier.verify(signed(current, "2026-11", sub="old-key")).sub == "old-key"
    assert verifier.verify(signed(next_key, "2026-12", sub="new-key")).sub == "new-key"
    # Signed with one key but naming the other: the named key does not verify it.
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(signed(current, "2026-12"))


def test_jwks_refuses_an_unknown_or_missing_kid(
    jwks_file: Path, two_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    current, _ = two_keys
    verifier = jwks_verifier(jwks_file)

    with pytest.raises(Unauthorized, match="unknown signing key"):
        verifier.verify(signed(current, "2025-01"))
    with pytest.raises(Unauthorized, match="names no signing key"):
        verifier.verify(signed(current, None))
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(
            jwt.encode(claims(), "s" * 32, algorithm="HS256", headers={"kid": "2026-11"})
        )


def test_a_jwks_file_without_signing_keys_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{"kty": "RSA", "use": "enc", "kid": "x"}]}))
    with pytest.raises(ConfigurationError, match="AUTH_JWKS_FILE"):
        jwks_verifier(path)
    path.write_text("not json")
    with pytest.raises(ConfigurationError, match="AUTH_JWKS_FILE"):
        jwks_verifier(path)


def test_issuer_and_audience_are_checked_when_configured(
    jwks_file: Path, two_keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    current, _ = two_keys
    verifier = jwks_verifier(
        jwks_file,
        auth_jwt_issuer="https://idp.example.cn",
        auth_jwt_audience="retailcare",
    )
    good = {"iss": "https://idp.example.cn", "aud": ["retailcare", "crm"]}

    assert verifier.verify(signed(current, "2026-11", **good)).sub == "u1"
    for wrong in (
        {**good, "iss": "https://evil.example"},
        {**good, "aud": "another-app"},
        {"aud": "retailcare"},  # no iss
        {"iss": "https://idp.example.cn"},  # no aud
    ):
        with pytest.raises(Unauthorized, match="invalid token"):
            verifier.verify(signed(current, "2026-11", **wrong))


def test_issuer_and_audience_are_not_judged_when_not_configured() -> None:
    verifier = TokenVerifier(
        PlatformSettings(kafka_bootstrap_servers="k:1", auth_jwt_secret="s" * 32)
    )
    token = jwt.encode(claims(iss="anyone", aud="anything"), "s" * 32, algorithm="HS256")
    assert verifier.verify(token).sub == "u1"


def test_hs256_issuer_is_checked_too() -> None:
    verifier = TokenVerifier(
        PlatformSettings(
            kafka_bootstrap_servers="k:1", auth_jwt_secret="s" * 32, auth_jwt_issuer="idp"
        )
    )
    assert verifier.verify(jwt.encode(claims(iss="idp"), "s" * 32, algorithm="HS256")).sub == "u1"
    with pytest.raises(Unauthorized, match="invalid token"):
        verifier.verify(jwt.encode(claims(iss="other"), "s" * 32, algorithm="HS256"))
