"""Request budgets per rate class and identity (client, customer, IP), moving windows from `limits`.

Counted in Redis when configured, so every gateway instance draws on one budget; in this process's
memory otherwise (the embedded single-process default).
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from limits import RateLimitItem, WindowStats, parse_many
from limits.aio.storage import RedisStorage, Storage
from limits.aio.storage.redis.redispy import RedispyBridge
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import Redis

from obank.log import get_logger

if TYPE_CHECKING:
    from obank.settings import Settings


class RateClass(StrEnum):
    """Families of requests that draw on separate budgets."""

    # Token, PAR, introspection, revocation and registration endpoints.
    TOKEN = "token"  # noqa: S105 (a class name, not a secret)
    LOGIN = "login"  # credential and one-time-code submissions
    PAYMENTS = "payments"  # writes that move money
    READS = "reads"  # reads of API routes, pages and discovery documents
    WRITES = "writes"  # every other write


# Budgets of one customer or staff member (and of any identity kind without budgets of its own).
TOKEN_BUDGET = "20/second;600/minute"  # noqa: S105 (a budget, not a secret)
# Lockout in the authorization server stops guessing one account's password; this slows guessing across accounts.
LOGIN_BUDGET = "10/minute;100/hour"
PAYMENTS_BUDGET = "5/second;100/minute"
READS_BUDGET = "20/second;600/minute"
WRITES_BUDGET = "10/second;300/minute"
DEFAULT_BUDGETS: Mapping[RateClass, str] = {
    RateClass.TOKEN: TOKEN_BUDGET,
    RateClass.LOGIN: LOGIN_BUDGET,
    RateClass.PAYMENTS: PAYMENTS_BUDGET,
    RateClass.READS: READS_BUDGET,
    RateClass.WRITES: WRITES_BUDGET,
}
# Budgets of one client or one IP address, which carry many customers' traffic (a TPP, an office's NAT).
SHARED_TOKEN_BUDGET = "50/second;1500/minute"  # noqa: S105 (a budget, not a secret)
SHARED_PAYMENTS_BUDGET = "50/second;1500/minute"
SHARED_READS_BUDGET = "200/second;6000/minute"
SHARED_WRITES_BUDGET = "100/second;3000/minute"
SHARED_BUDGETS: Mapping[RateClass, str] = {
    RateClass.TOKEN: SHARED_TOKEN_BUDGET,
    RateClass.PAYMENTS: SHARED_PAYMENTS_BUDGET,
    RateClass.READS: SHARED_READS_BUDGET,
    RateClass.WRITES: SHARED_WRITES_BUDGET,
}
# Staff read through the console, whose customer page gathers a dozen API reads: a reload must not be refused.
STAFF_BUDGETS: Mapping[RateClass, str] = {**DEFAULT_BUDGETS, RateClass.READS: "60/second;1800/minute"}
DEFAULT_KIND_BUDGETS: Mapping[str, Mapping[RateClass, str]] = {
    "client": SHARED_BUDGETS,
    "ip": SHARED_BUDGETS,
    "staff": STAFF_BUDGETS,
}

KEY_PREFIX = "obank:ratelimit"
# A rate-limit store that does not answer within this long is treated as down (see `fail_open`).
REDIS_TIMEOUT_S = 0.5
# A refused request always waits a little, even when a window frees while the refusal is being computed.
MIN_RETRY_AFTER_S = 0.001

# Full windows remembered by this process; expired ones are dropped when there are more than this.
MAX_REMEMBERED_REFUSALS = 10_000
# In memory, the windows of identities gone quiet are dropped this often (a window holds at most its budget).
SWEEP_INTERVAL_S = 10.0

_log = get_logger("gateway.ratelimit")


class Windows(Protocol):
    """Moving windows: how full a limit's window is for some identifiers, and taking one unit of it."""

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats: ...

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool: ...


class MemoryWindows:
    """Moving windows in this process's memory: per limit and identity, the times of the hits still inside it.

    The semantics of `limits`' moving window (a hit is admitted while fewer than the budget's amount of hits
    are at most its period old), without its async memory storage's costs: that storage starts an expiry
    task per call, which hops to a thread for every key (a fifth of a gateway's CPU under load), and inserts
    each hit at the front of a list. Here hits leave a deque as they age, and quiet identities are swept.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._hits: dict[tuple[RateLimitItem, tuple[str, ...]], deque[float]] = {}
        self._swept_at = clock()

    def _window(self, item: RateLimitItem, identifiers: tuple[str, ...], now: float) -> deque[float] | None:
        hits = self._hits.get((item, identifiers))
        if hits is not None:
            oldest = now - item.get_expiry()
            while hits and hits[0] < oldest:
                hits.popleft()
        return hits

    async def get_window_stats(self, item: RateLimitItem, *identifiers: str) -> WindowStats:
        now = self._clock()
        hits = self._window(item, identifiers, now)
        if not hits:
            return WindowStats(now + item.get_expiry(), item.amount)
        return WindowStats(hits[0] + item.get_expiry(), item.amount - len(hits))

    async def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        now = self._clock()
        hits = self._window(item, identifiers, now)
        if hits is None:
            hits = self._hits[(item, identifiers)] = deque()
        if len(hits) >= item.amount:
            return False
        hits.append(now)
        if now - self._swept_at > SWEEP_INTERVAL_S:
            self._sweep(now)
        return True

    def _sweep(self, now: float) -> None:
        self._swept_at = now
        self._hits = {key: hits for key, hits in self._hits.items() if hits and hits[-1] >= now - key[0].get_expiry()}


class RateLimiter:
    """Admits a request only when every identity it carries has budget left in its rate class."""

    def __init__(
        self,
        storage_uri: str,
        budgets: Mapping[RateClass, str],
        *,
        kind_budgets: Mapping[str, Mapping[RateClass, str]] | None = None,
        fail_open: bool = True,
    ) -> None:
        """`storage_uri` is `memory://` or a Redis URL; a class without a budget is not limited.

        `kind_budgets` replace `budgets` for identities of a kind (`"ip"` in `"ip:1.2.3.4"`), class by class.
        With `fail_open` an unreachable Redis admits requests (and logs) instead of refusing them all.
        """
        self._budgets = _parse(budgets)
        self._kind_budgets = {kind: _parse(by_class) for kind, by_class in (kind_budgets or {}).items()}
        self._storage = _storage(storage_uri)
        self._strategy: Windows = MemoryWindows() if self._storage is None else MovingWindowRateLimiter(self._storage)
        self._remote = self._storage is not None
        self._fail_open = fail_open
        self._refused_until: dict[tuple[RateClass, str], float] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter:
        """Default budgets in Redis when `redis_url` is set, else in memory; admits all when limits are off."""
        if not settings.rate_limits_enabled:
            return cls("memory://", {})
        # OBANK_RATE_LIMIT_BUDGETS: {"default" | identity kind: {class: budget}}, merged over the defaults.
        overrides = settings.rate_limit_budgets
        budgets = {**DEFAULT_BUDGETS, **{RateClass(c): b for c, b in overrides.get("default", {}).items()}}
        kinds: dict[str, dict[RateClass, str]] = {
            kind: dict(by_class) for kind, by_class in DEFAULT_KIND_BUDGETS.items()
        }
        for kind, by_class in overrides.items():
            if kind != "default":
                kinds.setdefault(kind, {}).update({RateClass(c): b for c, b in by_class.items()})
        return cls(settings.redis_url or "memory://", budgets, kind_budgets=kinds)

    async def hit(self, rate_class: RateClass, identities: Sequence[str]) -> float | None:
        """Consume one unit of `rate_class` for each identity; None when admitted, else seconds until admitted."""
        limits = [(item, who) for who in dict.fromkeys(identities) for item in self._items(rate_class, who)]
        if not limits:
            return None
        unique = list(dict.fromkeys(who for _, who in limits))
        now = time.time()
        # A full moving window stays full until its oldest entry leaves: refuse until then without asking the store.
        known_wait = max(self._refused_until.get((rate_class, who), now) for who in unique) - now
        if known_wait > 0:
            return known_wait
        try:
            resets = await self._exhausted(rate_class, limits)
        except self._storage_errors() as exc:
            if not self._fail_open:
                raise
            _log.warning("rate_limit_store_unavailable", rate_class=rate_class.value, exception=type(exc).__name__)
            return None
        if resets is None:
            return None
        self._remember(rate_class, resets)
        return max([reset - time.time() for reset in resets.values()] + [MIN_RETRY_AFTER_S])

    def _items(self, rate_class: RateClass, identity: str) -> list[RateLimitItem]:
        kind = identity.partition(":")[0]
        by_class = self._kind_budgets.get(kind, {})
        return by_class[rate_class] if rate_class in by_class else self._budgets.get(rate_class, [])

    async def _exhausted(
        self, rate_class: RateClass, limits: list[tuple[RateLimitItem, str]]
    ) -> dict[str, float] | None:
        """None when every limit admitted the request, else when each full window among them frees."""
        # Look before consuming, so a request refused for one identity costs the others nothing. Another
        # instance may take the last unit in between; then the units already taken stay spent.
        # One call at a time: side by side they cost the same CPU (redis-py, ~120 µs a call here) and a
        # Redis connection each.
        stats = [await self._strategy.get_window_stats(item, rate_class, who) for item, who in limits]
        if resets := _full_windows(limits, stats):
            return resets
        admitted = [await self._strategy.hit(item, rate_class, who) for item, who in limits]
        if all(admitted):
            return None
        refused = [limit for limit, ok in zip(limits, admitted, strict=True) if not ok]
        stats = [await self._strategy.get_window_stats(item, rate_class, who) for item, who in refused]
        return _full_windows(refused, stats)

    def _remember(self, rate_class: RateClass, resets: Mapping[str, float]) -> None:
        for who, reset in resets.items():
            key = (rate_class, who)
            self._refused_until[key] = max(reset, self._refused_until.get(key, reset))
        if len(self._refused_until) > MAX_REMEMBERED_REFUSALS:
            now = time.time()
            self._refused_until = {key: until for key, until in self._refused_until.items() if until > now}

    def _storage_errors(self) -> tuple[type[Exception], ...]:
        if self._storage is None:
            return ()
        errors = self._storage.base_exceptions
        return errors if isinstance(errors, tuple) else (errors,)

    async def close(self) -> None:
        """Release the Redis connections, if any."""
        if isinstance(self._storage, RedisStorage) and isinstance(self._storage.bridge, RedispyBridge):
            client = self._storage.bridge.get_connection()
            assert isinstance(client, Redis)
            await client.aclose()


def _parse(budgets: Mapping[RateClass, str]) -> dict[RateClass, list[RateLimitItem]]:
    return {RateClass(rate_class): parse_many(budget) for rate_class, budget in budgets.items()}


def _full_windows(limits: Sequence[tuple[RateLimitItem, str]], stats: Sequence[WindowStats]) -> dict[str, float]:
    """For each identity with a full window, when its fullest window frees."""
    resets: dict[str, float] = {}
    for (_, who), window in zip(limits, stats, strict=True):
        if window.remaining < 1:
            resets[who] = max(window.reset_time, resets.get(who, window.reset_time))
    return resets


def _storage(uri: str) -> Storage | None:
    """The async `limits` storage for a Redis URL (redis-py's asyncio client); None for `memory://` (MemoryWindows)."""
    scheme, separator, rest = uri.partition("://")
    if not separator:
        raise ValueError(f"rate-limit storage must be a URL such as memory:// or redis://host:port, not {uri!r}")
    scheme = scheme.removeprefix("async+")
    if scheme == "memory":
        return None
    if scheme in ("redis", "rediss", "unix", "redis+unix"):
        scheme = "redis+unix" if scheme == "unix" else scheme
        storage = storage_from_string(
            f"async+{scheme}://{rest}",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
        )
    else:
        raise ValueError(f"unsupported rate-limit storage {scheme!r}: use memory:// or a redis:// URL")
    assert isinstance(storage, Storage)
    return storage


TOKEN_PATHS = frozenset({"/oauth2/token", "/oauth2/par", "/oauth2/introspect", "/oauth2/revoke"})
REGISTRATION_PATH = "/connect/register"
# Pages whose POSTs check a password or a one-time code (the password change checks the current one).
CREDENTIAL_PAGES = ("/login", "/staff/login", "/mfa", "/account/password")
UNLIMITED_PREFIXES = ("/healthz", "/readyz", "/metrics", "/static")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MONEY_MOVING_WRITES = re.compile(
    r"/api/v1/transfers/?"
    r"|/open-banking/v4\.0/pisp/.+"
    r"|/admin/v1/accounts/[^/]+/(deposits|withdrawals)/?"
)


def _at_or_under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def classify(method: str, path: str) -> RateClass | None:
    """The rate class of a request; None for health, metrics and static files."""
    method = method.upper()
    if any(_at_or_under(path, prefix) for prefix in UNLIMITED_PREFIXES):
        return None
    if path in TOKEN_PATHS or _at_or_under(path, REGISTRATION_PATH):
        return RateClass.TOKEN
    if method in SAFE_METHODS:
        return RateClass.READS
    if any(_at_or_under(path, page) for page in CREDENTIAL_PAGES):
        return RateClass.LOGIN
    if _MONEY_MOVING_WRITES.fullmatch(path):
        return RateClass.PAYMENTS
    return RateClass.WRITES
