"""Rate limits: budgets per identity and class, Retry-After, memory and real Redis, request classes."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from limits import parse_many
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.ratelimit import REDIS_TIMEOUT_S, SWEEP_INTERVAL_S, MemoryWindows, RateClass, RateLimiter, classify
from obank.settings import Settings
from tests import services

READS, WRITES, LOGIN = RateClass.READS, RateClass.WRITES, RateClass.LOGIN


@pytest.fixture(params=["memory", "redis"])
def storage_uri(request: pytest.FixtureRequest) -> str:
    """Each behaviour on both storages; the Redis one is the session's real redis-server."""
    if request.param == "memory":
        return "memory://"
    url: str = request.getfixturevalue("redis_url")
    return url


@pytest.fixture
def who() -> str:
    """A fresh identity suffix, so tests sharing the session's Redis never share a budget."""
    return uuid.uuid4().hex


@pytest.fixture
async def per_minute(storage_uri: str) -> AsyncIterator[RateLimiter]:
    limiter = RateLimiter(storage_uri, {READS: "3/minute", WRITES: "1/minute"})
    yield limiter
    await limiter.close()


async def test_each_identity_has_its_own_budget(per_minute: RateLimiter, who: str) -> None:
    admitted = [await per_minute.hit(READS, [f"ip:{who}"]) for _ in range(3)]
    refused = await per_minute.hit(READS, [f"ip:{who}"])
    other = await per_minute.hit(READS, [f"ip:other-{who}"])

    assert admitted == [None, None, None]
    assert refused is not None
    assert other is None


async def test_each_class_has_its_own_budget(per_minute: RateLimiter, who: str) -> None:
    assert await per_minute.hit(WRITES, [f"client:{who}"]) is None
    assert await per_minute.hit(WRITES, [f"client:{who}"]) is not None

    assert await per_minute.hit(READS, [f"client:{who}"]) is None
    assert await per_minute.hit(RateClass.PAYMENTS, [f"client:{who}"] * 2) is None  # no budget: unlimited


async def test_an_admitted_request_spends_every_identity_once(per_minute: RateLimiter, who: str) -> None:
    ip, client = f"ip:{who}", f"client:{who}"

    assert await per_minute.hit(READS, [ip, client, ip]) is None
    assert await per_minute.hit(READS, [client, ip]) is None
    assert await per_minute.hit(READS, [ip]) is None  # the repeated ip counted once per request

    assert await per_minute.hit(READS, [ip]) is not None
    assert await per_minute.hit(READS, [client]) is None
    assert await per_minute.hit(READS, [client]) is not None


async def test_a_refused_request_spends_no_other_identitys_budget(per_minute: RateLimiter, who: str) -> None:
    ip, customer = f"ip:{who}", f"customer:{who}"
    for _ in range(3):
        assert await per_minute.hit(READS, [ip]) is None

    for _ in range(5):
        assert await per_minute.hit(READS, [customer, ip]) is not None

    assert [await per_minute.hit(READS, [customer]) for _ in range(4)] == [None, None, None, pytest.approx(60, abs=1)]


async def test_kinds_of_identity_can_have_budgets_of_their_own(storage_uri: str, who: str) -> None:
    limiter = RateLimiter(storage_uri, {READS: "2/minute"}, kind_budgets={"client": {READS: "5/minute"}})
    tpp = f"client:{who}"
    try:
        outcomes = [await limiter.hit(READS, [tpp, f"customer:{n}-{who}"]) for n in (1, 1, 1, 2, 2, 3, 4)]
        fourth_customer_alone = await limiter.hit(READS, [f"customer:4-{who}"])
    finally:
        await limiter.close()

    admitted = [outcome is None for outcome in outcomes]
    assert admitted == [True, True, False, True, True, True, False]  # customer 1 at 2, then the client at 5
    assert fourth_customer_alone is None


async def test_retry_after_is_the_wait_until_the_window_admits_again(storage_uri: str, who: str) -> None:
    limiter = RateLimiter(storage_uri, {READS: "1/second;5/minute"})
    try:
        assert await limiter.hit(READS, [f"ip:{who}"]) is None
        retry_after = await limiter.hit(READS, [f"ip:{who}"])
        assert retry_after is not None
        assert 0 < retry_after <= 1

        await asyncio.sleep(retry_after + 0.05)

        assert await limiter.hit(READS, [f"ip:{who}"]) is None
    finally:
        await limiter.close()


async def test_retry_after_waits_for_the_last_exhausted_identity(storage_uri: str, who: str) -> None:
    limiter = RateLimiter(storage_uri, {READS: "1/minute"})
    early, late = f"ip:{who}", f"client:{who}"
    try:
        assert await limiter.hit(READS, [early]) is None
        await asyncio.sleep(0.5)
        assert await limiter.hit(READS, [late]) is None

        waits = [await limiter.hit(READS, order) for order in ([early, late], [late, early], [early])]
    finally:
        await limiter.close()

    both, reversed_order, early_only = waits
    assert both is not None and reversed_order is not None and early_only is not None
    assert 59.75 < both <= 60
    assert 59.75 < reversed_order <= 60
    assert 59 < early_only < 59.75


async def test_two_limiters_on_one_redis_share_one_budget(redis_url: str, who: str) -> None:
    first = RateLimiter(redis_url, {RateClass.PAYMENTS: "5/minute"})
    second = RateLimiter(f"async+{redis_url}", {RateClass.PAYMENTS: "5/minute"})
    try:
        outcomes = await asyncio.gather(
            *(limiter.hit(RateClass.PAYMENTS, [f"customer:{who}"]) for limiter in [first, second] * 10)
        )
    finally:
        await first.close()
        await second.close()

    assert sum(outcome is None for outcome in outcomes) == 5


async def test_a_full_window_refuses_from_memory_until_it_frees(redis_url: str, who: str) -> None:
    remembering, fresh = RateLimiter(redis_url, {LOGIN: "1/minute"}), RateLimiter(redis_url, {LOGIN: "1/minute"})
    store = Redis.from_url(redis_url)
    try:
        assert await remembering.hit(LOGIN, [f"ip:{who}"]) is None
        assert await remembering.hit(LOGIN, [f"ip:{who}"]) == pytest.approx(60, abs=1)
        assert await store.delete(*[key async for key in store.scan_iter(f"*{who}*")]) == 1

        assert await remembering.hit(LOGIN, [f"client:{who}", f"ip:{who}"]) == pytest.approx(60, abs=1)
        assert await fresh.hit(LOGIN, [f"ip:{who}"]) is None
        assert await remembering.hit(LOGIN, [f"client:{who}"]) is None  # the refusal spent nothing
    finally:
        await store.aclose()
        await remembering.close()
        await fresh.close()


def _settings(tmp_path: Path, redis_url: str | None = None, *, enabled: bool = True) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path / "var",
        certs_dir=tmp_path / "certs",
        redis_url=redis_url,
        rate_limits_enabled=enabled,
    )


async def test_without_redis_each_limiter_counts_alone(tmp_path: Path, who: str) -> None:
    first, second = RateLimiter.from_settings(_settings(tmp_path)), RateLimiter.from_settings(_settings(tmp_path))

    assert [await first.hit(LOGIN, [f"ip:{who}"]) for _ in range(10)] == [None] * 10
    assert [await second.hit(LOGIN, [f"ip:{who}"]) for _ in range(10)] == [None] * 10
    assert await first.hit(LOGIN, [f"ip:{who}"]) is not None


async def test_settings_give_default_budgets_in_redis(tmp_path: Path, redis_url: str, who: str) -> None:
    first = RateLimiter.from_settings(_settings(tmp_path, redis_url))
    second = RateLimiter.from_settings(_settings(tmp_path, redis_url))
    try:
        admitted = [await limiter.hit(LOGIN, [f"ip:{who}"]) for limiter in [first, second] * 5]
        refused = await second.hit(LOGIN, [f"ip:{who}"])
        other_class = await first.hit(READS, [f"ip:{who}"])
    finally:
        await first.close()
        await second.close()

    assert admitted == [None] * 10  # LOGIN_BUDGET: 10 a minute
    assert refused == pytest.approx(60, abs=1)
    assert other_class is None


async def test_default_budgets_give_a_client_more_than_one_customer(tmp_path: Path, who: str) -> None:
    limiter = RateLimiter.from_settings(_settings(tmp_path))
    tpp = f"client:{who}"

    one_customer = [await limiter.hit(READS, ["ip:10.0.0.1", tpp, f"customer:{who}"]) for _ in range(21)]
    others = [await limiter.hit(READS, ["ip:10.0.0.1", tpp, f"customer:{n}-{who}"]) for n in range(40)]

    assert one_customer[:20] == [None] * 20  # READS_BUDGET: 20 a second
    assert one_customer[20] is not None and one_customer[20] <= 1
    assert others == [None] * 40  # SHARED_READS_BUDGET: 200 a second per client and per IP


async def test_disabled_limits_admit_everything(tmp_path: Path, redis_url: str) -> None:
    limiter = RateLimiter.from_settings(_settings(tmp_path, redis_url, enabled=False))

    outcomes = [await limiter.hit(rate_class, ["ip:127.0.0.1"]) for rate_class in RateClass for _ in range(200)]
    await limiter.close()

    assert outcomes == [None] * 1000


async def test_an_unreachable_redis_admits_unless_told_to_fail_closed(who: str) -> None:
    down = f"redis://127.0.0.1:{services.free_port()}/0"
    lenient = RateLimiter(down, {READS: "1/minute"})
    strict = RateLimiter(down, {READS: "1/minute"}, fail_open=False)

    try:
        assert [await lenient.hit(READS, [f"ip:{who}"]) for _ in range(3)] == [None, None, None]
        with pytest.raises(RedisConnectionError):
            await strict.hit(READS, [f"ip:{who}"])
    finally:
        await lenient.close()
        await strict.close()


async def test_a_hung_redis_costs_at_most_its_timeout(who: str) -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        limiter = RateLimiter(f"redis://127.0.0.1:{silent.getsockname()[1]}/0", {READS: "1/minute"})
        started = time.perf_counter()
        try:
            outcome = await limiter.hit(READS, [f"ip:{who}"])
        finally:
            await limiter.close()
        elapsed = time.perf_counter() - started

    assert outcome is None
    assert REDIS_TIMEOUT_S <= elapsed < REDIS_TIMEOUT_S + 0.5


@pytest.mark.parametrize(
    ("uri", "budgets"),
    [
        ("postgresql://localhost/obank", {READS: "1/minute"}),
        ("127.0.0.1:6379", {READS: "1/minute"}),
        ("memory://", {READS: "a lot"}),
    ],
)
def test_misconfiguration_is_refused_at_start_up(uri: str, budgets: dict[RateClass, str]) -> None:
    with pytest.raises(ValueError, match=r"rate.limit|parse"):
        RateLimiter(uri, budgets)


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("POST", "/oauth2/token", RateClass.TOKEN),
        ("POST", "/oauth2/par", RateClass.TOKEN),
        ("POST", "/oauth2/introspect", RateClass.TOKEN),
        ("POST", "/oauth2/revoke", RateClass.TOKEN),
        ("POST", "/connect/register", RateClass.TOKEN),
        ("PUT", "/connect/register/client-1", RateClass.TOKEN),
        ("POST", "/login", RateClass.LOGIN),
        ("POST", "/login/otp", RateClass.LOGIN),
        ("POST", "/login/recovery", RateClass.LOGIN),
        ("POST", "/staff/login", RateClass.LOGIN),
        ("POST", "/mfa/enrol", RateClass.LOGIN),
        ("POST", "/account/password", RateClass.LOGIN),
        ("GET", "/login", RateClass.READS),
        ("POST", "/logout", RateClass.WRITES),
        ("POST", "/loginx", RateClass.WRITES),
        ("POST", "/api/v1/transfers", RateClass.PAYMENTS),
        ("GET", "/api/v1/transfers/7d1f", RateClass.READS),
        ("post", "/open-banking/v4.0/pisp/domestic-payments", RateClass.PAYMENTS),
        ("POST", "/open-banking/v4.0/pisp/domestic-payment-consents", RateClass.PAYMENTS),
        ("GET", "/open-banking/v4.0/pisp/domestic-payments/p-1", RateClass.READS),
        ("POST", "/admin/v1/accounts/5b1c/deposits", RateClass.PAYMENTS),
        ("POST", "/admin/v1/accounts/5b1c/withdrawals", RateClass.PAYMENTS),
        ("POST", "/admin/v1/accounts/5b1c/freeze", RateClass.WRITES),
        ("PATCH", "/admin/v1/accounts/5b1c/limits", RateClass.WRITES),
        ("POST", "/admin/v1/customers", RateClass.WRITES),
        ("DELETE", "/api/v1/consents/c-1", RateClass.WRITES),
        ("POST", "/open-banking/v4.0/aisp/account-access-consents", RateClass.WRITES),
        ("GET", "/api/v1/accounts/5b1c/balances", RateClass.READS),
        ("GET", "/open-banking/v4.0/aisp/accounts", RateClass.READS),
        ("GET", "/.well-known/openid-configuration", RateClass.READS),
        ("GET", "/healthz", None),
        ("GET", "/readyz", None),
        ("GET", "/metrics", None),
        ("GET", "/static/auth/site.css", None),
    ],
)
def test_classify(method: str, path: str, expected: RateClass | None) -> None:
    assert classify(method, path) is expected


async def test_configured_budgets_replace_the_defaults_by_kind_and_class(tmp_path: Path, who: str) -> None:
    settings = _settings(tmp_path).model_copy(
        update={"rate_limit_budgets": {"default": {"reads": "2/minute"}, "ip": {"login": "3/minute"}}}
    )
    limiter = RateLimiter.from_settings(settings)

    reads = [await limiter.hit(READS, [f"customer:{who}"]) for _ in range(3)]
    logins = [await limiter.hit(LOGIN, [f"ip:{who}"]) for _ in range(4)]
    tpp_reads = [await limiter.hit(READS, [f"client:{who}"]) for _ in range(3)]

    assert reads[:2] == [None, None] and reads[2] is not None
    assert logins[:3] == [None] * 3 and logins[3] is not None
    assert tpp_reads == [None] * 3  # the client's shared default is untouched


def test_a_budget_for_an_unknown_class_is_refused_at_start_up(tmp_path: Path) -> None:
    settings = _settings(tmp_path).model_copy(update={"rate_limit_budgets": {"default": {"bulk": "1/second"}}})
    with pytest.raises(ValueError, match="bulk"):
        RateLimiter.from_settings(settings)


async def test_memory_windows_forget_quiet_identities_and_free_as_hits_age() -> None:
    now = [1000.0]
    windows = MemoryWindows(clock=lambda: now[0])
    [item] = parse_many("2/second")
    assert await windows.hit(item, "reads", "ip:a") and await windows.hit(item, "reads", "ip:a")
    assert not await windows.hit(item, "reads", "ip:a")
    assert (await windows.get_window_stats(item, "reads", "ip:a")).remaining == 0
    now[0] += 1.5  # both hits have left the window
    assert (await windows.get_window_stats(item, "reads", "ip:a")).remaining == 2
    now[0] += SWEEP_INTERVAL_S
    assert await windows.hit(item, "reads", "ip:b")  # a hit after the interval sweeps what went quiet
    assert (await windows.get_window_stats(item, "reads", "ip:a")).remaining == 2
    assert len(windows._hits) == 1
