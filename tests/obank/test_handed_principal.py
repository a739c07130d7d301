"""The principal a gateway hands an upstream in its own process: taken only for its audience, from a trusted key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc.jwk import ECKey, KeySet
from starlette.types import Receive, Scope, Send

from obank.internal_keys import public_key, with_kid
from obank.principal import (
    HANDED_PRINCIPAL,
    PRINCIPAL_HEADER,
    HandedPrincipal,
    InternalAssertions,
    Principal,
    PrincipalDep,
)
from obank.problems import install_problem_handler

PRINCIPAL = Principal(subject="cust-1", kind="customer", interaction_id="6f1c0e0e-0000-4000-8000-000000000001")
GATEWAY_KEY = with_kid(ECKey.generate_key("P-256", private=True))
GATEWAY = InternalAssertions(GATEWAY_KEY)


def upstream() -> FastAPI:
    """A core_banking-like app verifying with the gateway's key: answers with the principal's subject."""
    app = FastAPI()
    app.state.internal_assertions = InternalAssertions(None, KeySet([public_key(GATEWAY_KEY)]))  # public key only
    app.state.service_name = "core_banking"
    app.state.platform = SimpleNamespace()  # no token ids here: the deny-list is not asked

    @app.get("/whoami")
    async def whoami(principal: PrincipalDep) -> dict[str, str]:
        return {"subject": principal.subject}

    install_problem_handler(app)
    return app


def handing(value: Any, app: FastAPI) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """`app` behind a layer placing `value` in every request's scope, as the gateway's guard does."""

    async def layer(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, HANDED_PRINCIPAL: value}, receive, send)

    return layer


async def get(app: Callable[[Scope, Receive, Send], Awaitable[None]], **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://upstream") as client:
        return await client.get("/whoami", headers=headers)


async def test_an_in_process_upstream_takes_the_handed_principal_without_a_signature() -> None:
    response = await get(handing(HandedPrincipal(PRINCIPAL, "core_banking", GATEWAY), upstream()))
    assert response.status_code == 200
    assert response.json() == {"subject": "cust-1"}


@pytest.mark.parametrize(
    "handed",
    [
        HandedPrincipal(PRINCIPAL, "audit", GATEWAY),  # meant for another service
        HandedPrincipal(PRINCIPAL, "core_banking", InternalAssertions(ECKey.generate_key("P-256", private=True))),
        {"principal": PRINCIPAL, "audience": "core_banking"},  # a look-alike is no handed principal
    ],
    ids=["another audience", "an untrusted key", "a look-alike"],
)
async def test_a_handed_principal_for_another_service_or_from_another_key_is_refused(handed: Any) -> None:
    response = await get(handing(handed, upstream()))
    assert response.status_code == 401


async def test_across_http_the_signed_assertion_stays_the_only_way_in() -> None:
    app = upstream()
    assert (await get(app)).status_code == 401
    signed = HandedPrincipal(PRINCIPAL, "core_banking", GATEWAY).assertion()
    response = await get(app, **{PRINCIPAL_HEADER: signed})
    assert response.status_code == 200
    assert response.json() == {"subject": "cust-1"}
