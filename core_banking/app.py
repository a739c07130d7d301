"""The core_banking ASGI app: customer routes under /api/v1, admin routes under /admin/v1; RFC 9457 errors."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from audit.trail import platform_units
from core_banking.accounts import router as accounts_router
from core_banking.consents import router as consents_router
from core_banking.customer_search import router as customer_search_router
from core_banking.customers import router as customers_router
from core_banking.history import router as history_router
from core_banking.internal import router as internal_router
from core_banking.ledger import router as ledger_router
from core_banking.payees import router as payees_router
from core_banking.payees.confirmation import NoDirectory, PayeeNameDirectory
from core_banking.payment_orders import router as payment_orders_router
from core_banking.payments import router as payments_router
from core_banking.statements import router as statements_router
from core_banking.transfers import router as transfers_router
from fraud.decisions import ApproveAll, FraudDecisions
from obank.approvals import router as approvals_router
from obank.inputs import refuse_control_characters
from obank.principal import load_internal_assertions
from obank.problems import install_problem_handler
from obank.roles import StaffRole
from obank.runtime import Platform
from obank.scheduler.registry import JobRegistry
from obank.scheduler.router import jobs_router
from obank.staff import staff_with_role

SERVICE_NAME = "core_banking"


def create_app(
    platform: Platform,
    *,
    payee_names: PayeeNameDirectory | None = None,
    jobs: JobRegistry | None = None,
    fraud: FraudDecisions | None = None,
) -> FastAPI:
    """The app over `platform`; principals arrive as internal assertions addressed to `core_banking`.

    `payee_names` answers confirmation of payee for other banks' accounts (the composition root hands in the
    scheme's directory); without one, every other bank's account is UNAVAILABLE. `jobs` are the deployment's
    scheduled jobs, which staff see and run under /admin/v1/jobs. `fraud` screens customers' transfers to other
    customers before money moves (the composition root hands in the fraud engine; without one, every transfer
    is approved).
    """
    app = FastAPI(title="obank core banking", version="1", dependencies=[Depends(refuse_control_characters)])
    app.state.platform = platform
    app.state.sessions = platform.sessions
    app.state.units = platform_units(platform)
    app.state.internal_assertions = load_internal_assertions(platform.settings)
    app.state.service_name = SERVICE_NAME
    app.state.job_registry = jobs or JobRegistry()
    app.state.payee_names = payee_names or NoDirectory()
    app.state.fraud = fraud or ApproveAll()
    # A request is matched against the routes in this order, one by one (about 2 us each): the customers' and
    # the TPPs' routes (/api/v1, /internal/v1) come before the staff's (/admin/v1). The prefixes never overlap,
    # so the order changes which route is tried first, never which one matches.
    for router in (
        history_router.router,
        transfers_router.router,
        payments_router.router,
        statements_router.router,
        payees_router.router,
        payees_router.confirmations_router,
        payment_orders_router.router,
        internal_router.router,
        customers_router.router,
        customer_search_router.router,
        accounts_router.router,
        ledger_router.router,
        history_router.staff_router,
        payments_router.staff_router,
        consents_router.staff_router,
        approvals_router.router,
    ):
        app.include_router(router)
    # Jobs: any staff role reads them, admins ask for runs.
    app.include_router(
        jobs_router(read_access=staff_with_role(*StaffRole), run_access=staff_with_role(StaffRole.ADMIN)),
        prefix="/admin/v1",
    )
    install_problem_handler(app)
    return app
