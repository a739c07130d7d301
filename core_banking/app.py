"""The core_banking ASGI app: customer routes under /api/v1, admin routes under /admin/v1; RFC 9457 errors."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from audit.trail import platform_units
from core_banking.accounts import router as accounts_router
from core_banking.customers import router as customers_router
from core_banking.history import router as history_router
from core_banking.internal import router as internal_router
from core_banking.ledger import router as ledger_router
from core_banking.payments import router as payments_router
from core_banking.statements import router as statements_router
from core_banking.transfers import router as transfers_router
from obank.inputs import refuse_control_characters
from obank.principal import load_internal_assertions
from obank.problems import install_problem_handler
from obank.runtime import Platform

SERVICE_NAME = "core_banking"


def create_app(platform: Platform) -> FastAPI:
    """The app over `platform`; principals arrive as internal assertions addressed to `core_banking`."""
    app = FastAPI(title="obank core banking", version="1", dependencies=[Depends(refuse_control_characters)])
    app.state.platform = platform
    app.state.sessions = platform.sessions
    app.state.units = platform_units(platform)
    app.state.internal_assertions = load_internal_assertions(platform.settings)
    app.state.service_name = SERVICE_NAME
    for router in (
        customers_router.router,
        accounts_router.router,
        ledger_router.router,
        transfers_router.router,
        payments_router.router,
        history_router.router,
        statements_router.router,
        internal_router.router,
    ):
        app.include_router(router)
    install_problem_handler(app)
    return app
