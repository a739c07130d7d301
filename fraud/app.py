"""The fraud ASGI app: the analysts' staff API under /admin/v1/fraud (alerts, held payments, the mule list);
RFC 9457 errors. Principals arrive as internal assertions addressed to `fraud`.

Scoring runs in the payment saga and the sign-in (`fraud.engine`); alerts are raised from outbox events by the
`fraud.alerts` consumer (`bank/jobs.py`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from audit.trail import platform_units
from core_banking.facade import CoreBanking, connect
from fraud.alerts.router import router as alerts_router
from fraud.errors import install_error_handler
from obank.inputs import refuse_control_characters
from obank.principal import load_internal_assertions
from obank.runtime import Platform

SERVICE_NAME = "fraud"
# Where the gateway routes to this app.
ADMIN_PREFIXES = ("/admin/v1/fraud",)

ROUTERS: tuple[APIRouter, ...] = (alerts_router,)


def create_app(platform: Platform, core_banking: CoreBanking | None = None) -> FastAPI:
    """The app over `platform`; held payments are released and rejected through `core_banking` (by default as
    this process reaches it)."""
    app = FastAPI(title="obank fraud", version="1", dependencies=[Depends(refuse_control_characters)])
    app.state.platform = platform
    app.state.sessions = platform.sessions
    app.state.units = platform_units(platform)
    app.state.internal_assertions = load_internal_assertions(platform.settings)
    app.state.service_name = SERVICE_NAME
    app.state.core_banking = core_banking or connect(platform)
    for router in ROUTERS:
        app.include_router(router)
    install_error_handler(app)
    return app
