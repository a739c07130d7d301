"""The request's transaction for event routes, acting as the TPP the principal names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from obank.actor import Actor
from obank.database import unit_of_work
from obank.principal import PrincipalDep
from obank.settings import Settings
from obank.unit_of_work import UnitOfWork, request_unit_of_work
from open_banking.events.service import CallbackPolicy


async def _tpp_actor(principal: PrincipalDep) -> Actor:
    return Actor.from_principal(principal)


async def _read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(request.app.state.platform.sessions) as session:
        yield session


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.platform.settings
    return settings


def _callback_policy(request: Request) -> CallbackPolicy:
    return CallbackPolicy(allow_loopback=_settings(request).event_notifications_allow_loopback)


def _max_events(request: Request) -> int:
    return _settings(request).event_notifications_max_events


# One transaction per request, committed before the response is sent (a failed commit answers an error).
UnitOfWorkDep = Annotated[UnitOfWork, Depends(request_unit_of_work(_tpp_actor), scope="function")]
ReadSessionDep = Annotated[AsyncSession, Depends(_read_session, scope="function")]
CallbackPolicyDep = Annotated[CallbackPolicy, Depends(_callback_policy)]
MaxEventsDep = Annotated[int, Depends(_max_events)]
