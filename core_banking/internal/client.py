"""`CoreBanking` over internal HTTP: what a process without core banking in it calls (`facade.connect`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from core_banking.accounts.errors import AccountNotFound
from core_banking.accounts.schemas import AccountRecord
from core_banking.consents.errors import (
    ConsentExpired,
    ConsentNotAwaitingAuthorisation,
    ConsentNotFound,
    ConsentNotRevocable,
    InvalidConsent,
    InvalidConsentAccounts,
)
from core_banking.consents.schemas import ConsentRecord
from core_banking.errors import DomainError
from core_banking.internal import PREFIX
from obank.correlation import HEADER as CORRELATION_HEADER
from obank.correlation import current_correlation_id
from obank.principal import PRINCIPAL_HEADER, InternalAssertions, Principal, load_internal_assertions
from obank.settings import Settings

SERVICE_AUDIENCE = "core_banking"
_CONSENT = TypeAdapter(ConsentRecord)
_ACCOUNTS = TypeAdapter(list[AccountRecord])
# The facade's errors travel as problem details; their stable `code` names the error to raise again here.
_ERRORS: dict[str, type[DomainError]] = {
    error.code: error
    for error in (
        AccountNotFound,
        ConsentExpired,
        ConsentNotAwaitingAuthorisation,
        ConsentNotFound,
        ConsentNotRevocable,
        InvalidConsent,
        InvalidConsentAccounts,
    )
}


class CoreBankingUnavailable(Exception):
    """Core banking did not answer, or answered what the facade does not define."""


class HttpCoreBanking:
    """Each call: a signed `service` assertion, the caller's interaction id, the facade's typed result."""

    def __init__(self, http: httpx.AsyncClient, assertions: InternalAssertions, service: str) -> None:
        self._http = http
        self._assertions = assertions
        self._service = service

    @classmethod
    def from_settings(cls, settings: Settings, service: str = "auth_server") -> HttpCoreBanking:
        assert settings.upstream_core_banking_url is not None
        http = httpx.AsyncClient(base_url=settings.upstream_core_banking_url, timeout=settings.upstream_timeout_s)
        return cls(http, load_internal_assertions(settings), service)

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        interaction_id = current_correlation_id()
        principal = Principal(subject=self._service, kind="service", interaction_id=interaction_id)
        headers = {
            PRINCIPAL_HEADER: self._assertions.sign(principal, SERVICE_AUDIENCE),
            CORRELATION_HEADER: interaction_id,
        }
        try:
            response = await self._http.request(method, PREFIX + path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise CoreBankingUnavailable(f"core banking unreachable: {type(exc).__name__}") from exc
        if response.is_success:
            return response.json()
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        error = _ERRORS.get(str(problem.get("code")))
        if error is None:
            raise CoreBankingUnavailable(f"core banking answered {response.status_code}")
        raised = error.__new__(error)
        DomainError.__init__(raised, str(problem.get("detail") or error.title))
        raise raised

    async def customer_exists(self, customer_id: uuid.UUID) -> bool:
        return bool((await self._call("GET", f"/customers/{customer_id}"))["exists"])

    async def list_customer_accounts(self, customer_id: uuid.UUID) -> list[AccountRecord]:
        return _ACCOUNTS.validate_python(await self._call("GET", f"/customers/{customer_id}/accounts"))

    async def get_consent(self, consent_id: str) -> ConsentRecord:
        return _CONSENT.validate_python(await self._call("GET", _consent(consent_id)))

    async def authorise_consent(
        self,
        consent_id: str,
        *,
        customer_id: uuid.UUID,
        account_ids: Sequence[uuid.UUID],
        session_id: str | None = None,
    ) -> ConsentRecord:
        body = {"customer_id": str(customer_id), "account_ids": [str(a) for a in account_ids], "session_id": session_id}
        answer = await self._call("POST", _consent(consent_id) + "/authorisation", body)
        return _CONSENT.validate_python(answer)

    async def reject_consent(
        self, consent_id: str, *, customer_id: uuid.UUID | None = None, session_id: str | None = None
    ) -> ConsentRecord:
        body = {"customer_id": None if customer_id is None else str(customer_id), "session_id": session_id}
        return _CONSENT.validate_python(await self._call("POST", _consent(consent_id) + "/rejection", body))

    async def revoke_consent(
        self, consent_id: str, *, customer_id: uuid.UUID, session_id: str | None = None
    ) -> ConsentRecord:
        body = {"customer_id": str(customer_id), "session_id": session_id}
        return _CONSENT.validate_python(await self._call("POST", _consent(consent_id) + "/revocation", body))

    async def close(self) -> None:
        await self._http.aclose()


def _consent(consent_id: str) -> str:
    """The consent's path: an id that could not be one (empty, or holding `/`) is unknown, never another path."""
    if not consent_id or "/" in consent_id or consent_id in (".", ".."):
        raise ConsentNotFound(consent_id)
    return "/consents/" + quote(consent_id, safe="")
