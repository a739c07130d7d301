"""The audit ASGI app: the investigation API under /admin/v1/audit (the staff console's timeline, decryptions with a
reason); RFC 9457 errors. Principals arrive as internal assertions addressed to `audit`.

Records are written by every context's unit of work at commit (`audit.trail`), not through this app.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from audit.investigations.router import router as investigations_router
from audit.trail import platform_units
from obank.inputs import refuse_control_characters
from obank.principal import load_internal_assertions
from obank.problems import install_problem_handler
from obank.runtime import Platform

SERVICE_NAME = "audit"
# Where the gateway routes to this app.
ADMIN_PREFIXES = ("/admin/v1/audit",)

ROUTERS: tuple[APIRouter, ...] = (investigations_router,)


def create_app(platform: Platform) -> FastAPI:
    """The app over `platform`."""
    app = FastAPI(title="obank audit", version="1", dependencies=[Depends(refuse_control_characters)])
    app.state.platform = platform
    app.state.sessions = platform.sessions
    app.state.units = platform_units(platform)
    app.state.internal_assertions = load_internal_assertions(platform.settings)
    app.state.service_name = SERVICE_NAME
    for router in ROUTERS:
        app.include_router(router)
    install_problem_handler(app)
    return app
