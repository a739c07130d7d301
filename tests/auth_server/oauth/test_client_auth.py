"""Client authentication (FAPI 2.0 SP s5.3.2.1; RFC 7523; RFC 8705) at the token endpoint, over real mTLS."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from joserfc.jwk import RSAKey
from redis.asyncio import Redis
from sqlalchemy import event, text

from auth_server.oauth.client_auth.service import JWT_BEARER_ASSERTION
from auth_server.oauth.config import PAR_PATH, TOKEN_PATH
from obank.database import MAX_OVERFLOW, POOL_SIZE
from obank.runtime import Platform, build_platform
from obank.server import bind_socket, build_server
from obank.settings import Settings
from tests.auth_server.oauth.conftest import (
    Pki,
    RegisterClient,
    RegisteredClient,
    RunningAS,
    assertion_form,
    client_assertion,
    der_b64,
    generate_key,
    hmac_token,
    public_jwks,
    start_authorization_server,
    unsigned_token,
)

CC = {"grant_type": "client_credentials", "scope": "accounts"}


async def _token(auth_server: RunningAS, form: dict[str, str], cert: str | None = "tpp") -> Any:
    return await auth_server.http(cert).post(TOKEN_PATH, data={**CC, **form})


def _refused(response: Any, fragment: str = "") -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_client"
    assert fragment in body["error_description"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("alg", ["ES256", "PS256", "EdDSA"])
async def test_private_key_jwt_with_each_fapi_algorithm(
    auth_server: RunningAS, register_client: RegisterClient, alg: str
) -> None:
    client = await register_client(alg=alg)

    response = await _token(auth_server, assertion_form(client, auth_server.issuer))

    assert response.status_code == 200, response.text
    assert response.json()["token_type"] == "Bearer"


async def test_rs256_assertion_is_refused_even_with_a_registered_rsa_key(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client(alg="PS256")
    assertion = client_assertion(client, auth_server.issuer, alg="RS256")

    response = await _token(auth_server, {"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": assertion})

    _refused(response, "RS256")


async def test_hs256_and_none_assertions_are_refused(auth_server: RunningAS, register_client: RegisterClient) -> None:
    client = await register_client()
    now = int(time.time())
    claims = {"iss": client.client_id, "sub": client.client_id, "aud": auth_server.issuer, "exp": now + 60, "jti": "x"}
    # An attacker using the public key's bytes as an HMAC secret (algorithm confusion).
    hs256 = hmac_token(claims, client.key.as_pem(private=False))  # type: ignore[union-attr]

    for assertion in (hs256, unsigned_token(claims)):
        response = await _token(
            auth_server, {"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": assertion}
        )
        _refused(response, "not accepted")


@pytest.mark.parametrize(
    ("audience", "why"),
    [
        ("array", "aud as an array, even holding only the issuer"),
        ("token", "the token endpoint URL"),
        ("par", "the PAR endpoint URL"),
        ("other", "another issuer"),
    ],
)
async def test_audience_must_be_exactly_the_issuer_string(
    auth_server: RunningAS, register_client: RegisterClient, audience: str, why: str
) -> None:
    client = await register_client()
    value: Any = {
        "array": [auth_server.issuer],
        "token": auth_server.url(TOKEN_PATH),
        "par": auth_server.url(PAR_PATH),
        "other": "https://elsewhere.example",
    }[audience]

    response = await _token(auth_server, assertion_form(client, value))

    _refused(response, "aud")


async def test_missing_audience_is_refused(auth_server: RunningAS, register_client: RegisterClient) -> None:
    client = await register_client()
    assertion = client_assertion(client, auth_server.issuer, omit=("aud",))

    response = await _token(auth_server, {"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": assertion})

    _refused(response, "aud")


@pytest.mark.parametrize(
    ("claims", "omit", "fragment"),
    [
        ({"iss": "someone-else"}, (), "iss and sub"),
        ({}, ("sub",), "no sub"),
        ({}, ("exp",), "needs exp"),
        ({"exp": -300}, (), "expired"),
        ({"exp": 3600}, (), "must expire within"),
        ({"iat": 65}, (), "iat"),  # over 60 s ahead, with room for a slow test machine
        ({"nbf": 65}, (), "nbf"),
        ({}, ("jti",), "jti"),
        ({"exp": "soon"}, (), "number"),
    ],
    ids=[
        "iss-differs",
        "no-sub",
        "no-exp",
        "exp-5-min-ago",
        "exp-an-hour-ahead",
        "iat+65",
        "nbf+65",
        "no-jti",
        "exp-str",
    ],
)
async def test_assertion_claims_are_checked(
    auth_server: RunningAS,
    register_client: RegisterClient,
    claims: dict[str, Any],
    omit: tuple[str, ...],
    fragment: str,
) -> None:
    client = await register_client()
    now = int(time.time())
    # Integers are offsets from now, taken at run time.
    timed: dict[str, Any] = {name: now + value if isinstance(value, int) else value for name, value in claims.items()}
    assertion = client_assertion(client, auth_server.issuer, omit=omit, **timed)

    response = await _token(auth_server, {"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": assertion})

    _refused(response, fragment)


async def test_iat_and_nbf_ten_seconds_ahead_are_accepted(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client()
    ahead = int(time.time()) + 10

    response = await _token(auth_server, assertion_form(client, auth_server.issuer, iat=ahead, nbf=ahead))

    assert response.status_code == 200, response.text


async def test_a_replayed_assertion_is_refused(auth_server: RunningAS, register_client: RegisterClient) -> None:
    client = await register_client()
    form = assertion_form(client, auth_server.issuer)

    first = await _token(auth_server, form)
    second = await _token(auth_server, form)

    assert first.status_code == 200, first.text
    _refused(second, "already used")


async def test_a_jti_claim_never_waits_for_the_requests_pool(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    # A request may hold a connection of the main pool while it claims its jti: were the claim to take a
    # second one from that pool, a full pool would leave every such request waiting on itself.
    client = await register_client()
    async with contextlib.AsyncExitStack() as held:
        for _ in range(POOL_SIZE + MAX_OVERFLOW):
            connection = await held.enter_async_context(shared_platform.engine.connect())
            await connection.execute(text("SELECT 1"))
        async with asyncio.timeout(5):
            claimed = await auth_server.server.replay_cache.claim(
                client.client_id, str(uuid.uuid4()), datetime.now(UTC) + timedelta(minutes=1)
            )

    assert claimed


async def test_a_replay_is_refused_across_instances_sharing_redis(
    shared_settings: Settings, pki: Pki, register_client: RegisterClient, redis_url: str
) -> None:
    # Two processes' worth of state: each instance its own platform, replay caches meeting only in Redis.
    settings = shared_settings.model_copy(update={"redis_url": redis_url})
    platforms = [build_platform(settings), build_platform(settings)]
    first, stop_first = await start_authorization_server(platforms[0], pki, issuer="https://as.test")
    second, stop_second = await start_authorization_server(platforms[1], pki, issuer="https://as.test")
    try:
        client = await register_client()
        form = assertion_form(client, "https://as.test")

        accepted = await _token(first, form)
        replayed = await _token(second, form)

        assert accepted.status_code == 200, accepted.text
        _refused(replayed, "already used")
        # The jti sits in Redis (not in the database cache both instances could also reach).
        redis = Redis.from_url(redis_url)
        try:
            assert await redis.keys(f"obank:oauth:jti:*:{client.client_id}:*")
        finally:
            await redis.aclose()
    finally:
        await stop_first()
        await stop_second()
        for platform in platforms:
            await platform.close()


async def test_a_replay_is_refused_across_instances_sharing_the_database(
    shared_settings: Settings, pki: Pki, register_client: RegisterClient
) -> None:
    # `obank serve --workers N` without Redis: each worker its own platform, the replay caches meeting in
    # PostgreSQL. Both instances get the same assertion at once (each batching its claims), then again.
    platforms = [build_platform(shared_settings), build_platform(shared_settings)]
    first, stop_first = await start_authorization_server(platforms[0], pki, issuer="https://as.test")
    second, stop_second = await start_authorization_server(platforms[1], pki, issuer="https://as.test")
    try:
        client = await register_client()
        form = assertion_form(client, "https://as.test")

        answers = await asyncio.gather(*(_token(server, form) for server in (first, second, first, second)))

        assert sorted(answer.status_code for answer in answers) == [200, 401, 401, 401], [a.text for a in answers]
        for refused in (answer for answer in answers if answer.status_code == 401):
            _refused(refused, "already used")
    finally:
        await stop_first()
        await stop_second()
        for platform in platforms:
            await platform.close()


async def test_claims_arriving_together_share_a_statement_and_the_first_caller_wins(
    auth_server: RunningAS, register_client: RegisterClient, shared_platform: Platform
) -> None:
    client = await register_client()
    cache = auth_server.server.replay_cache
    until = datetime.now(UTC) + timedelta(minutes=1)
    fresh = [str(uuid.uuid4()) for _ in range(20)]
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if "used_client_assertions" in sql:
            statements.append(sql)

    event.listen(shared_platform.side_engine.sync_engine, "before_cursor_execute", count)
    try:
        repeated = str(uuid.uuid4())
        claims = [cache.claim(client.client_id, jti, until) for jti in (repeated, *fresh, repeated)]
        results = await asyncio.gather(*claims)
    finally:
        event.remove(shared_platform.side_engine.sync_engine, "before_cursor_execute", count)

    assert results == [True, *[True] * len(fresh), False]
    assert len(statements) <= 2  # at most one per claim worker, not one per claim
    assert not await cache.claim(client.client_id, fresh[0], until)


async def test_an_assertion_signed_by_another_key_is_refused(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client()
    assertion = client_assertion(client, auth_server.issuer, key=generate_key("ES256"))

    response = await _token(auth_server, {"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": assertion})

    _refused(response)


async def test_client_id_must_match_the_assertion(auth_server: RunningAS, register_client: RegisterClient) -> None:
    client = await register_client()

    response = await _token(auth_server, {**assertion_form(client, auth_server.issuer), "client_id": "someone-else"})

    _refused(response, "client_id")


async def test_unknown_disabled_or_unauthenticated_clients_are_refused(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    _refused(await _token(auth_server, {}), "no client authentication")
    _refused(await _token(auth_server, {"client_id": "nobody"}), "unknown")
    private_key_client = await register_client()
    _refused(await _token(auth_server, {"client_id": private_key_client.client_id}), "private_key_jwt")


async def test_tls_client_auth_matches_the_registered_subject(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client(method="tls_client_auth")
    form = {"client_id": client.client_id}

    accepted = await _token(auth_server, form, cert="tpp")
    other_subject = await _token(auth_server, form, cert="other")
    no_certificate = await _token(auth_server, form, cert=None)

    assert accepted.status_code == 200, accepted.text
    _refused(other_subject, "subject")
    _refused(no_certificate, "certificate")


async def test_subject_dn_comparison_ignores_case_and_spacing(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    client = await register_client(
        method="tls_client_auth", tls_client_auth_subject_dn="cn=test tpp, o=TEST TPP LTD, c=gb"
    )

    response = await _token(auth_server, {"client_id": client.client_id}, cert="tpp")

    assert response.status_code == 200, response.text


async def test_self_signed_tls_client_auth_matches_the_registered_certificate(
    auth_server: RunningAS, register_client: RegisterClient, pki: Pki
) -> None:
    holder = RSAKey.generate_key(2048, private=True)  # any key: only x5c names the certificate
    jwks = public_jwks(holder, x5c=[der_b64(pki.certificate("selfsigned"))])
    client = await register_client(method="self_signed_tls_client_auth", jwks=jwks)
    form = {"client_id": client.client_id}

    accepted = await _token(auth_server, form, cert="selfsigned")
    other = await _token(auth_server, form, cert="tpp")
    missing = await _token(auth_server, form, cert=None)

    assert accepted.status_code == 200, accepted.text
    _refused(other, "not one the client registered")
    _refused(missing, "certificate")


async def test_a_private_key_jwt_client_cannot_authenticate_by_certificate_alone(
    auth_server: RunningAS, register_client: RegisterClient
) -> None:
    mtls_client = await register_client(method="tls_client_auth")
    jwt_client = await register_client()

    # An mTLS client presenting an assertion is refused: the registered method is the only one.
    mtls_with_assertion = await _token(
        auth_server,
        {
            "client_assertion_type": JWT_BEARER_ASSERTION,
            "client_assertion": client_assertion(
                jwt_client, auth_server.issuer, iss=mtls_client.client_id, sub=mtls_client.client_id
            ),
        },
    )

    _refused(mtls_with_assertion, "not private_key_jwt")


async def test_keys_are_fetched_from_the_registered_jwks_uri_and_refetched_for_a_new_kid(
    shared_platform: Platform, pki: Pki, register_client: RegisterClient
) -> None:
    published: dict[str, Any] = {"keys": []}

    async def jwks_host(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = json.dumps(published).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})

    sock = bind_socket("127.0.0.1", 0)
    host = build_server(jwks_host, pki.server)
    task = asyncio.create_task(host.serve(sockets=[sock]))
    server, stop = await start_authorization_server(shared_platform, pki, jwks_uri_refetch_s=0.0)
    try:
        async with asyncio.timeout(10):
            while not host.started:
                await asyncio.sleep(0.01)
        first, second = generate_key("ES256"), generate_key("ES256")
        published["keys"] = public_jwks(first)["keys"]
        jwks_uri = f"https://127.0.0.1:{sock.getsockname()[1]}/jwks.json"
        client = await register_client(jwks=None, jwks_uri=jwks_uri)

        with_first = await _token(
            server, assertion_form(RegisteredClient(client.client_id, first, "ES256"), server.issuer)
        )
        published["keys"] = public_jwks(second)["keys"]  # the TPP rotates its key
        with_second = await _token(
            server, assertion_form(RegisteredClient(client.client_id, second, "ES256"), server.issuer)
        )

        assert with_first.status_code == 200, with_first.text
        assert with_second.status_code == 200, with_second.text
    finally:
        await stop()
        host.should_exit = True
        await asyncio.wait_for(task, 10)
