"""Typed request dependencies of the fraud app: fraud analysts only, and the unit of work acting as them."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core_banking.facade import CoreBanking
from obank.actor import Actor
from obank.principal import Principal, PrincipalDep
from obank.roles import StaffRole
from obank.settings import Settings
from obank.staff import staff_with_role
from obank.unit_of_work import UnitOfWork, request_unit_of_work


async def _caller_actor(principal: PrincipalDep) -> Actor:
    return Actor.from_principal(principal)


def _core_banking(request: Request) -> CoreBanking:
    core_banking: CoreBanking = request.app.state.core_banking
    return core_banking


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.platform.settings
    return settings


# Alerts, held payments and the mule list: fraud analysts only (the principal's subject is their staff id).
FraudAnalyst = Annotated[Principal, Depends(staff_with_role(StaffRole.FRAUD_ANALYST))]
# The request's transaction, acting as the verified caller; committed before the response is sent.
UnitOfWorkDep = Annotated[UnitOfWork, Depends(request_unit_of_work(_caller_actor), scope="function")]
# Core banking as this process reaches it (releases and rejections of held payments).
CoreBankingDep = Annotated[CoreBanking, Depends(_core_banking)]
SettingsDep = Annotated[Settings, Depends(_settings)]
