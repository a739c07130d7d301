"""Signing keys: generated, sealed at rest, published; rotation keeps old tokens verifiable until they expire."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import text

from audit.trail import platform_units
from auth_server.oauth.config import JWKS_PATH, TOKEN_PATH
from auth_server.oauth.keys import cli as keys_cli
from auth_server.oauth.keys import service as keys_service
from obank.actor import Actor
from obank.database import unit_of_work
from obank.runtime import Platform
from obank.settings import Settings
from tests.auth_server.oauth.conftest import (
    Pki,
    RegisterClient,
    RunningAS,
    assertion_form,
    registrar,
    run_cli,
    start_authorization_server,
)


@pytest.fixture
async def isolated_server(platform: Platform, pki: Pki) -> AsyncIterator[RunningAS]:
    """A server over this test's own database: key rotation must not disturb other tests."""
    running, stop = await start_authorization_server(platform, pki)
    yield running
    await stop()


@pytest.fixture
def register_isolated(platform: Platform) -> RegisterClient:
    return registrar(platform)


async def _jwks(server: RunningAS) -> dict[str, object]:
    response = await server.http(None).get(JWKS_PATH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jwk-set+json"
    body: dict[str, object] = response.json()
    return body


async def test_keys_are_generated_published_and_sealed(isolated_server: RunningAS, platform: Platform) -> None:
    jwks = await _jwks(isolated_server)

    keys = jwks["keys"]
    assert isinstance(keys, list)
    # Tokens are signed with ES256 or PS256, Open Banking messages with a PS256 key of their own.
    assert sorted(k["alg"] for k in keys) == ["ES256", "PS256", "PS256"]
    assert all(k["use"] == "sig" and "d" not in k and "p" not in k for k in keys)
    async with unit_of_work(platform.sessions) as session:
        sealed = (
            (await session.execute(text("SELECT private_jwk_sealed FROM auth_server.signing_keys"))).scalars().all()
        )
    private_d = json.dumps(keys).encode()  # nothing public or private appears in clear in the sealed column
    assert len(sealed) == 3
    assert all(b'"d"' not in value and private_d not in value for value in sealed)


async def test_rotation_keeps_old_tokens_verifiable_until_they_expire(
    isolated_server: RunningAS, platform: Platform, register_isolated: RegisterClient
) -> None:
    client = await register_isolated(grant_types=("client_credentials",), scope="accounts")

    async def token() -> str:
        response = await isolated_server.http().post(
            TOKEN_PATH, data={"grant_type": "client_credentials", **assertion_form(client, isolated_server.issuer)}
        )
        assert response.status_code == 200, response.text
        value: str = response.json()["access_token"]
        return value

    old_token = await token()
    async with platform_units(platform).begin(Actor.system("test")) as uow:
        await keys_service.rotate_signing_keys(uow, isolated_server.server.config)
    isolated_server.server.keys.invalidate()  # as this process would after its cache period
    new_token = await token()

    published = KeySet.import_key_set(await _jwks(isolated_server))  # type: ignore[arg-type]
    old = jwt.decode(old_token, published, algorithms=["ES256"])
    new = jwt.decode(new_token, published, algorithms=["ES256"])
    assert old.header["kid"] != new.header["kid"]
    assert len(published.keys) == 6  # old and new: two token keys and a message key each

    # Once every token the old keys signed has expired, they leave the JWK Set.
    async with unit_of_work(platform.sessions) as session:
        await session.execute(
            text(
                "UPDATE auth_server.signing_keys SET publish_until = now() - interval '1 second'"
                " WHERE status = 'RETIRED'"
            )
        )
    isolated_server.server.keys.invalidate()
    remaining = await _jwks(isolated_server)
    assert old.header["kid"] not in {k["kid"] for k in remaining["keys"]}  # type: ignore[attr-defined]
    async with unit_of_work(platform.sessions) as session:
        audited = await session.scalar(
            text("SELECT count(*) FROM audit.audit_records WHERE action = 'signing_keys.rotated'")
        )
    assert audited == 1


def test_keys_rotate_command(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    rotated = run_cli(keys_cli.app, settings, monkeypatch, "rotate")
    listed = run_cli(keys_cli.app, settings, monkeypatch, "list")

    assert rotated.exit_code == 0, rotated.output
    assert "Signing keys rotated" in rotated.stdout
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.count("ACTIVE") == 3
    assert listed.stdout.count("MESSAGES") == 1
    # A first rotation on an empty store retires nothing: three keys, all active.
    assert listed.stdout.count("RETIRED") == 0


async def test_a_refresh_reopens_only_keys_it_has_not_opened(isolated_server: RunningAS, platform: Platform) -> None:
    # Opening an RSA private key costs tens of milliseconds of CPU, with the event loop blocked: a refresh
    # (every 30 s, or on an unknown kid) keeps the keys it already holds.
    keys = isolated_server.server.keys
    _, ps256 = await keys.signing_key("PS256")
    _, messages = await keys.message_signing_key()
    keys.invalidate()
    assert (await keys.signing_key("PS256"))[1] is ps256
    assert (await keys.message_signing_key())[1] is messages

    async with platform_units(platform).begin(Actor.system("test")) as uow:
        await keys_service.rotate_signing_keys(uow, isolated_server.server.config)
    keys.invalidate()
    assert (await keys.signing_key("PS256"))[1] is not ps256  # a new key is opened, the retired one dropped
    assert (await keys.message_signing_key())[1] is not messages
