"""Who may read account information: a TPP with the access token a PSU authorised for one consent.

Consent resources take the TPP's client credentials token (`open_banking.auth.AccountsClient`); account
information takes the authorization code token (OpenAPI: PSUOAuth2Security), which the gateway passes on
as a customer principal naming the TPP client and the consent it is bound to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends

from obank.principal import PrincipalDep
from open_banking.aisp.errors import NotAnAccountInformationToken
from open_banking.errors import Forbidden

SCOPE = "accounts"


@dataclass(frozen=True, slots=True)
class ConsentReader:
    """A TPP reading a PSU's account information through the consent the PSU authorised."""

    client_id: str
    customer_id: str
    consent_id: str


async def _consent_reader(principal: PrincipalDep) -> ConsentReader:
    if principal.kind != "customer" or not principal.client_id or not principal.consent_id:
        raise NotAnAccountInformationToken
    if SCOPE not in principal.scopes:
        raise Forbidden(f"the token lacks the scope {SCOPE}")
    return ConsentReader(principal.client_id, principal.subject, principal.consent_id)


# A TPP with a PSU's access token bound to an account access consent.
AccountsReader = Annotated[ConsentReader, Depends(_consent_reader)]
