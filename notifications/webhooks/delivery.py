"""The delivery loop: every `obank serve` and `obank worker` process sends due webhook messages, at least once.

A process claims an endpoint's due messages in a short transaction (`FOR UPDATE SKIP LOCKED`, counting an
attempt and taking a lease), sends them concurrently outside it, and records each attempt and the message's new
state in another, fenced by the attempt's number so a result that comes back after its lease ran out (and the
message was claimed again) changes nothing. A killed process's claims come back when their lease ends.

Each endpoint with due work has a task of its own taking at most `webhooks_endpoint_concurrency` messages at a
time, and the process has `webhooks_concurrency` requests in flight at most: a slow or failing receiver holds
its own task and its few slots, never the others' (nor the outbox relay, which only wrote the messages). A
message is claimed only with a slot in hand, so none waits for a slot while its lease runs.

Answers: 2xx delivers; 410 Gone disables the endpoint (its pending messages wait, the answered one included,
until staff enable it again); anything else, a timeout or a refused address fails the attempt, and the next
follows the retry schedule (+-jitter) until the last, after which the message is dead-lettered (DEAD).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import ssl
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Self

import aiohttp
from standardwebhooks import Webhook

from audit.trail import platform_units
from notifications.webhooks import repository
from notifications.webhooks.destinations import CheckedResolver, Destinations
from notifications.webhooks.errors import ForbiddenDestination
from notifications.webhooks.models import DisabledReason, MessageStatus, webhook_id
from notifications.webhooks.signing import signed_headers, unseal_secret
from obank.actor import Actor
from obank.database import unit_of_work
from obank.log import describe_error, get_logger
from obank.runtime import Platform
from obank.settings import Settings

DELIVERY_ACTOR = Actor.system("notifications.webhook-delivery")
USER_AGENT = "obank-webhooks/1"
RESPONSE_READ_LIMIT = 64 * 1024  # read (and drop) this much of an answer's body, so its connection is reused
MIN_WAIT_S = 0.01
LINGER_S = 1.0  # an endpoint's task waits this long for new messages before it ends

_log = get_logger("notifications.webhooks.delivery")


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    """How deliveries are made and retried (`OBANK_WEBHOOKS_*`)."""

    connect_timeout_s: float = 5.0
    timeout_s: float = 15.0
    lease_s: float = 60.0
    retry_schedule_s: tuple[float, ...] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    retry_jitter: float = 0.1
    concurrency: int = 64
    endpoint_concurrency: int = 8
    poll_interval_s: float = 1.0
    allow_private_networks: bool = False
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        # A lease shorter than an attempt would let a second process send a message still in flight.
        if self.lease_s <= self.timeout_s:
            raise ValueError("OBANK_WEBHOOKS_LEASE_S must be longer than OBANK_WEBHOOKS_TIMEOUT_S")
        if any(delay < 0 for delay in self.retry_schedule_s):
            raise ValueError("OBANK_WEBHOOKS_RETRY_SCHEDULE_S holds waits in seconds, none negative")
        if not 0 <= self.retry_jitter < 1:
            raise ValueError("OBANK_WEBHOOKS_RETRY_JITTER is a fraction below 1")

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(
            connect_timeout_s=settings.webhooks_connect_timeout_s,
            timeout_s=settings.webhooks_timeout_s,
            lease_s=settings.webhooks_lease_s,
            retry_schedule_s=tuple(settings.webhooks_retry_schedule_s),
            retry_jitter=settings.webhooks_retry_jitter,
            concurrency=settings.webhooks_concurrency,
            endpoint_concurrency=settings.webhooks_endpoint_concurrency,
            poll_interval_s=settings.webhooks_poll_interval_s,
            allow_private_networks=settings.webhooks_allow_private_networks,
            ca_file=settings.webhooks_ca_file,
        )

    @property
    def max_attempts(self) -> int:
        """The first attempt, then one after each wait of the schedule."""
        return 1 + len(self.retry_schedule_s)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_s)

    def retry_delay(self, attempts: int, rng: random.Random) -> timedelta:
        """The wait after the `attempts`-th failed attempt: the schedule's, spread by +-jitter."""
        base = self.retry_schedule_s[attempts - 1]
        return timedelta(seconds=base * rng.uniform(1 - self.retry_jitter, 1 + self.retry_jitter))


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: uuid.UUID
    body: str
    attempts: int
    attempt: int  # attempts_total at the claim: the attempt's number and the fence of its result


@dataclass(frozen=True, slots=True)
class _Batch:
    endpoint_id: uuid.UUID
    url: str
    signers: tuple[Webhook, ...]
    at: datetime
    messages: tuple[_Claimed, ...]


@dataclass(frozen=True, slots=True)
class _Outcome:
    message: _Claimed
    latency_ms: int
    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.status == 410


def client_ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """Receivers' certificates verified against the system's CAs and, when configured, `ca_file`'s."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


class WebhookDelivery:
    """Sends due messages for one process; `run` is its background job, `deliver_due` one pass (tests, tools)."""

    def __init__(self, platform: Platform, config: DeliveryConfig | None = None) -> None:
        self.platform = platform
        self.config = config or DeliveryConfig.from_settings(platform.settings)
        self.destinations = Destinations(allow_private_networks=self.config.allow_private_networks)
        self._units = platform_units(platform)
        self._slots = asyncio.Semaphore(self.config.concurrency)
        self._signers: dict[uuid.UUID, Webhook] = {}  # unsealed once per secret (secrets never change)
        self._random = random.SystemRandom()
        self._http: aiohttp.ClientSession | None = None
        self._arrival: asyncio.Future[None] | None = None  # while `run` listens: settled when messages arrive
        self._stopping = False

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            connector = aiohttp.TCPConnector(
                ssl=client_ssl_context(self.config.ca_file),
                resolver=CheckedResolver(self.destinations),
                limit=self.config.concurrency,
                ttl_dns_cache=30,
            )
            self._http = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.config.timeout_s, connect=self.config.connect_timeout_s),
                headers={"user-agent": USER_AGENT},
                auto_decompress=False,
            )
        return self._http

    # One pass.

    async def deliver_due(self, now: datetime | None = None) -> int:
        """Send every message due at `now` (the database's clock by default) until none is left due then; the
        number of attempts made. Tests step `now` through the retry schedule."""
        async with unit_of_work(self.platform.sessions) as session:
            at = now or await repository.database_now(session)
            due = await repository.endpoints_with_due_messages(session, at)
        counts = await asyncio.gather(*(self.drain_endpoint(endpoint_id, at) for endpoint_id in due))
        return sum(counts)

    async def drain_endpoint(self, endpoint_id: uuid.UUID, now: datetime | None = None, *, linger_s: float = 0) -> int:
        """Claim and send an endpoint's due messages, batch after batch, until none is left; attempts made.

        With `linger_s` (the loop's tasks), an endpoint with nothing due waits that long for new messages before
        its task ends, so a steady trickle is not a task (and a look by the loop) per message.
        """
        attempts = 0
        while not self._stopping:
            arrival = self._arrival  # settled by the next new-messages notification
            slots = await self._take_slots(self.config.endpoint_concurrency)
            try:
                batch = await self._claim(endpoint_id, now, slots)
            except BaseException:
                self._give_back(slots)
                raise
            if batch is None:
                self._give_back(slots)
                if linger_s <= 0 or arrival is None:
                    return attempts
                try:
                    await asyncio.wait_for(asyncio.shield(arrival), linger_s)
                except TimeoutError:
                    return attempts
                continue
            self._give_back(slots - len(batch.messages))
            outcomes = await asyncio.gather(*(self._attempt(batch, message) for message in batch.messages))
            await self._record(batch, outcomes)
            attempts += len(outcomes)
            if any(outcome.gone for outcome in outcomes):
                return attempts
        return attempts

    async def _take_slots(self, most: int) -> int:
        """Wait for one request slot, then take up to `most` without waiting."""
        await self._slots.acquire()
        taken = 1
        while taken < most and not self._slots.locked():
            await self._slots.acquire()
            taken += 1
        return taken

    def _give_back(self, slots: int) -> None:
        for _ in range(slots):
            self._slots.release()

    async def _claim(self, endpoint_id: uuid.UUID, now: datetime | None, limit: int) -> _Batch | None:
        async with unit_of_work(self.platform.sessions) as session:
            found = await repository.claim_due(session, endpoint_id, now, self.config.lease, limit)
            if found is None:
                return None
            at, claimed = found
            url, secrets = await repository.signing_material(session, endpoint_id, at)
        signers = []
        for secret_id, sealed in secrets:
            signer = self._signers.get(secret_id)
            if signer is None:
                signer = Webhook(unseal_secret(self.platform.keyring, secret_id, sealed))
                self._signers[secret_id] = signer
            signers.append(signer)
        messages = tuple(_Claimed(row.id, row.body, row.attempts, row.attempts_total) for row in claimed)
        return _Batch(endpoint_id, url, tuple(signers), at, messages)

    async def _attempt(self, batch: _Batch, message: _Claimed) -> _Outcome:
        """One POST of a claimed message (its slot given back after); never raises for the receiver's failings."""
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        try:
            self.destinations.check_host(batch.url)
            # The timestamp is the attempt's real time, whatever clock schedules it: receivers check it.
            headers = {
                "content-type": "application/json",
                **signed_headers(webhook_id(message.id), message.body, batch.signers),
            }
            async with self._client().post(
                batch.url, data=message.body.encode(), headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    await _drain_body(response)
        except Exception as exc:  # what the receiver or the network did, recorded by class only
            error = _error_class(exc)
        finally:
            self._give_back(1)
        latency_ms = max(0, round((time.monotonic() - started) * 1000))
        return _Outcome(message, latency_ms, status, None if status is not None else error or "Unknown")

    async def _record(self, batch: _Batch, outcomes: Sequence[_Outcome]) -> None:
        """Each attempt, and each message's new state; a 410 disables the endpoint (audited)."""
        at = batch.at
        attempts = []
        updates = []
        for outcome in outcomes:
            message = outcome.message
            attempts.append(
                {
                    "message_id": message.id,
                    "attempt": message.attempt,
                    "started_at": at,
                    "latency_ms": outcome.latency_ms,
                    "response_status": outcome.status,
                    "error": outcome.error,
                }
            )
            status, next_at, finished = MessageStatus.PENDING, at, None
            if outcome.delivered:
                status, finished = MessageStatus.DELIVERED, at + timedelta(milliseconds=outcome.latency_ms)
            elif outcome.gone:
                pass  # waits, due at once, for the endpoint to be enabled again
            elif message.attempts >= self.config.max_attempts:
                status, finished = MessageStatus.DEAD, at
                _log.warning("webhook_dead_lettered", endpoint_id=str(batch.endpoint_id), message_id=str(message.id))
            else:
                next_at = at + self.config.retry_delay(message.attempts, self._random)
            updates.append(
                {
                    "b_id": message.id,
                    "b_attempt": message.attempt,
                    "b_status": status,
                    "b_next_attempt_at": next_at,
                    "b_finished_at": finished,
                    "b_last_response_status": outcome.status,
                    "b_last_error": outcome.error,
                }
            )
        async with self._units.begin(DELIVERY_ACTOR) as uow:
            await repository.add_attempts(uow.session, attempts)
            await repository.record_outcomes(uow.session, updates)
            if any(outcome.gone for outcome in outcomes) and await repository.disable_gone(
                uow.session, batch.endpoint_id, at
            ):
                _log.warning("webhook_endpoint_gone", endpoint_id=str(batch.endpoint_id))
                uow.audit(
                    action="webhook_endpoint.disabled",
                    entity_type="webhook_endpoint",
                    entity_id=str(batch.endpoint_id),
                    after={"enabled": False, "disabled_reason": DisabledReason.GONE.value},
                )

    # The background job.

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop`: each endpoint with due messages gets a task; new messages, replays and finished
        tasks wake the loop, which otherwise sleeps until the next message falls due (at most the poll interval).
        """
        listener = self.platform.listener
        wakeup = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._arrival = loop.create_future()

        def arrived(_payload: str = "") -> None:
            wakeup.set()
            if self._arrival is not None and not self._arrival.done():
                self._arrival.set_result(None)
            self._arrival = loop.create_future()

        async def reconnected() -> None:
            arrived()  # notifications may have been missed while the listener was away

        subscription = listener.subscribe(repository.DELIVERY_CHANNEL, arrived, on_connect=reconnected)
        listener.start_in_background()
        draining: dict[uuid.UUID, asyncio.Task[int]] = {}
        try:
            while not stop.is_set():
                wakeup.clear()
                wait = self.config.poll_interval_s
                try:
                    async with unit_of_work(self.platform.sessions) as session:
                        now = await repository.database_now(session)
                        due = await repository.endpoints_with_due_messages(session, now, draining.keys())
                        next_due = None if due else await repository.next_due_at(session, excluding=draining.keys())
                    for endpoint_id in due:
                        drain = self.drain_endpoint(endpoint_id, linger_s=LINGER_S)
                        task = asyncio.create_task(drain, name=f"webhooks:{endpoint_id}")
                        draining[endpoint_id] = task
                        task.add_done_callback(partial(_drained, draining, endpoint_id, wakeup))
                    if next_due is not None:
                        wait = min(wait, max(MIN_WAIT_S, (next_due - now).total_seconds()))
                except Exception as exc:
                    _log.error("webhook_delivery_round_failed", error=describe_error(exc))
                await _sleep_until(stop, wakeup, wait)
        finally:
            listener.unsubscribe(subscription)
            self._stopping = True
            arrived()  # lingering tasks end now
            await _stop_draining(list(draining.values()), self.config.timeout_s)
            await self.aclose()


def _drained(
    draining: dict[uuid.UUID, asyncio.Task[int]], endpoint_id: uuid.UUID, wakeup: asyncio.Event, task: asyncio.Task[int]
) -> None:
    draining.pop(endpoint_id, None)
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        # Left for the next poll (not at once): a failing database is not hammered.
        _log.error("webhook_endpoint_drain_failed", endpoint_id=str(endpoint_id), error=describe_error(error))
        return
    wakeup.set()  # more may have fallen due for it meanwhile


async def _stop_draining(tasks: list[asyncio.Task[int]], grace_s: float) -> None:
    """Let requests in flight finish (their results recorded) for up to `grace_s`; the rest come back by lease."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _sleep_until(stop: asyncio.Event, wakeup: asyncio.Event, seconds: float) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
        await asyncio.gather(*waits, return_exceptions=True)


async def _drain_body(response: aiohttp.ClientResponse) -> None:
    """Read and drop up to `RESPONSE_READ_LIMIT` bytes of the answer: nothing of it is kept."""
    read = 0
    while read <= RESPONSE_READ_LIMIT:
        chunk = await response.content.read(RESPONSE_READ_LIMIT)
        if not chunk:
            return
        read += len(chunk)


def _error_class(exc: BaseException) -> str:
    """The class of what went wrong, the refusal of an address named as such; never a message (it may quote
    the URL)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ForbiddenDestination):
            return "ForbiddenDestination"
        seen = seen.__cause__ or getattr(seen, "os_error", None)
    return type(exc).__name__[:80]


def webhook_delivery(platform: Platform) -> WebhookDelivery:
    """The delivery loop `bank/jobs.py` runs in every process (its `run` is the background job)."""
    return WebhookDelivery(platform)
