"""The Open Banking API families this bank serves, each under /open-banking/v4.0/<name>."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from open_banking.aisp import router as aisp_router
from open_banking.cbpii import router as cbpii_router
from open_banking.pisp import router as pisp_router

VERSION = "v4.0"


@dataclass(frozen=True, slots=True, eq=False)  # one object per family: compared, and cached, by identity
class ApiFamily:
    """One API family: its path segment, its specification's title and discovery key, and its routes."""

    name: str
    title: str
    discovery_key: str
    router: APIRouter

    @property
    def prefix(self) -> str:
        return f"/open-banking/{VERSION}/{self.name}"


AISP = ApiFamily("aisp", "Account and Transaction API", "AccountAndTransactionAPI", aisp_router.router)
PISP = ApiFamily("pisp", "Payment Initiation API", "PaymentInitiationAPI", pisp_router.router)
CBPII = ApiFamily("cbpii", "Confirmation of Funds API", "FundsConfirmationAPI", cbpii_router.router)
FAMILIES = (AISP, PISP, CBPII)
