"""Token verification: RS256 with a public key, HS256 with a secret, never `alg: none`."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from retailcare_shared.auth import TokenVerifier
from retailcare_shared.problems import Unauthorized
from retailcare_shared.settings import PlatformSettings

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
