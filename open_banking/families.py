"""The Open Banking API families this bank serves: the resource APIs under /open-banking/v4.0/<name>, and the
Events API (event subscriptions, aggregated polling) at /open-banking/v4.0 itself, as its specification has it."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter

from open_banking.aisp import router as aisp_router
from open_banking.cbpii import router as cbpii_router
from open_banking.events import router as events_router
from open_banking.pisp import router as pisp_router

VERSION = "v4.0"


@dataclass(frozen=True, slots=True, eq=False)  # one object per family: compared, and cached, by identity
class ApiFamily:
    """One API family: its path segment, its specification's title and discovery key, and its routes."""

    name: str
    title: str
    discovery_key: str
    router: APIRouter
    # Routes at the version's root rather than under the family's name (the Events API's server URL).
    at_version_root: bool = False

    @property
    def prefix(self) -> str:
        """Where its routes are mounted, the `servers` URL of its OpenAPI document."""
        return f"/open-banking/{VERSION}" if self.at_version_root else f"/open-banking/{VERSION}/{self.name}"

    @property
    def openapi_path(self) -> str:
        return f"/open-banking/{VERSION}/{self.name}/openapi.json"


AISP = ApiFamily("aisp", "Account and Transaction API", "AccountAndTransactionAPI", aisp_router.router)
PISP = ApiFamily("pisp", "Payment Initiation API", "PaymentInitiationAPI", pisp_router.router)
CBPII = ApiFamily("cbpii", "Confirmation of Funds API", "FundsConfirmationAPI", cbpii_router.router)
# The resource API families, each with its official OpenAPI file in the v4.0 specs.
FAMILIES = (AISP, PISP, CBPII)
# Event subscriptions and aggregated polling (OB v4.0.1 "Events API Specification - ASPSP Endpoints").
EVENTS = ApiFamily("events", "Events API", "EventNotificationAPI", events_router.router, at_version_root=True)
SERVED_FAMILIES = (*FAMILIES, EVENTS)
