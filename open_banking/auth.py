"""Who may call an Open Banking route, as typed dependencies: a route's signature says which token it takes.

The gateway already checked the token, its certificate binding and its scope; these check again what the
internal assertion says (defence in depth), and what the gateway's table cannot: the kind of token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from obank.principal import Principal, PrincipalDep
from open_banking.errors import Forbidden


@dataclass(frozen=True, slots=True)
class TppClient:
    """A TPP acting on its own behalf, with its client credentials token."""

    client_id: str
    principal: Principal


def _tpp_client(scope: str) -> Callable[[Principal], Awaitable[TppClient]]:
    async def authorise(principal: PrincipalDep) -> TppClient:
        # Consent resources take the TPP's client credentials token (OpenAPI: TPPOAuth2Security), not a PSU's.
        if principal.kind != "client" or not principal.client_id:
            raise Forbidden("this resource takes the TPP's client credentials token")
        if scope not in principal.scopes:
            raise Forbidden(f"the token lacks the scope {scope}")
        return TppClient(principal.client_id, principal)

    return authorise


@dataclass(frozen=True, slots=True)
class TppUnderConsent:
    """A TPP acting for a PSU, with the access token the PSU's authorisation of one consent issued."""

    client_id: str
    consent_id: str
    principal: Principal


def _tpp_under_consent(scope: str) -> Callable[[Principal], Awaitable[TppUnderConsent]]:
    async def authorise(principal: PrincipalDep) -> TppUnderConsent:
        # Resources of a PSU take the token of the PSU's authorisation (OpenAPI: PSUOAuth2Security), and an
        # access token is bound to a single PSU and an intent (R/W API Profile, "Consent Authorisation").
        if principal.kind != "customer" or not principal.client_id or not principal.consent_id:
            raise Forbidden("this resource takes the access token of a customer's authorisation of a consent")
        if scope not in principal.scopes:
            raise Forbidden(f"the token lacks the scope {scope}")
        return TppUnderConsent(principal.client_id, principal.consent_id, principal)

    return authorise


# A TPP with a client credentials token for the Account and Transaction API.
AccountsClient = Annotated[TppClient, Depends(_tpp_client("accounts"))]
# A TPP with a client credentials token for the Confirmation of Funds API (its consents).
FundsConfirmationsClient = Annotated[TppClient, Depends(_tpp_client("fundsconfirmations"))]
# A CBPII with the token of a customer's authorised funds confirmation consent.
FundsConfirmationsConsent = Annotated[TppUnderConsent, Depends(_tpp_under_consent("fundsconfirmations"))]
# A PISP with a client credentials token for the Payment Initiation API (its consents, its payments).
PaymentsClient = Annotated[TppClient, Depends(_tpp_client("payments"))]
# A PISP with the token of a customer's authorised domestic payment consent.
PaymentsConsent = Annotated[TppUnderConsent, Depends(_tpp_under_consent("payments"))]
