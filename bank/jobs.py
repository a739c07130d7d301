"""What runs beside the apps, wired for one process: the scheduler with every context's periodic jobs, the
payment saga's pollers, and the event consumers.

The scheduler (`obank.scheduler`, one `BackgroundJob`) runs each due time of each job below once, whichever
of any number of `obank serve` and `obank worker` processes claims it, and records the run. The payment chase
and the scheme's dispatcher stay loops of their own in every process: they poll the payment saga about once
a second for answers overdue by seconds, work with no calendar and no due time worth a recorded run, and each
step they take is already once-only under its payment's row lock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from functools import partial

from auth_server.facade import event_signer
from auth_server.oauth.config import OAuthConfig
from auth_server.oauth.grants.consumers import consent_end_consumer
from bank.health import BackgroundJob
from core_banking import jobs as core_banking_jobs
from core_banking.consents.consumers import consent_withdrawal_consumer
from core_banking.jobs import run_payment_chase, scheme_timing
from core_banking.ledger.periods import BANK_TIMEZONE
from core_banking.payments.consumers import saga_consumer
from core_banking.payments.consumers import scheme_consumer as payments_scheme_consumer
from core_banking.payments.service import FraudReview
from faster_payments.consumers import scheme_consumer as clearing_consumer
from faster_payments.dispatcher import run_dispatcher
from fraud.alerts.consumers import alerts_consumer
from fraud.decisions import FraudDecisions
from fraud.engine import FraudEngine
from fraud.features.consumers import features_consumer
from fraud.features.jobs import purge_features
from notifications.customers import sending as customer_notifications
from notifications.customers.consumers import customer_notifications_consumer
from notifications.webhooks.consumers import webhook_fanout_consumer
from notifications.webhooks.delivery import webhook_delivery
from notifications.webhooks.jobs import purge_webhooks
from obank.outbox.consumers import ConsumerRegistry, default_registry
from obank.outbox.worker import run_worker
from obank.revocation import purge_spent_denials
from obank.runtime import Platform
from obank.scheduler.jobs import purge_job_runs
from obank.scheduler.registry import Job, JobRegistry, RunResult
from obank.scheduler.scheduler import Scheduler
from obank.scheduler.schedules import Cron, Every
from obank.settings import Settings
from open_banking.events.consumers import tpp_events_consumer
from open_banking.events.delivery import run_delivery
from web.jobs import purge_web_sessions

HOURLY = Every(3600)


def _london(expression: str) -> Cron:
    return Cron(expression, BANK_TIMEZONE)


async def purge_revocations(platform: Platform, due_at: datetime) -> RunResult:
    """Forget deny-list entries whose tokens have all expired."""
    return {"purged": await purge_spent_denials(platform.sessions)}


def job_registry(settings: Settings) -> JobRegistry:
    """Every context's periodic jobs and when they fall due (calendar times in London, the bank's zone)."""
    frequent = Every(settings.scheduler_frequent_interval_s)
    core = core_banking_jobs
    return JobRegistry(
        [
            Job("expire-holds", frequent, core.hold_expiry, "Release holds past their expiry"),
            Job("lapse-consents", frequent, core.consent_lapses, "End consents whose time ran out"),
            Job(
                "payment-orders",
                Every(settings.payment_orders_interval_s),
                core.payment_order_sweep,
                "Pay due scheduled payments and standing orders",
            ),
            Job("accrue-interest", _london("15 0 * * *"), core.daily_interest_accrual, "Accrue yesterday's interest"),
            Job("post-interest", _london("0 1 1 * *"), core.monthly_interest_posting, "Pay last month's interest"),
            Job("reconcile", _london("0 2 * * *"), core.daily_reconciliation, "Reconcile the ledger"),
            Job("issue-statements", _london("0 3 1 * *"), core.month_end_statements, "Issue last month's statements"),
            Job("purge-idempotency-keys", HOURLY, core.idempotency_key_purge, "Forget expired idempotency keys"),
            Job("purge-revocations", frequent, purge_revocations, "Forget deny-list entries no token needs"),
            Job("purge-job-runs", _london("30 3 * * *"), purge_job_runs, "Forget job runs past their retention"),
            Job("purge-webhooks", _london("45 3 * * *"), purge_webhooks, "Forget old webhook messages and secrets"),
            Job(
                "purge-fraud-features",
                _london("0 4 * * *"),
                purge_features,
                "Forget payment attempts and sign-ins past the fraud rules' windows",
            ),
            Job("purge-web-sessions", Every(3600), purge_web_sessions, "Forget expired web app and console sessions"),
        ]
    )


def scheduled_jobs(platform: Platform) -> list[BackgroundJob]:
    """The scheduler (unless `OBANK_SCHEDULER_ENABLED=false`) and the payment chase; safe in any number of
    processes.

    Unless the simulated Faster Payments scheme runs as its own process (`OBANK_SCHEME_EMBEDDED=false` and
    `obank scheme run`), its dispatcher runs here too.
    """
    jobs: list[BackgroundJob] = [partial(run_payment_chase, platform)]
    if platform.settings.scheduler_enabled:
        jobs.append(Scheduler(platform, job_registry(platform.settings)).run)
    if platform.settings.scheme_embedded:
        jobs.append(scheme_dispatcher(platform))
    if platform.settings.webhooks_delivery_enabled:
        jobs.append(webhook_delivery(platform).run)  # integrators' webhooks, sent from their messages
    jobs += customer_notifications.background_jobs(platform)  # the sender (and the development mail sink)
    if platform.settings.event_notifications_delivery_enabled:
        jobs.append(partial(run_delivery, platform))  # Open Banking event notifications' callbacks to TPPs
    return jobs


def scheme_dispatcher(platform: Platform) -> BackgroundJob:
    """The scheme's delivery of its answers and payments, each when its simulated delay has passed."""
    return partial(run_dispatcher, platform.sessions)


def consumer_registry(platform: Platform, *, fraud: FraudDecisions | None = None) -> ConsumerRegistry:
    """Every context's event consumers (and the simulated scheme's, when it runs embedded). The payment saga
    screens with `fraud` (tests hand in their own), else the fraud engine over this platform."""
    registry = default_registry()
    registry.register(consent_withdrawal_consumer(platform.keyring))  # core banking, on auth_server's grants
    oauth = OAuthConfig.from_settings(platform.settings)
    registry.register(consent_end_consumer(platform.keyring, platform.revocations, oauth))  # auth_server, on consents
    screening = fraud or FraudEngine.for_platform(platform)
    review = FraudReview.from_settings(platform.settings)
    registry.register(saga_consumer(platform.keyring, screening, scheme_timing(platform), review))  # the payment saga
    registry.register(features_consumer())  # fraud: the features its decisions read, from every context's events
    registry.register(alerts_consumer(platform.keyring))  # fraud: analysts' alerts from flagged payments
    registry.register(payments_scheme_consumer(platform.keyring))  # the bank's side of Faster Payments
    registry.register(webhook_fanout_consumer())  # notifications: an integrator's webhook message per event
    registry.register(
        customer_notifications_consumer(platform.settings, customer_notifications.core_banking_for(platform))
    )
    registry.register(tpp_events_consumer(event_signer(platform), platform.settings.public_base_url()))  # TPPs' SETs
    if platform.settings.scheme_embedded:
        registry.register(clearing_consumer(platform.keyring))
    return registry


def scheme_registry(platform: Platform) -> ConsumerRegistry:
    """The simulated scheme's consumers alone, for `obank scheme run` (its own process, its own Kafka group)."""
    registry = ConsumerRegistry()
    registry.register(clearing_consumer(platform.keyring))
    return registry


def in_process_relay(platform: Platform) -> BackgroundJob:
    """The outbox relay dispatching to this process's consumers, for `obank serve` without Kafka."""

    async def relay(stop: asyncio.Event) -> None:
        await run_worker(platform, consumer_registry(platform), stop=stop, handle_signals=False)

    return relay
