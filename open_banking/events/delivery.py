"""Callbacks: each SET POSTed to its TPP's `{CallbackUrl}/event-notifications`, retried, then left for polling.

Event Notification API (v4.0, TPP endpoint `POST /event-notifications`): the body is the SET
(`application/jwt`), with `x-fapi-financial-id` and `x-fapi-interaction-id`; the TPP acknowledges with 202.
Anything else (another status, a timeout, a TLS failure) is a failed attempt, tried again after a backoff that
doubles each time, up to `event_notifications_attempts`; the SET then stays for aggregated polling, which is
there "to catch-up following a period where the TPP's Real Time Notification endpoint has been offline"
(Aggregated Polling API Profile).

Any number of processes run the loop: each claims due SETs with `FOR UPDATE SKIP LOCKED` under a lease
(a dead process's claims lapse) and records each outcome fenced by the attempt it claimed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import aiohttp

from obank.database import unit_of_work
from obank.log import get_logger
from obank.outbound import AddressPolicy, CheckedResolver
from obank.runtime import Platform
from obank.settings import Settings
from open_banking.events import repository
from open_banking.events.service import notification_url

BATCH = 20
JWT = "application/jwt"

_log = get_logger("open_banking.events.delivery")


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    attempts: int
    backoff: timedelta
    lease: timedelta
    financial_id: str
    poll_interval_s: float
    addresses: AddressPolicy

    @classmethod
    def from_settings(cls, settings: Settings) -> DeliveryPolicy:
        return cls(
            attempts=settings.event_notifications_attempts,
            backoff=timedelta(seconds=settings.event_notifications_backoff_s),
            lease=timedelta(seconds=settings.event_notifications_lease_s),
            financial_id=settings.event_notifications_financial_id,
            poll_interval_s=settings.event_notifications_poll_interval_s,
            addresses=addresses(settings),
        )

    def retry_in(self, attempt: int) -> timedelta | None:
        """The wait before the next attempt after failed attempt `attempt` (1-based); None after the last."""
        if attempt >= self.attempts:
            return None
        factor: int = 2 ** (attempt - 1)
        return self.backoff * factor


def addresses(settings: Settings) -> AddressPolicy:
    """Public addresses only, unless `event_notifications_allow_loopback` (tests, local development)."""
    return AddressPolicy(allow_private_networks=settings.event_notifications_allow_loopback)


def callback_client(settings: Settings) -> aiohttp.ClientSession:
    """HTTPS to TPPs' servers, trusting the configured trust anchor (or the system's), never following redirects,
    and connecting only to public addresses (`obank.outbound`; loopback and private networks only when
    `event_notifications_allow_loopback`), checked as each connection resolves the callback's host."""
    context = ssl.create_default_context(
        cafile=None if settings.event_notifications_ca_file is None else str(settings.event_notifications_ca_file)
    )
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context, resolver=CheckedResolver(addresses(settings))),
        timeout=aiohttp.ClientTimeout(total=settings.event_notifications_timeout_s),
        trust_env=False,
    )


async def _post(
    http: aiohttp.ClientSession, delivery: repository.ClaimedDelivery, policy: DeliveryPolicy
) -> str | None:
    """POST one SET; None when the TPP acknowledged it (202), else what failed (a status or an error class)."""
    headers = {
        "content-type": JWT,
        "x-fapi-financial-id": policy.financial_id,
        "x-fapi-interaction-id": str(uuid.uuid4()),
    }
    url = notification_url(delivery.callback_url)
    try:
        policy.addresses.check_literal(urlsplit(url).hostname or "")
        async with http.post(url, data=delivery.set_jwt.encode(), headers=headers, allow_redirects=False) as response:
            status = response.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return type(exc).__name__
    return None if status == 202 else f"HTTP {status}"


async def deliver_due(platform: Platform, http: aiohttp.ClientSession, policy: DeliveryPolicy) -> int:
    """One round: claim due SETs, POST them, record each outcome; how many were claimed."""
    async with unit_of_work(platform.sessions) as session:
        claimed = await repository.claim_due(session, limit=BATCH, lease=policy.lease)
    if not claimed:
        return 0
    outcomes = await asyncio.gather(*(_post(http, delivery, policy) for delivery in claimed))
    async with unit_of_work(platform.sessions) as session:
        for delivery, failure in zip(claimed, outcomes, strict=True):
            if failure is None:
                await repository.record_delivered(session, delivery.jti, delivery.attempt)
                _log.info("tpp_event_delivered", client_id=delivery.client_id, jti=delivery.jti)
                continue
            retry_in = policy.retry_in(delivery.attempt)
            await repository.record_failure(session, delivery.jti, delivery.attempt, failure, retry_in=retry_in)
            _log.warning(
                "tpp_event_delivery_failed",
                client_id=delivery.client_id,
                jti=delivery.jti,
                attempt=delivery.attempt,
                failure=failure,
                given_up=retry_in is None,
            )
    return len(claimed)


async def run_delivery(platform: Platform, stop: asyncio.Event) -> None:
    """The callback loop of one process, until `stop` is set."""
    policy = DeliveryPolicy.from_settings(platform.settings)
    async with callback_client(platform.settings) as http:
        while not stop.is_set():
            try:
                claimed = await deliver_due(platform, http, policy)
            except Exception:
                _log.exception("tpp_event_delivery_round_failed")
                claimed = 0
            if claimed < BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=policy.poll_interval_s)
