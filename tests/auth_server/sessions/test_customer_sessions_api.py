"""`GET /api/v1/sessions`, `DELETE /api/v1/sessions/{id}` and `DELETE /api/v1/sessions`: the customer's own sign-in
sessions, the one behind their token marked current, signed out one at a time or everywhere else."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import httpx
import pytest
from fastapi import FastAPI

from audit.trail import platform_units
from auth_server.identities.schemas import IdentityRecord
from auth_server.oauth.clients import service as clients_service
from auth_server.oauth.tokens.models import SubjectKind
from auth_server.sessions import service as sessions_service
from auth_server.sessions.schemas import SessionRecord, SessionStage
from obank.principal import PrincipalKind
from obank.runtime import Platform
from tests.auth_server.helpers import TEST_ACTOR, new_login
from tests.auth_server.oauth.conftest import registrar
from tests.auth_server.staff_admin.helpers import (
    assert_problem,
    audit_records,
    events,
    live_session_ids,
    principal_headers,
    start_session,
)

SESSIONS = "/api/v1/sessions"


def _as(
    app: FastAPI,
    login: IdentityRecord,
    *,
    session_id: uuid.UUID | None = None,
    token_id: uuid.UUID | None = None,
    kind: PrincipalKind = "customer",
    scopes: Iterable[str] = ("openid",),
) -> dict[str, str]:
    """The customer's first-party token as the gateway asserts it (their subject: core banking's customer id)."""
    return principal_headers(
        app,
        str(login.customer_id),
        kind=kind,
        roles=("support",) if kind == "staff" else (),
        scopes=scopes,
        session_id=None if session_id is None else str(session_id),
        token_id=None if token_id is None else str(token_id),
    )


@pytest.fixture
async def login(platform: Platform) -> IdentityRecord:
    return await new_login(platform)


async def _token_issued_under(
    platform: Platform, app: FastAPI, login: IdentityRecord, record: SessionRecord
) -> uuid.UUID:
    """An access token of the web app from a sign-in in `record` (it carries the session's auth_time)."""
    client = await registrar(platform)(
        method="none", first_party=True, grant_types=("authorization_code", "refresh_token"), scope="openid"
    )
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        issued = await app.state.oauth.tokens.issue_access_token(
            uow,
            client=await clients_service.get_client(uow.session, client.client_id),
            grant_type="authorization_code",
            subject=str(login.id),
            subject_kind=SubjectKind.CUSTOMER,
            scopes=["openid"],
            certificate_thumbprint=None,
            acr=record.acr,
            auth_time=record.auth_time,
        )
    return uuid.UUID(str(issued.jti))


async def test_a_customer_lists_their_live_sessions_with_the_current_one_marked(
    api: httpx.AsyncClient, oauth_app: FastAPI, login: IdentityRecord, platform: Platform
) -> None:
    first = await start_session(platform, login.id)
    pending = await start_session(platform, login.id, stage=SessionStage.AWAITING_OTP)
    ended = await start_session(platform, login.id)
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        await sessions_service.end_session(uow, ended.id, reason="logout", now=ended.created_at)
    someone_else = await start_session(platform, (await new_login(platform)).id)

    response = await api.get(SESSIONS, headers=_as(oauth_app, login, session_id=first.id))

    assert response.status_code == 200, response.text
    listed = response.json()["sessions"]
    assert [(item["id"], item["current"]) for item in listed] == [(str(pending.id), False), (str(first.id), True)]
    assert str(someone_else.id) not in response.text
    assert listed[1]["stage"] == "authenticated" and listed[1]["amr"] == ["pwd", "otp"]


async def test_without_a_sid_the_token_names_its_session_by_the_sign_in_it_records(
    api: httpx.AsyncClient, oauth_app: FastAPI, login: IdentityRecord, platform: Platform
) -> None:
    other = await start_session(platform, login.id)
    mine = await start_session(platform, login.id)
    jti = await _token_issued_under(platform, oauth_app, login, mine)

    listed = (await api.get(SESSIONS, headers=_as(oauth_app, login, token_id=jti))).json()["sessions"]

    assert {item["id"]: item["current"] for item in listed} == {str(mine.id): True, str(other.id): False}


async def test_a_customer_signs_one_session_out(
    api: httpx.AsyncClient, oauth_app: FastAPI, login: IdentityRecord, platform: Platform
) -> None:
    current = await start_session(platform, login.id)
    laptop = await start_session(platform, login.id)
    headers = _as(oauth_app, login, session_id=current.id)

    response = await api.delete(f"{SESSIONS}/{laptop.id}", headers=headers)
    again = await api.delete(f"{SESSIONS}/{laptop.id}", headers=headers)

    assert response.status_code == 204 and response.content == b""
    assert_problem(again, 404, "session_not_found")
    assert await live_session_ids(platform, login.id) == {current.id}
    (record,) = await audit_records(platform, "session.ended", str(login.id))
    assert (record.actor_kind, record.actor_id) == ("customer", str(login.customer_id))
    (event,) = await events(platform, "session.ended", str(login.id))
    assert event.payload["session_id"] == str(laptop.id) and event.payload["customer_id"] == str(login.customer_id)


async def test_another_customers_session_is_not_found_and_lives_on(
    api: httpx.AsyncClient, oauth_app: FastAPI, login: IdentityRecord, platform: Platform
) -> None:
    stranger = await new_login(platform)
    theirs = await start_session(platform, stranger.id)

    response = await api.delete(f"{SESSIONS}/{theirs.id}", headers=_as(oauth_app, login))
    unknown = await api.delete(f"{SESSIONS}/{uuid.uuid4()}", headers=_as(oauth_app, login))
    malformed = await api.delete(f"{SESSIONS}/not-a-session", headers=_as(oauth_app, login))

    assert_problem(response, 404, "session_not_found")
    assert_problem(unknown, 404, "session_not_found")
    assert_problem(malformed, 422, "invalid_request")
    assert await live_session_ids(platform, stranger.id) == {theirs.id}


async def test_signing_out_everywhere_else_keeps_the_current_session(
    api: httpx.AsyncClient, oauth_app: FastAPI, login: IdentityRecord, platform: Platform
) -> None:
    current = await start_session(platform, login.id)
    for _ in range(2):
        await start_session(platform, login.id)
    stranger = await new_login(platform)
    theirs = await start_session(platform, stranger.id)

    response = await api.delete(SESSIONS, headers=_as(oauth_app, login, session_id=current.id))

    assert response.status_code == 200, response.text
    assert response.json() == {"sessions_ended": 2, "current_session_id": str(current.id)}
    assert await live_session_ids(platform, login.id) == {current.id}
    assert await live_session_ids(platform, stranger.id) == {theirs.id}
    (event,) = await events(platform, "identity.sessions_ended", str(login.id))
    assert event.payload["sessions_ended"] == 2 and event.payload["kept_session_id"] == str(current.id)


async def test_when_the_current_session_cannot_be_told_every_session_ends(
    api: httpx.AsyncClient, oauth_app: FastAPI, login: IdentityRecord, platform: Platform
) -> None:
    for _ in range(2):
        await start_session(platform, login.id)

    response = await api.delete(SESSIONS, headers=_as(oauth_app, login, token_id=uuid.uuid4()))

    assert response.json() == {"sessions_ended": 2, "current_session_id": None}
    assert await live_session_ids(platform, login.id) == set()


async def test_only_customers_with_an_openid_token_may_call(
    api: httpx.AsyncClient, oauth_app: FastAPI, login: IdentityRecord, platform: Platform
) -> None:
    session = await start_session(platform, login.id)
    staff = _as(oauth_app, login, kind="staff")
    no_openid = _as(oauth_app, login, scopes=("accounts",))

    for headers in (staff, no_openid):
        assert_problem(await api.get(SESSIONS, headers=headers), 403, "forbidden")
        assert_problem(await api.delete(SESSIONS, headers=headers), 403, "forbidden")
        assert_problem(await api.delete(f"{SESSIONS}/{session.id}", headers=headers), 403, "forbidden")
    assert_problem(await api.get(SESSIONS), 401, "unauthenticated")
    assert await live_session_ids(platform, login.id) == {session.id}
