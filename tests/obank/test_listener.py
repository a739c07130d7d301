"""The process's one LISTEN connection: dispatch by channel, reconnection, what subscribers hear, closing."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import psycopg
import pytest

from obank.listener import APPLICATION_NAME, NotificationListener
from obank.log import configure_logging
from obank.runtime import Platform

FAST_RECONNECT_S = 0.05


class Follower:
    """A subscriber that writes down everything it hears."""

    def __init__(self, listener: NotificationListener, channel: str) -> None:
        self.heard: list[str] = []
        self.payloads: list[str] = []
        self.subscription = listener.subscribe(
            channel, self.payloads.append, on_connect=self._connected, on_lost=lambda: self.heard.append("lost")
        )

    async def _connected(self) -> None:
        self.heard.append("connected")


@pytest.fixture
async def listener(database_url: str) -> AsyncIterator[NotificationListener]:
    built = NotificationListener(database_url, reconnect_delay_s=FAST_RECONNECT_S)
    yield built
    await built.close()


async def _notify(database_url: str, channel: str, payload: str) -> None:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as connection:
        await connection.execute("SELECT pg_notify(%s, %s)", (channel, payload))


async def _listener_backends(database_url: str) -> list[int]:
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as connection:
        cursor = await connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
            (APPLICATION_NAME,),
        )
        return [pid for (pid,) in await cursor.fetchall()]


async def _eventually(condition: Callable[[], bool], within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_each_channel_reaches_its_own_subscribers_in_order(
    listener: NotificationListener, database_url: str
) -> None:
    revocations = Follower(listener, "obank_test_a")
    clients = Follower(listener, "obank_test_b")
    await listener.start()

    for payload in ("a1", "a2", "a3"):
        await _notify(database_url, "obank_test_a", payload)
    await _notify(database_url, "obank_test_b", "b1")
    await _notify(database_url, "obank_test_unfollowed", "x")

    assert await _eventually(lambda: len(revocations.payloads) == 3 and len(clients.payloads) == 1)
    assert revocations.payloads == ["a1", "a2", "a3"]
    assert clients.payloads == ["b1"]
    assert revocations.heard == clients.heard == ["connected"]
    assert len(await _listener_backends(database_url)) == 1  # one connection for every channel


async def test_a_subscriber_reloads_after_listening_so_nothing_committed_meanwhile_is_missed(
    listener: NotificationListener, database_url: str
) -> None:
    payloads: list[str] = []

    async def reload_while_others_commit() -> None:
        await _notify(database_url, "obank_test_a", "committed during the reload")

    listener.subscribe("obank_test_a", payloads.append, on_connect=reload_while_others_commit)
    await listener.start()

    assert await _eventually(lambda: payloads == ["committed during the reload"])


async def test_a_channel_followed_later_is_listened_to_before_start_returns(
    listener: NotificationListener, database_url: str
) -> None:
    first = Follower(listener, "obank_test_a")
    await listener.start()
    later = Follower(listener, "obank_test_b")
    await listener.start()

    await _notify(database_url, "obank_test_b", "b1")
    await _notify(database_url, "obank_test_a", "a1")

    assert await _eventually(lambda: later.payloads == ["b1"] and first.payloads == ["a1"])
    assert later.heard == ["connected"] and first.heard == ["connected"]


async def test_a_dropped_connection_is_reconnected_and_subscribers_hear_both(
    listener: NotificationListener, database_url: str
) -> None:
    revocations = Follower(listener, "obank_test_a")
    clients = Follower(listener, "obank_test_b")
    await listener.start()
    (backend,) = await _listener_backends(database_url)

    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        await admin.execute("SELECT pg_terminate_backend(%s)", (backend,))

    assert await _eventually(lambda: clients.heard == ["connected", "lost", "connected"])
    assert revocations.heard == ["connected", "lost", "connected"]
    (reconnected,) = await _listener_backends(database_url)
    assert reconnected != backend
    await _notify(database_url, "obank_test_b", "after")
    assert await _eventually(lambda: clients.payloads == ["after"])


async def test_close_stops_listening_and_subscribers_hear_it(listener: NotificationListener, database_url: str) -> None:
    follower = Follower(listener, "obank_test_a")
    await listener.start()

    await listener.close()
    await _notify(database_url, "obank_test_a", "too late")
    await asyncio.sleep(0.1)

    assert follower.heard == ["connected", "lost"]
    assert follower.payloads == []
    for _ in range(100):  # the backend ends just after its connection closes
        if not await _listener_backends(database_url):
            break
        await asyncio.sleep(0.02)
    assert await _listener_backends(database_url) == []


async def test_an_unsubscribed_component_hears_nothing_more(listener: NotificationListener, database_url: str) -> None:
    kept = Follower(listener, "obank_test_a")
    dropped = Follower(listener, "obank_test_a")
    await listener.start()

    listener.unsubscribe(dropped.subscription)
    await _notify(database_url, "obank_test_a", "a1")

    assert await _eventually(lambda: kept.payloads == ["a1"])
    assert dropped.payloads == []


async def test_the_first_failure_is_raised_by_start(tmp_path: Path) -> None:
    # A socket directory where no server listens: connecting fails at once.
    nowhere = NotificationListener(f"postgresql://postgres@/obank?host={tmp_path}", reconnect_delay_s=60)
    try:
        with pytest.raises(psycopg.OperationalError):
            await nowhere.start()
    finally:
        await nowhere.close()


async def test_a_subscriber_that_cannot_load_fails_the_start(listener: NotificationListener) -> None:
    async def failed_reload() -> None:
        raise OSError("the database went away")

    listener.subscribe("obank_test_a", lambda _payload: None, on_connect=failed_reload)

    with pytest.raises(OSError, match="went away"):
        await listener.start()


async def test_a_payload_a_subscriber_refuses_is_never_logged_and_stops_nothing(
    listener: NotificationListener, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")
    applied: list[str] = []

    def apply(payload: str) -> None:
        if payload.startswith("jti:"):
            raise ValueError(f"cannot apply {payload}")
        applied.append(payload)

    listener.subscribe("obank_test_a", apply)
    await listener.start()
    await _notify(database_url, "obank_test_a", "jti:secret-token-id")
    await _notify(database_url, "obank_test_a", "fine")

    assert await _eventually(lambda: applied == ["fine"])
    output = capsys.readouterr().err
    assert "secret-token-id" not in output
    refused = [json.loads(line) for line in output.splitlines() if '"notification_not_applied"' in line]
    assert refused and refused[0]["channel"] == "obank_test_a"


async def test_the_platform_starts_one_listener_that_loads_the_deny_list(platform: Platform, database_url: str) -> None:
    await platform.start()

    assert platform.listener.listening
    assert await platform.revocations.first_revoked(["jti:unknown"]) is None
    assert len(await _listener_backends(database_url)) == 1
