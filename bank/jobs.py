"""What runs beside the apps: each context's periodic jobs and event consumers, wired for one process."""

from __future__ import annotations

import asyncio
from functools import partial

from auth_server.oauth.config import OAuthConfig
from auth_server.oauth.grants.consumers import consent_end_consumer
from bank.health import BackgroundJob
from core_banking.consents.consumers import consent_withdrawal_consumer
from core_banking.jobs import run_payment_chase, run_payment_orders, scheme_timing
from core_banking.payments.consumers import saga_consumer
from core_banking.payments.consumers import scheme_consumer as payments_scheme_consumer
from core_banking.scheduler import BankScheduler
from faster_payments.consumers import scheme_consumer as clearing_consumer
from faster_payments.dispatcher import run_dispatcher
from fraud.decisions import ApproveAll
from obank.outbox.consumers import ConsumerRegistry, default_registry
from obank.outbox.worker import run_worker
from obank.revocation import purge_spent_denials
from obank.runtime import Platform


def scheduled_jobs(platform: Platform) -> list[BackgroundJob]:
    """Every context's periodic jobs; each is idempotent, so a second instance running them is harmless.

    Unless the simulated Faster Payments scheme runs as its own process (`OBANK_SCHEME_EMBEDDED=false` and
    `obank scheme run`), its dispatcher runs here too.
    """
    jobs: list[BackgroundJob] = [
        BankScheduler(platform).run,
        partial(purge_spent_denials, platform.sessions),
        partial(run_payment_chase, platform),
        partial(run_payment_orders, platform),
    ]
    if platform.settings.scheme_embedded:
        jobs.append(scheme_dispatcher(platform))
    return jobs


def scheme_dispatcher(platform: Platform) -> BackgroundJob:
    """The scheme's delivery of its answers and payments, each when its simulated delay has passed."""
    return partial(run_dispatcher, platform.sessions)


def consumer_registry(platform: Platform) -> ConsumerRegistry:
    """Every context's event consumers (and the simulated scheme's, when it runs embedded)."""
    registry = default_registry()
    registry.register(consent_withdrawal_consumer(platform.keyring))  # core banking, on auth_server's grants
    oauth = OAuthConfig.from_settings(platform.settings)
    registry.register(consent_end_consumer(platform.keyring, platform.revocations, oauth))  # auth_server, on consents
    registry.register(saga_consumer(platform.keyring, ApproveAll(), scheme_timing(platform)))  # the payment saga
    registry.register(payments_scheme_consumer(platform.keyring))  # the bank's side of Faster Payments
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
