"""Who may call the event subscription and polling routes: a TPP with its client credentials token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from obank.principal import PrincipalDep
from open_banking.auth import TppClient
from open_banking.errors import Forbidden

# Events API (v4.0.1), TPPOAuth2Security: any one of the TPP's API scopes.
EVENT_SCOPES = frozenset({"accounts", "payments", "fundsconfirmations"})


async def _events_client(principal: PrincipalDep) -> TppClient:
    if principal.kind != "client" or not principal.client_id:
        raise Forbidden("this resource takes the TPP's client credentials token")
    if not EVENT_SCOPES & principal.scopes:
        raise Forbidden("the token needs one of the scopes " + ", ".join(sorted(EVENT_SCOPES)))
    return TppClient(principal.client_id, principal)


# A TPP with a client credentials token of accounts, payments or fundsconfirmations.
EventsClient = Annotated[TppClient, Depends(_events_client)]
