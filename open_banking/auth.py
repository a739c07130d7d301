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


# A TPP with a client credentials token for the Account and Transaction API.
AccountsClient = Annotated[TppClient, Depends(_tpp_client("accounts"))]
