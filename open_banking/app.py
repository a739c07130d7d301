"""The open_banking ASGI app: UK Open Banking v4.0 under /open-banking, in the OB dialect throughout.

Every answer under /open-banking is the profile's: `OBErrorResponse1` for every failure (a bare 401 for a
missing principal), JSON only, the x-fapi headers checked, messages signed where the API wants it
(`open_banking.signing`). Principals arrive as internal assertions addressed to `open_banking`; money data
and consents come from core banking's facade, TPPs' keys and the bank's signature from the authorization
server's.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from audit.trail import platform_units
from auth_server.facade import AuthServer
from auth_server.facade import connect as connect_auth_server
from core_banking.facade import CoreBanking
from obank.inputs import refuse_control_characters
from obank.principal import load_internal_assertions
from obank.problems import with_complete_allow
from obank.runtime import Platform
from open_banking import discovery
from open_banking.errors import install_ob_error_handler, render_ob_error
from open_banking.events.router import EVENT_SUBSCRIPTIONS
from open_banking.families import EVENTS, PISP, SERVED_FAMILIES
from open_banking.signing import MessageSigning, ResponseSigning

SERVICE_NAME = "open_banking"
PREFIX = "/open-banking"
# The paths whose responses the bank signs, as their OpenAPI files require (R/W API Profile, "Message
# Signing"); their POSTs take `open_banking.signing.SignedRequest`. AISP, CBPII and polling sign neither.
SIGNED_PATHS = (PISP.prefix, EVENTS.prefix + EVENT_SUBSCRIPTIONS)


class OpenBankingApp(FastAPI):
    """FastAPI with the response signature outside everything, the 500 of an unexpected error included."""

    def build_middleware_stack(self) -> ASGIApp:
        return ResponseSigning(super().build_middleware_stack(), lambda: self.state.message_signing, SIGNED_PATHS)


def create_app(platform: Platform, core_banking: CoreBanking, auth_server: AuthServer | None = None) -> FastAPI:
    """The app over `platform`, reading and writing through `core_banking` (in this process or over HTTP).

    `auth_server` resolves TPPs' keys and signs responses; without it, the app connects its own (in process).
    """
    auth_server = auth_server or connect_auth_server(platform)
    app = OpenBankingApp(
        title="obank Open Banking",
        openapi_url=None,  # each API family serves its own document (open_banking.discovery)
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(refuse_control_characters)],
    )
    app.state.platform = platform
    app.state.core_banking = core_banking
    app.state.units = platform_units(platform)  # the event subscriptions' transactions and audit records
    app.state.internal_assertions = load_internal_assertions(platform.settings)
    app.state.service_name = SERVICE_NAME
    app.state.public_base_url = platform.settings.public_base_url()
    app.state.auth_server = auth_server
    app.state.message_signing = MessageSigning(auth_server, issuer=platform.settings.public_base_url())
    for family in SERVED_FAMILIES:
        app.include_router(family.router, prefix=family.prefix)
    app.include_router(discovery.router)
    install_ob_error_handler(app)
    app.add_exception_handler(StarletteHTTPException, with_complete_allow(render_ob_error))
    return app
