"""Signing keys: one active ES256 and one active PS256 key for tokens, and one PS256 key for Open Banking messages.

Rotation keeps retired keys published a while: token keys until every token they signed has expired, message
keys long enough for TPPs that verify a response's `x-jws-signature` after receiving it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy.ext.asyncio import AsyncSession

from auth_server.oauth.config import SIGNING_KEY_CACHE_S, OAuthConfig
from auth_server.oauth.events import KEYS_TOPIC, report_oauth_change
from auth_server.oauth.jose import SERVER_SIGNING_ALGORITHMS
from auth_server.oauth.keys import repository
from auth_server.oauth.keys.models import SigningKey, SigningKeyPurpose, SigningKeyStatus
from obank.actor import Actor
from obank.crypto import KeyRing, seal, unseal
from obank.unit_of_work import UnitOfWork, UnitsOfWork

SEAL_PURPOSE = "oauth-signing-key"
RSA_BITS = 2048
# A refresh for an unknown kid at most this often, so forged kids cannot hammer the database.
UNKNOWN_KID_REFRESH_S = 1.0
# Who creates the first keys when a process finds none.
KEYS_ACTOR = Actor.system("auth_server")
# R/W API Profile, "Message Signing": the signer must sign with PS256.
MESSAGE_SIGNING_ALGORITHM = "PS256"
# A retired message key stays published a day: a TPP may verify a response it received (and kept) later.
MESSAGE_KEY_PUBLICATION_S = 24 * 3600
# Every key the store keeps active: (purpose, algorithm).
ACTIVE_KEYS: tuple[tuple[SigningKeyPurpose, str], ...] = (
    *((SigningKeyPurpose.TOKENS, alg) for alg in SERVER_SIGNING_ALGORITHMS),
    (SigningKeyPurpose.MESSAGES, MESSAGE_SIGNING_ALGORITHM),
)

PrivateKey = ECKey | RSAKey


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A signing key as operators see it."""

    kid: str
    alg: str
    purpose: SigningKeyPurpose
    status: SigningKeyStatus
    created_at: datetime
    retired_at: datetime | None
    publish_until: datetime | None


def _generate(alg: str) -> PrivateKey:
    if alg == "ES256":
        return ECKey.generate_key("P-256", private=True)
    if alg == "PS256":
        return RSAKey.generate_key(RSA_BITS, private=True)
    raise ValueError(f"no key generation for {alg}")


def _new_key(keyring: KeyRing, purpose: SigningKeyPurpose, alg: str, now: datetime) -> SigningKey:
    private = _generate(alg)
    kid = private.thumbprint()  # RFC 7638: stable, and unique per key
    key_id = uuid.uuid4()
    public_jwk: dict[str, Any] = {**private.as_dict(private=False), "kid": kid, "alg": alg, "use": "sig"}
    return SigningKey(
        id=key_id,
        kid=kid,
        alg=alg,
        purpose=purpose,
        status=SigningKeyStatus.ACTIVE,
        public_jwk=public_jwk,
        private_jwk_sealed=seal(keyring, key_id, SEAL_PURPOSE, json.dumps(private.as_dict(private=True)).encode()),
        created_at=now,
    )


async def ensure_signing_keys(uow: UnitOfWork, *, now: datetime | None = None) -> list[str]:
    """Create the missing active key of each purpose and algorithm (first start); return the kids created."""
    now = now or datetime.now(UTC)
    session = uow.session
    await repository.lock_keys(session)
    present = {(key.purpose, key.alg) for key in await repository.active(session)}
    created: list[str] = []
    for purpose, alg in ACTIVE_KEYS:
        if (purpose, alg) not in present:
            key = _new_key(uow.keyring, purpose, alg, now)
            await repository.add(session, key)
            created.append(key.kid)
    if created:
        report_oauth_change(
            uow,
            topic=KEYS_TOPIC,
            action="signing_keys.created",
            entity_type="signing_keys",
            entity_id="signing_keys",
            details={"created": created},
        )
    return created


async def rotate_signing_keys(uow: UnitOfWork, config: OAuthConfig, *, now: datetime | None = None) -> list[str]:
    """Retire every active key (still published until what it signed is verified) and activate new ones."""
    now = now or datetime.now(UTC)
    session = uow.session
    await repository.lock_keys(session)
    retired: list[str] = []
    for key in await repository.active(session):
        key.status = SigningKeyStatus.RETIRED
        key.retired_at = now
        published_s = (
            MESSAGE_KEY_PUBLICATION_S if key.purpose is SigningKeyPurpose.MESSAGES else config.key_publication_s
        )
        key.publish_until = now + timedelta(seconds=published_s)
        retired.append(key.kid)
    await session.flush()
    created = []
    for purpose, alg in ACTIVE_KEYS:
        key = _new_key(uow.keyring, purpose, alg, now)
        await repository.add(session, key)
        created.append(key.kid)
    report_oauth_change(
        uow,
        topic=KEYS_TOPIC,
        action="signing_keys.rotated",
        entity_type="signing_keys",
        entity_id="signing_keys",
        details={"retired": retired, "created": created},
    )
    return created


async def list_keys(session: AsyncSession) -> list[KeyInfo]:
    return [
        KeyInfo(k.kid, k.alg, k.purpose, k.status, k.created_at, k.retired_at, k.publish_until)
        for k in await repository.all_keys(session)
    ]


class SigningKeys:
    """The process's view of the signing keys: cached, refreshed every few seconds and on an unknown kid."""

    def __init__(self, units: UnitsOfWork) -> None:
        self._units = units
        self._keyring = units.keyring
        self._lock = asyncio.Lock()
        self._active: dict[tuple[SigningKeyPurpose, str], tuple[str, PrivateKey]] = {}
        # Opened private keys by key id: a key's material never changes, and opening an RSA key costs about
        # 36 ms of CPU here (cryptography checks it), which every refresh would otherwise spend again.
        self._opened: dict[uuid.UUID, PrivateKey] = {}
        self._published: list[dict[str, Any]] = []
        self._published_tokens: list[dict[str, Any]] = []
        self._verification = KeySet([])
        self._loaded_at = float("-inf")

    async def _refresh(self) -> None:
        async with self._units.begin(KEYS_ACTOR) as uow:
            active = await repository.active(uow.session)
            if {(k.purpose, k.alg) for k in active} != set(ACTIVE_KEYS):
                await ensure_signing_keys(uow)
                active = await repository.active(uow.session)
            published = await repository.published(uow.session, datetime.now(UTC))
        self._opened = {key.id: self._opened.get(key.id) or self._open(key) for key in active}
        self._active = {(key.purpose, key.alg): (key.kid, self._opened[key.id]) for key in active}
        self._published = [dict(key.public_jwk) for key in published]
        self._published_tokens = [dict(k.public_jwk) for k in published if k.purpose is SigningKeyPurpose.TOKENS]
        self._verification = KeySet.import_key_set({"keys": self._published_tokens})
        self._loaded_at = time.monotonic()

    def _open(self, key: SigningKey) -> PrivateKey:
        private = json.loads(unseal(self._keyring, key.id, SEAL_PURPOSE, key.private_jwk_sealed))
        imported = RSAKey.import_key(private) if key.alg == "PS256" else ECKey.import_key(private)
        imported.ensure_kid()
        return imported

    async def _fresh(self, max_age_s: float) -> None:
        if time.monotonic() - self._loaded_at < max_age_s:
            return
        async with self._lock:
            if time.monotonic() - self._loaded_at >= max_age_s:
                await self._refresh()

    async def signing_key(self, alg: str) -> tuple[str, PrivateKey]:
        """The active token signing key of `alg` and its kid."""
        await self._fresh(SIGNING_KEY_CACHE_S)
        return self._active[(SigningKeyPurpose.TOKENS, alg)]

    async def message_signing_key(self) -> tuple[str, RSAKey]:
        """The active key signing Open Banking messages (PS256) and its kid."""
        await self._fresh(SIGNING_KEY_CACHE_S)
        kid, key = self._active[(SigningKeyPurpose.MESSAGES, MESSAGE_SIGNING_ALGORITHM)]
        assert isinstance(key, RSAKey)
        return kid, key

    async def verification_keys(self, kid: str | None = None) -> KeySet:
        """Every published token key; refreshed first if `kid` is one this process has not seen yet."""
        await self._fresh(SIGNING_KEY_CACHE_S)
        if kid is not None and all(k.kid != kid for k in self._verification.keys):
            await self._fresh(UNKNOWN_KID_REFRESH_S)
        return self._verification

    async def jwks(self) -> dict[str, Any]:
        """The public JWK Set served at `jwks_uri`: token keys, and the keys TPPs verify our messages with."""
        await self._fresh(SIGNING_KEY_CACHE_S)
        return {"keys": list(self._published)}

    async def token_jwks(self) -> dict[str, Any]:
        """The token keys alone, for resource servers verifying access tokens (never a message key)."""
        await self._fresh(SIGNING_KEY_CACHE_S)
        return {"keys": list(self._published_tokens)}

    def invalidate(self) -> None:
        """Reload on next use (after this process rotated the keys)."""
        self._loaded_at = float("-inf")
