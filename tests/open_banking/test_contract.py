"""The contract harness itself refuses what the official specs refuse: a check that cannot fail proves nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.open_banking.contract import Contract, ContractViolation

BASE = "https://obank.test"
CONSENT = "/open-banking/v4.0/aisp/account-access-consents/aac-1"
REQUEST_HEADERS = {"authorization": "Bearer t"}


def exchange(
    status: int,
    body: Any = None,
    *,
    path: str = CONSENT,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    request_headers: dict[str, str] | None = None,
) -> httpx.Response:
    request = httpx.Request(
        method, BASE + path, headers=REQUEST_HEADERS if request_headers is None else request_headers
    )
    answer = {"x-fapi-interaction-id": str(uuid.uuid4())} if headers is None else headers
    if body is None:
        return httpx.Response(status, headers=answer, request=request)
    return httpx.Response(status, json=body, headers=answer, request=request)


def consent_body(**data: Any) -> dict[str, Any]:
    return {
        "Data": {
            "ConsentId": "aac-1",
            "CreationDateTime": "2026-01-01T00:00:00+00:00",
            "Status": "AWAU",
            "StatusUpdateDateTime": "2026-01-01T00:00:00+00:00",
            "Permissions": ["ReadAccountsBasic"],
            **data,
        },
        "Risk": {},
        "Links": {"Self": BASE + CONSENT},
        "Meta": {},
    }


def test_a_conforming_exchange_passes() -> None:
    Contract().check(exchange(200, consent_body()))
    Contract().check(exchange(400, {"Errors": [{"ErrorCode": "U011", "Message": "m", "Path": "ConsentId"}]}))


@pytest.mark.parametrize(
    ("response", "why"),
    [
        (exchange(200, consent_body(Status="Authorised")), "a v3 status"),
        (exchange(200, {"Data": {}}), "an empty Data"),
        (exchange(200, {**consent_body(), "Unexpected": True}), "a member the schema forbids"),
        (exchange(200, consent_body(), headers={}), "no x-fapi-interaction-id"),
        (exchange(400, {"Errors": [{"ErrorCode": "UK.OBIE.Field.Invalid"}]}), "a v3 error code"),
        (exchange(400, {"Code": "400 BadRequest", "Errors": []}), "no error"),
        (exchange(404, {"Errors": [{"ErrorCode": "U011"}]}, headers={}), "undeclared, no interaction id"),
        (exchange(405, {"detail": "Method Not Allowed"}), "a body not an OBErrorResponse1"),
        (exchange(418, {"Errors": [{"ErrorCode": "NARR"}]}), "a status no profile allows"),
        (exchange(200, {}, path="/open-banking/v4.0/aisp/cards"), "a success outside the spec"),
        (exchange(200, consent_body(), request_headers={}), "a request without Authorization"),
    ],
)
def test_a_nonconforming_exchange_is_refused(response: httpx.Response, why: str) -> None:
    with pytest.raises(ContractViolation):
        Contract().check(response)


def test_error_bodies_outside_the_spec_are_still_ob_errors() -> None:
    Contract().check(exchange(404, {"Errors": [{"ErrorCode": "U011"}]}, path="/open-banking/v4.0/pisp/x"))
    with pytest.raises(ContractViolation):
        Contract().check(exchange(404, {"type": "about:blank"}, path="/open-banking/v4.0/pisp/x"))
