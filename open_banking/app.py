"""The open_banking ASGI app: UK Open Banking v4.0 under /open-banking, in the OB dialect throughout.

Every answer under /open-banking is the profile's: `OBErrorResponse1` for every failure (a bare 401 for a
missing principal), JSON only, the x-fapi headers checked. Principals arrive as internal assertions
addressed to `open_banking`; money data and consents come from core banking's facade.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI

from core_banking.facade import CoreBanking
from obank.inputs import refuse_control_characters
from obank.principal import load_internal_assertions
from obank.runtime import Platform
from open_banking import discovery
from open_banking.errors import install_ob_error_handler
from open_banking.families import FAMILIES

SERVICE_NAME = "open_banking"
PREFIX = "/open-banking"


def create_app(platform: Platform, core_banking: CoreBanking) -> FastAPI:
    """The app over `platform`, reading and writing through `core_banking` (in this process or over HTTP)."""
    app = FastAPI(
        title="obank Open Banking",
        openapi_url=None,  # each API family serves its own document (open_banking.discovery)
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.platform = platform
    app.state.core_banking = core_banking
    app.state.internal_assertions = load_internal_assertions(platform.settings)
    app.state.service_name = SERVICE_NAME
    app.state.public_base_url = platform.settings.public_base_url()
    for family in FAMILIES:
        app.include_router(family.router, prefix=family.prefix)
    app.include_router(discovery.router)
    install_ob_error_handler(app)
    return app
