"""What runs beside the apps: each context's periodic jobs and event consumers, wired for one process."""

from __future__ import annotations

import asyncio
from functools import partial

from auth_server.oauth.config import OAuthConfig
from auth_server.oauth.grants.consumers import consent_end_consumer
from bank.health import BackgroundJob
from core_banking.consents.consumers import consent_withdrawal_consumer
from core_banking.scheduler import BankScheduler
from obank.outbox.consumers import ConsumerRegistry, default_registry
from obank.outbox.worker import run_worker
from obank.revocation import purge_spent_denials
from obank.runtime import Platform


def scheduled_jobs(platform: Platform) -> list[BackgroundJob]:
    """Every context's periodic jobs; each is idempotent, so a second instance running them is harmless."""
    return [BankScheduler(platform).run, partial(purge_spent_denials, platform.sessions)]


def consumer_registry(platform: Platform) -> ConsumerRegistry:
    """Every context's event consumers."""
    registry = default_registry()
    registry.register(consent_withdrawal_consumer(platform.keyring))  # core banking, on auth_server's grants
    oauth = OAuthConfig.from_settings(platform.settings)
    registry.register(consent_end_consumer(platform.keyring, platform.revocations, oauth))  # auth_server, on consents
    return registry


def in_process_relay(platform: Platform) -> BackgroundJob:
    """The outbox relay dispatching to this process's consumers, for `obank serve` without Kafka."""

    async def relay(stop: asyncio.Event) -> None:
        await run_worker(platform, consumer_registry(platform), stop=stop, handle_signals=False)

    return relay
