"""The request's unit of work, shared by auth_server's two apps (sign-in pages and OAuth endpoints)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from obank.actor import Actor
from obank.revocation import RevocationList
from obank.unit_of_work import UnitOfWork, request_unit_of_work

# Who acts in a request is mostly learnt inside it (the identity signing in, the client authenticating,
# the customer answering): those reports name their actor; the rest are the authorization server's own.
AUTH_SERVER = Actor.system("auth_server")


async def _auth_server() -> Actor:
    return AUTH_SERVER


# One transaction per request; scope="function" commits it before the response is sent, so a failed
# commit is answered as an error.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(request_unit_of_work(_auth_server), scope="function")]


async def _revocations(request: Request) -> RevocationList:
    revocations: RevocationList = request.app.state.platform.revocations
    return revocations


# The process's deny-list (`obank.revocation`), for a request that revokes tokens as it signs someone out.
RevocationsDep = Annotated[RevocationList, Depends(_revocations)]
