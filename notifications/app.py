"""The notifications ASGI app: the staff API of webhooks under /admin/v1/webhooks, the customer's notification
preferences and messages under /api/v1, and secure messages between customers and support staff
(/api/v1/conversations, /admin/v1/conversations); RFC 9457 errors. Principals arrive as internal
assertions addressed to `notifications`.

What sends notifications runs beside the apps, driven by outbox events (`bank/jobs.py`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from audit.trail import platform_units
from notifications.conversations import router as conversations_router
from notifications.customers import router as customers_router
from notifications.webhooks.router import router as webhooks_router
from obank.inputs import refuse_control_characters
from obank.principal import load_internal_assertions
from obank.problems import install_problem_handler
from obank.runtime import Platform

SERVICE_NAME = "notifications"
# Where the gateway routes to this app.
ADMIN_PREFIXES = ("/admin/v1/webhooks", conversations_router.STAFF_PREFIX)
CUSTOMER_PREFIXES = (
    "/api/v1/notification-preferences",
    "/api/v1/notifications",
    conversations_router.CUSTOMER_PREFIX,
)
DEVELOPMENT_PREFIXES = ("/dev/mail",)

ROUTERS: tuple[APIRouter, ...] = (
    webhooks_router,
    customers_router.preferences_router,
    customers_router.inbox_router,
    conversations_router.customer_router,
    conversations_router.staff_router,
    customers_router.mail_router,  # development only: the gateway never routes /dev/mail in production
)


def create_app(platform: Platform) -> FastAPI:
    """The app over `platform`."""
    app = FastAPI(title="obank notifications", version="1", dependencies=[Depends(refuse_control_characters)])
    app.state.platform = platform
    app.state.sessions = platform.sessions
    app.state.units = platform_units(platform)
    app.state.internal_assertions = load_internal_assertions(platform.settings)
    app.state.service_name = SERVICE_NAME
    for router in ROUTERS:
        app.include_router(router)
    install_problem_handler(app)
    return app
