"""`POST /admin/v1/identities/{id}/totp-reset`: four eyes. The first staff member's call is held as an approval; a
second's carries it out: TOTP and recovery codes gone, every session ended, the next sign-in enrols anew."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from audit.trail import platform_units
from auth_server.identities import service as identities
from auth_server.identities.schemas import IdentityKind, IdentityRecord
from auth_server.login import service as login_service
from auth_server.login.schemas import NextStep
from auth_server.mfa import service as mfa_service
from obank.database import unit_of_work
from obank.runtime import Platform
from tests.auth_server.helpers import PASSWORD, TEST_ACTOR, enrol
from tests.auth_server.staff_admin.conftest import HeadersFor
from tests.auth_server.staff_admin.helpers import (
    assert_problem,
    audit_records,
    audited_after,
    events,
    live_session_ids,
    start_session,
)

IDENTITIES = "/admin/v1/identities"
APPROVAL_HEADER = "Obank-Approval-Id"
REASON = "Customer lost their phone; identity verified in branch with passport"
KIND = "auth_server.identity.totp_reset"


def _reset_path(identity: IdentityRecord) -> str:
    return f"{IDENTITIES}/{identity.id}/totp-reset"


async def _factors(platform: Platform, identity: IdentityRecord) -> tuple[bool, int]:
    async with unit_of_work(platform.sessions) as session:
        factors = await mfa_service.second_factors(session, identity.id)
    return factors.totp_enrolled, factors.recovery_codes_left


async def _request_reset(
    api: httpx.AsyncClient, headers: dict[str, str], identity: IdentityRecord, **body: Any
) -> dict[str, Any]:
    response = await api.post(_reset_path(identity), json={"reason": REASON, **body}, headers=headers)
    assert response.status_code == 202, response.text
    approval: dict[str, Any] = response.json()["approval"]
    return approval


async def test_a_second_staff_member_carries_out_the_reset(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    _, codes = await enrol(platform, customer_login)
    sessions = {(await start_session(platform, customer_login.id)).id for _ in range(2)}
    maker = headers_for("support", subject="maker-1")
    checker = headers_for("fraud_analyst", subject="checker-2")

    approval = await _request_reset(api, maker, customer_login)

    assert approval["status"] == "PENDING" and approval["kind"] == KIND
    assert approval["target"] == str(customer_login.id) and approval["requested_by"] == "maker-1"
    assert await _factors(platform, customer_login) == (True, len(codes))  # nothing happened yet
    assert await live_session_ids(platform, customer_login.id) == sessions

    response = await api.post(
        _reset_path(customer_login),
        json={"reason": REASON},
        headers={**checker, APPROVAL_HEADER: approval["id"]},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {
        "identity_id": str(customer_login.id),
        "totp_removed": True,
        "recovery_codes_removed": len(codes),
        "sessions_ended": 2,
    }
    assert await _factors(platform, customer_login) == (False, 0)
    assert await live_session_ids(platform, customer_login.id) == set()
    shown = await api.get(f"{IDENTITIES}/{customer_login.id}", headers=checker)
    assert shown.json()["totp_enrolled"] is False and shown.json()["recovery_codes_left"] == 0
    (record,) = await audit_records(platform, "mfa.reset", str(customer_login.id))
    assert (record.actor_kind, record.actor_id) == ("staff", "checker-2")
    after = await audited_after(platform, record)
    assert after["staff_reason"] == REASON and after["totp_removed"] is True and after["sessions_ended"] == 2
    (event,) = await events(platform, "mfa.reset", str(customer_login.id))
    assert event.payload["customer_id"] == str(customer_login.customer_id)
    assert REASON not in json.dumps(event.payload)
    # Carrying it out again is refused: nothing is left to reset (and the approval is spent).
    replay = await api.post(
        _reset_path(customer_login), json={"reason": REASON}, headers={**checker, APPROVAL_HEADER: approval["id"]}
    )
    assert_problem(replay, 409, "mfa_not_enrolled")
    await enrol(platform, customer_login)
    spent = await api.post(
        _reset_path(customer_login), json={"reason": REASON}, headers={**checker, APPROVAL_HEADER: approval["id"]}
    )
    assert_problem(spent, 409, "approval_not_pending")
    assert (await _factors(platform, customer_login))[0] is True


async def test_after_a_reset_the_next_sign_in_enrols_a_new_totp(
    api: httpx.AsyncClient, headers_for: HeadersFor, staff_login: IdentityRecord, platform: Platform
) -> None:
    await enrol(platform, staff_login)
    approval = await _request_reset(api, headers_for("admin", subject="maker-1"), staff_login)
    await api.post(
        _reset_path(staff_login),
        json={"reason": REASON},
        headers={**headers_for("admin", subject="checker-2"), APPROVAL_HEADER: approval["id"]},
    )
    async with platform_units(platform).begin(TEST_ACTOR) as uow:
        username = identities.username_of(platform.keyring, staff_login)
        outcome = await login_service.sign_in_with_password(
            uow,
            kind=IdentityKind.STAFF,
            username=username,
            password=PASSWORD,
            require_sca=True,
            return_to=None,
            previous_session=None,
            ip_address=None,
        )

    assert outcome.next_step is NextStep.ENROL


async def test_the_maker_cannot_approve_their_own_reset(
    api: httpx.AsyncClient, headers_for: HeadersFor, customer_login: IdentityRecord, platform: Platform
) -> None:
    await enrol(platform, customer_login)
    maker = headers_for("support", subject="maker-1")
    approval = await _request_reset(api, maker, customer_login)

    response = await api.post(
        _reset_path(customer_login), json={"reason": REASON}, headers={**maker, APPROVAL_HEADER: approval["id"]}
    )

    assert_problem(response, 403, "self_approval_refused")
    assert (await _factors(platform, customer_login))[0] is True
    assert await audit_records(platform, "mfa.reset", str(customer_login.id)) == []


async def test_an_approval_only_carries_out_the_request_it_was_for(
    api: httpx.AsyncClient,
    headers_for: HeadersFor,
    customer_login: IdentityRecord,
    staff_login: IdentityRecord,
    platform: Platform,
) -> None:
    await enrol(platform, customer_login)
    await enrol(platform, staff_login)
    approval = await _request_reset(api, headers_for("support", subject="maker-1"), customer_login)
    checker = {**headers_for("admin", subject="checker-2"), APPROVAL_HEADER: approval["id"]}

    other_body = await api.post(_reset_path(customer_login), json={"reason": "Some other reason"}, headers=checker)
    other_login = await api.post(_reset_path(staff_login), json={"reason": REASON}, headers=checker)
    unknown = await api.post(
        _reset_path(customer_login),
        json={"reason": REASON},
        headers={**checker, APPROVAL_HEADER: str(uuid.uuid4())},
    )
    malformed = await api.post(
        _reset_path(customer_login), json={"reason": REASON}, headers={**checker, APPROVAL_HEADER: "not-a-uuid"}
    )

    assert_problem(other_body, 409, "approval_mismatch")
    assert_problem(other_login, 409, "approval_mismatch")
    assert_problem(unknown, 404, "approval_not_found")
    assert_problem(malformed, 422, "invalid_request")
    assert (await _factors(platform, customer_login))[0] is True
    assert (await _factors(platform, staff_login))[0] is True


async def test_nothing_to_reset_is_a_conflict_before_anyone_is_asked(
    api: httpx.AsyncClient, support: dict[str, str], customer_login: IdentityRecord, platform: Platform
) -> None:
    response = await api.post(_reset_path(customer_login), json={"reason": REASON}, headers=support)

    assert_problem(response, 409, "mfa_not_enrolled")
    async with unit_of_work(platform.sessions) as session:
        pending = await session.scalar(text("SELECT count(*) FROM platform.staff_approvals"))
    assert pending == 0


@pytest.mark.parametrize(
    ("role", "kind", "status", "code"),
    [("auditor", "staff", 403, "insufficient_role"), ("", "customer", 403, "forbidden")],
    ids=["auditor", "customer"],
)
async def test_auditors_and_customers_may_not_ask_for_a_reset(
    api: httpx.AsyncClient,
    headers_for: HeadersFor,
    customer_login: IdentityRecord,
    platform: Platform,
    role: str,
    kind: str,
    status: int,
    code: str,
) -> None:
    await enrol(platform, customer_login)
    headers = headers_for(*([role] if role else []), kind=kind, subject=str(customer_login.customer_id))

    response = await api.post(_reset_path(customer_login), json={"reason": REASON}, headers=headers)

    assert_problem(response, status, code)


async def test_unknown_login_and_bad_reasons(
    api: httpx.AsyncClient, support: dict[str, str], customer_login: IdentityRecord, platform: Platform
) -> None:
    await enrol(platform, customer_login)

    unknown = await api.post(f"{IDENTITIES}/{uuid.uuid4()}/totp-reset", json={"reason": REASON}, headers=support)
    nul = await api.post(_reset_path(customer_login), json={"reason": "lost\u0000phone"}, headers=support)
    too_long = await api.post(_reset_path(customer_login), json={"reason": "z" * 501}, headers=support)

    assert_problem(unknown, 404, "identity_not_found")
    assert_problem(nul, 422, "invalid_request")
    assert_problem(too_long, 422, "invalid_request")
