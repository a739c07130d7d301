"""The fraud bench's labelled data set: customers with habits, their sign-ins, payees and payments, and injected fraud.

Everything comes from one `random.Random(seed)` (ids included), so a seed gives the same data set every time.
A population of customers, each with habits (a personal median amount and spread, regular payees each with
its own typical amount, usual London hours, a home country, one to three devices, a payday, sometimes a monthly
rent by standing order), pays over `history_weeks` before the engine goes live (replayed as settled events only,
the history a deployment starts from) and then over `weeks` of live traffic (each payment decided). Legitimate
traffic carries realistic noise: one-off and newly saved payees with modest amounts, occasional large payments,
payday round amounts, the odd payment at night, trips abroad at plausible speeds, new phones and new networks
(auth_server's device hash covers the network), password and TOTP changes, customers who join mid-way.
Fraud is injected in cases, each labelled by its primary pattern (`PATTERNS`), with the signals such fraud
usually brings along (an account takeover comes from a new device and pays a just-added payee).

Events follow the fraud design's event contract (topics and payloads as core_banking and auth_server publish
them); a payment's own acceptance, settlement and fraud events depend on its decision, so the replay builds them
with `acceptance_events`, `settlement_event`, `fraud_flagged_event` and `fraud_rejection_event`.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import math
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from auth_server.auditing import TOPIC as SECURITY_TOPIC
from core_banking.accounts.identifiers import SORT_CODE as BANK_SORT_CODE
from fraud.decisions import Decision, PaymentFacts
from obank.outbox.record import Event
from obank.topics import PAYMENTS_TOPIC

LONDON = ZoneInfo("Europe/London")
PAYEES_TOPIC = "core_banking.payees"
TRANSFERS_TOPIC = "core_banking.transfers"
# Go-live: a Monday; eight weeks later the clocks have gone back (26 October), so London hours shift against UTC.
LIVE_FROM = datetime(2026, 9, 7, tzinfo=LONDON).astimezone(UTC)
COOLING_OFF = timedelta(hours=24)
COOLING_OFF_LIMIT_MINOR = 10_000  # above this, a payment to a payee still cooling off waits for the customer's SCA
STANDING_ORDER_HOUR = 6  # London: when the scheduler makes standing orders' payments
_EVENT_IDS = uuid.UUID("6d1f0b6e-9a0c-4f63-8d7e-3b8f4c2a1e55")  # uuid5 namespace of the replay's own events

PATTERNS: tuple[str, ...] = (
    "velocity",
    "amount_anomaly",
    "new_payee_large_amount",
    "payee_cooling_off",
    "unusual_hour",
    "new_device",
    "impossible_travel",
    "account_takeover",
    "round_amount_burst",
    "mule_account",
)
# Payments per case, (fewest, most): bursts come many at a time.
_CASE_SIZES: dict[str, tuple[int, int]] = {
    "velocity": (6, 12),
    "amount_anomaly": (1, 1),
    "new_payee_large_amount": (1, 2),
    "payee_cooling_off": (1, 1),
    "unusual_hour": (1, 2),
    "new_device": (1, 2),
    "impossible_travel": (1, 2),
    "account_takeover": (1, 3),
    "round_amount_burst": (3, 6),
    "mule_account": (1, 2),
}
# Approximate centroids (latitude, longitude) of the countries travelled to, for plausible flight times only.
_CENTROIDS: dict[str, tuple[float, float]] = {
    "GB": (54.0, -2.0),
    "IE": (53.0, -8.0),
    "FR": (46.0, 2.0),
    "ES": (40.0, -4.0),
    "PT": (39.5, -8.0),
    "IT": (42.8, 12.8),
    "GR": (39.0, 22.0),
    "DE": (51.0, 9.0),
    "NL": (52.5, 5.75),
    "US": (38.0, -97.0),
    "AE": (24.0, 54.0),
    "TH": (15.0, 100.0),
}
_HOME_COUNTRIES = ("IE", "FR", "ES", "NL", "DE")  # the few customers living abroad
_HOLIDAY_COUNTRIES = ("ES", "FR", "IT", "PT", "GR", "IE", "DE", "NL", "US", "AE", "TH")
_FAR_COUNTRIES = ("NG", "RU", "BR", "VN", "CN", "ID", "PH", "GH", "IN")  # all over 4,000 km from Europe
_CLIENT_IDS = ("tpp-budgetly", "tpp-moneyhub-lite", "tpp-rentpay")  # Open Banking PISPs some customers pay through
# Legitimate payments by kind, and how common each is among a customer's everyday payments (rent aside).
LEGITIMATE_KINDS: dict[str, float] = {
    "regular": 0.847,  # a regular payee, the usual amount for it
    "new_creditor": 0.07,  # account details typed for a one-off, modest amount
    "new_saved_payee": 0.025,  # a payee saved minutes before its first, modest payment
    "large_regular": 0.012,  # three to eight times what that payee usually gets
    "large_new": 0.006,  # a tradesperson: two to six times the customer's median, new account details
    "night": 0.004,  # a regular payment at any hour, the small hours included
    "payday_round": 0.036,  # the same round sum to the same payee, on payday
}
_ROUND_AMOUNTS_MINOR = (20_000, 25_000, 30_000, 50_000, 75_000, 100_000, 150_000, 200_000)


@dataclass(frozen=True, slots=True)
class LabelledPayment:
    """A payment to decide, what the replay publishes about it, and its label (`pattern` None: legitimate)."""

    facts: PaymentFacts
    pattern: str | None
    case_id: int | None
    kind: str  # the pattern, or the kind of legitimate payment (`LEGITIMATE_KINDS`)
    origin: str
    route: str
    creditor_account_id: uuid.UUID | None
    held_for_confirmation: bool  # to a payee still cooling off, above the limit: `payment.held` before screening
    settlement_delay: timedelta

    @property
    def fraudulent(self) -> bool:
        return self.pattern is not None


TimelineItem = Event | LabelledPayment


@dataclass(frozen=True, slots=True)
class FraudDataset:
    """History (settled, before go-live) and the live timeline in time order, with the mule list analysts keep."""

    seed: int
    customers: int
    live_from: datetime
    live_until: datetime
    history: tuple[Event, ...]
    timeline: tuple[TimelineItem, ...]
    mule_accounts: tuple[str, ...]
    cases: dict[str, int]

    @property
    def payments(self) -> list[LabelledPayment]:
        return [item for item in self.timeline if isinstance(item, LabelledPayment)]

    def composition(self) -> list[str]:
        """Lines describing the data set: its people, its events and its labelled payments."""
        payments = self.payments
        by_pattern = Counter(payment.pattern for payment in payments)
        fraud = len(payments) - by_pattern[None]
        events = Counter(item.event_type for item in self.timeline if isinstance(item, Event))
        history = Counter(event.event_type for event in self.history)
        days = (self.live_until - self.live_from).days
        lines = [
            f"seed {self.seed}; {self.customers} customers; live {self.live_from.astimezone(LONDON):%Y-%m-%d} .. "
            f"{self.live_until.astimezone(LONDON):%Y-%m-%d} ({days} days); "
            f"{len(self.mule_accounts)} accounts on the mule list",
            f"history before go-live: {len(self.history)} events ("
            + ", ".join(f"{name} {count}" for name, count in sorted(history.items()))
            + ")",
            f"live: {len(payments)} payments to decide, {sum(events.values())} other events ("
            + ", ".join(f"{name} {count}" for name, count in sorted(events.items()))
            + ")",
            f"legitimate {by_pattern[None]} ({by_pattern[None] / len(payments):.2%}); "
            f"fraud {fraud} ({fraud / len(payments):.2%}) in {sum(self.cases.values())} cases",
        ]
        lines += [
            f"  {pattern:24} {by_pattern[pattern]:6} payments in {self.cases.get(pattern, 0):4} cases"
            for pattern in PATTERNS
        ]
        held = sum(1 for payment in payments if payment.held_for_confirmation)
        no_session = sum(1 for payment in payments if payment.facts.session_id is None)
        via_tpp = sum(1 for payment in payments if payment.facts.client_id is not None)
        lines.append(
            f"payments held for the customer's confirmation (payee cooling off) {held}; standing orders (no session) "
            f"{no_session}; through an Open Banking PISP {via_tpp}"
        )
        return lines


def generate(
    transactions: int = 100_000,
    *,
    seed: int = 7,
    customers: int = 3_000,
    weeks: int = 8,
    history_weeks: int = 5,
    fraud_share: float = 0.015,
    mules: int = 40,
) -> FraudDataset:
    """A labelled data set of `transactions` live payments, about `fraud_share` of them fraud, reproducible by seed."""
    if transactions < 100 or customers < 10 or weeks < 1 or history_weeks < 0:
        raise ValueError("need at least 100 transactions, 10 customers and a week of live traffic")
    return _Generator(random.Random(seed), seed, customers, weeks, history_weeks, mules).run(transactions, fraud_share)


# Events of a payment, built by the replay once the payment's decision is known.


def payment_snapshot(payment: LabelledPayment, status: str, reason: str | None = None) -> dict[str, Any]:
    """The payment's event payload, as core_banking publishes it."""
    facts = payment.facts
    return {
        "payment_id": str(facts.payment_id),
        "origin": payment.origin,
        "route": payment.route,
        "customer_id": str(facts.customer_id),
        "debtor_account_id": str(facts.debtor_account_id),
        "creditor_account_id": None if payment.creditor_account_id is None else str(payment.creditor_account_id),
        "amount_minor": facts.amount_minor,
        "currency": facts.currency,
        "status": status,
        "reason": reason,
        "consent_id": None,
        "client_id": facts.client_id,
        "scheme_transaction_id": None,
        "payee_id": None if facts.payee_id is None else str(facts.payee_id),
        "creditor_account": facts.creditor_account,
        "session_id": facts.session_id,
        "created_at": facts.created_at.isoformat(),
    }


def _payment_event(payment: LabelledPayment, event_type: str, at: datetime, payload: dict[str, Any]) -> Event:
    payment_id = str(payment.facts.payment_id)
    return Event(
        event_id=uuid.uuid5(_EVENT_IDS, f"{payment_id}:{event_type}:{payload['status']}"),
        topic=PAYMENTS_TOPIC,
        event_type=event_type,
        key=payment_id,
        payload=payload,
        correlation_id=str(uuid.uuid5(_EVENT_IDS, payment_id)),
        occurred_at=at,
    )


def acceptance_events(payment: LabelledPayment) -> list[Event]:
    """`payment.held` (waiting for the customer's confirmation) and/or `payment.submitted` (sent to screening)."""
    at = payment.facts.created_at
    events = []
    if payment.held_for_confirmation:
        events.append(_payment_event(payment, "payment.held", at, payment_snapshot(payment, "PDNG")))
    events.append(_payment_event(payment, "payment.submitted", at, payment_snapshot(payment, "PDNG")))
    return events


def settlement_event(payment: LabelledPayment) -> Event:
    """The payment settled (ACSC), `settlement_delay` after it was made."""
    at = payment.facts.created_at + payment.settlement_delay
    return _payment_event(payment, "payment.status_changed", at, payment_snapshot(payment, "ACSC"))


def fraud_flagged_event(payment: LabelledPayment, decision: Decision) -> Event:
    """The saga's alert for analysts when the decision is REVIEW or BLOCK."""
    payload = {**payment_snapshot(payment, "PDNG"), "fraud": decision.snapshot()}
    return _payment_event(payment, "payment.fraud_flagged", payment.facts.created_at, payload)


def fraud_rejection_event(payment: LabelledPayment) -> Event:
    """A BLOCK: the payment rejected with reason FRAD."""
    return _payment_event(
        payment, "payment.status_changed", payment.facts.created_at, payment_snapshot(payment, "RJCT", "FRAD")
    )


# The generator.


@dataclass(slots=True)
class _Payee:
    creditor_account: str
    payee_id: uuid.UUID | None  # a saved payee, or account details typed each time
    creditor_account_id: uuid.UUID | None  # an account at this bank: the INTERNAL route
    median_minor: int
    added_at: datetime


@dataclass(frozen=True, slots=True)
class _Trip:
    country: str
    departs: datetime
    arrives: datetime
    leaves: datetime
    returns: datetime
    network: str  # the phone's device hash abroad: auth_server's fingerprint includes the network


@dataclass(slots=True)
class _Session:
    session_id: str
    signed_in_at: datetime
    used_at: datetime


@dataclass(slots=True)
class _Customer:
    customer_id: uuid.UUID
    identity_id: uuid.UUID
    debtor_account_id: uuid.UUID
    savings_account_id: uuid.UUID
    home_country: str
    median_minor: int
    spread: float
    hour_cum: list[float]
    daytime: bool
    payees: list[_Payee]
    payee_cum: list[float]
    devices: list[str]
    device_cum: list[float]
    rate: float
    client_id: str | None
    joined_at: datetime
    payday: int
    payday_amount_minor: int
    new_phone: tuple[datetime, str] | None = None
    trip: _Trip | None = None
    rent: tuple[_Payee, int, int] | None = None  # payee, amount, day of the month
    intents: list[tuple[datetime, int, str, Any]] = field(default_factory=list)
    seen_devices: set[str] = field(default_factory=set)
    session: _Session | None = None


def _cumulative(weights: list[float]) -> list[float]:
    return list(itertools.accumulate(weights))


def _hour_weights(rng: random.Random, profile: str) -> list[float]:
    """Usual hours of a day (London) for a daytime, evening or night-shift customer, jittered per person."""
    if profile == "daytime":
        base = [0, 0, 0, 0, 0, 0, 0.2, 0.6, 1, 1, 1, 1, 1.3, 1.2, 1, 1, 1, 1.1, 1.2, 1.3, 1.2, 1, 0.6, 0.2]
    elif profile == "evening":
        base = [
            0.3,
            0.1,
            0,
            0,
            0,
            0,
            0,
            0.2,
            0.4,
            0.5,
            0.6,
            0.7,
            0.9,
            0.8,
            0.7,
            0.8,
            0.9,
            1,
            1.3,
            1.5,
            1.6,
            1.6,
            1.3,
            0.8,
        ]
    else:
        base = [
            1,
            1,
            1,
            0.9,
            0.8,
            0.7,
            0.6,
            0.5,
            0.2,
            0.1,
            0.1,
            0.2,
            0.3,
            0.5,
            0.6,
            0.6,
            0.5,
            0.5,
            0.6,
            0.7,
            0.8,
            0.9,
            1,
            1,
        ]
    return [weight * rng.uniform(0.6, 1.4) for weight in base]


def _flight(origin: str, destination: str) -> timedelta:
    """Door to door at a plausible speed: great-circle distance at 700 km/h plus two hours."""
    (lat1, lon1), (lat2, lon2) = (_CENTROIDS[origin], _CENTROIDS[destination])
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((phi2 - phi1) / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    kilometres = 2 * 6371 * math.asin(math.sqrt(a))
    return timedelta(hours=kilometres / 700 + 2)


class _Generator:
    """Builds customers, plans their payments and fraud cases, then writes each customer's events in time order."""

    def __init__(
        self, rng: random.Random, seed: int, customers: int, weeks: int, history_weeks: int, mules: int
    ) -> None:
        self.rng = rng
        self.seed = seed
        self.live_from = LIVE_FROM
        self.live_until = LIVE_FROM + timedelta(weeks=weeks)
        self.history_from = LIVE_FROM - timedelta(weeks=history_weeks)
        self.items: list[tuple[datetime, int, TimelineItem]] = []
        self.order = itertools.count()
        self.case_ids = itertools.count(1)
        self.cases: Counter[str] = Counter()
        self.mule_accounts = tuple(self.creditor_account() for _ in range(mules))
        self.customers = [self.customer() for _ in range(customers)]
        self.fraud_cases: dict[str, Callable[[_Customer, datetime, tuple[str, int], int], None]] = {
            pattern: getattr(self, f"case_{pattern}") for pattern in PATTERNS
        }

    # Identifiers.

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def device(self) -> str:
        return f"{self.rng.getrandbits(256):064x}"

    def creditor_account(self, sort_code: str | None = None) -> str:
        """A 14-digit sort code and account number at another bank (or at `sort_code`)."""
        while sort_code is None or sort_code == BANK_SORT_CODE:
            sort_code = f"{self.rng.randrange(10**5, 10**6):06d}"
        return f"{sort_code}{self.rng.randrange(10**7, 10**8):08d}"

    def amount(self, median_minor: float, spread: float) -> int:
        """Log-normal around a median, in pence, between £1 and £25,000."""
        return max(100, min(2_500_000, round(median_minor * math.exp(self.rng.gauss(0, spread)))))

    def between(self, start: datetime, end: datetime) -> datetime:
        return start + timedelta(seconds=self.rng.uniform(0, (end - start).total_seconds()))

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    # Customers and their habits.

    def payee(self, median_minor: int, added_at: datetime, *, saved: bool) -> _Payee:
        internal = self.rng.random() < 0.15
        return _Payee(
            creditor_account=self.creditor_account(BANK_SORT_CODE if internal else None),
            payee_id=self.uuid() if saved else None,
            creditor_account_id=self.uuid() if internal else None,
            median_minor=max(100, round(median_minor * math.exp(self.rng.gauss(0, 0.6)))),
            added_at=added_at,
        )

    def customer(self) -> _Customer:
        rng = self.rng
        joined_at = self.history_from - timedelta(days=rng.uniform(30, 2000))
        if rng.random() < 0.03:  # opened an account during the live weeks: no history (cold start)
            joined_at = self.between(self.live_from, self.live_until - timedelta(days=7))
        median = max(300, round(4_500 * math.exp(rng.gauss(0, 0.8))))
        # Long-standing customers saved their payees over the years; one who just joined, on the first day.
        payees = []
        for _ in range(rng.randint(3, 12)):
            added_at = joined_at
            if joined_at < self.history_from:
                added_at = min(joined_at + timedelta(days=rng.uniform(0, 300)), self.history_from - timedelta(days=1))
            payees.append(self.payee(median, added_at, saved=rng.random() < 0.7))
        profile = rng.choices(("daytime", "evening", "night"), (0.75, 0.2, 0.05))[0]
        devices = [self.device() for _ in range(rng.choices((1, 2, 3), (0.5, 0.35, 0.15))[0])]
        customer = _Customer(
            customer_id=self.uuid(),
            identity_id=self.uuid(),
            debtor_account_id=self.uuid(),
            savings_account_id=self.uuid(),
            home_country="GB" if rng.random() < 0.96 else rng.choice(_HOME_COUNTRIES),
            median_minor=median,
            spread=rng.uniform(0.35, 0.8),
            hour_cum=_cumulative(_hour_weights(rng, profile)),
            daytime=profile == "daytime",
            payees=payees,
            payee_cum=_cumulative([1 / (rank + 1) ** 1.1 for rank in range(len(payees))]),
            devices=devices,
            device_cum=_cumulative([0.75, 0.2, 0.05][: len(devices)]),
            rate=math.exp(rng.gauss(0, 0.7)),
            client_id=rng.choice(_CLIENT_IDS) if rng.random() < 0.08 else None,
            joined_at=joined_at,
            payday=rng.choice((1, 15, 25, 28)),
            payday_amount_minor=max(2_000, 1_000 * round(median * rng.uniform(2, 6) / 1_000)),
        )
        start = max(joined_at, self.history_from)
        if rng.random() < 0.05:
            customer.new_phone = (self.between(start, self.live_until), self.device())
        if rng.random() < 0.12:
            customer.trip = self.trip(customer, start)
        if rng.random() < 0.35:
            rent = self.payee(median, joined_at, saved=True)
            customer.rent = (rent, rng.randrange(55, 200) * 1_000, rng.choice((1, 28)))
        return customer

    def trip(self, customer: _Customer, start: datetime) -> _Trip:
        destination = self.rng.choice([code for code in _HOLIDAY_COUNTRIES if code != customer.home_country])
        flight = _flight(customer.home_country, destination)
        departs = self.between(start, self.live_until - timedelta(days=3))
        arrives = departs + flight
        leaves = arrives + timedelta(days=self.rng.uniform(2, 12))
        return _Trip(destination, departs, arrives, leaves, leaves + flight, self.device())

    # Planning: what each customer does, and when.

    def london(self, day: date, hour: int) -> datetime:
        moment = time(hour, self.rng.randrange(60), self.rng.randrange(60))
        return datetime.combine(day, moment, tzinfo=LONDON).astimezone(UTC)

    def usual_time(self, customer: _Customer, start: datetime, end: datetime) -> datetime:
        """A moment at one of the customer's usual hours on a day between `start` and `end`."""
        start = max(start, customer.joined_at + timedelta(hours=1))
        days = max(1, (end - start).days)
        for _ in range(10):
            day = (start + timedelta(days=self.rng.randrange(days))).astimezone(LONDON).date()
            hour = bisect.bisect_right(customer.hour_cum, self.rng.random() * customer.hour_cum[-1])
            moment = self.london(day, min(hour, 23))
            if start <= moment < end:
                return moment
        return self.between(start, end)

    def on_land(self, customer: _Customer, moment: datetime) -> datetime:
        """Moves a moment spent in the air (or signing in on landing) to a while after landing."""
        trip = customer.trip
        if trip is not None:
            if trip.departs <= moment < trip.arrives + timedelta(minutes=10):
                return trip.arrives + self.minutes(20, 180)
            if trip.leaves <= moment < trip.returns + timedelta(minutes=10):
                return trip.returns + self.minutes(20, 180)
        return moment

    def plan(self, customer: _Customer, moment: datetime, kind: str, detail: Any = None) -> None:
        customer.intents.append((moment, next(self.order), kind, detail))

    def plan_legitimate(self, count: int, start: datetime, end: datetime) -> None:
        """`count` ordinary payments (each with its kind of noise), spread over customers by their activity."""
        active = [customer for customer in self.customers if customer.joined_at < end - timedelta(days=1)]
        for customer in self.rng.choices(active, [customer.rate for customer in active], k=count):
            kind = self.rng.choices(list(LEGITIMATE_KINDS), list(LEGITIMATE_KINDS.values()))[0]
            if kind == "night":
                moment = self.london(
                    self.between(max(start, customer.joined_at), end).astimezone(LONDON).date(), self.rng.randrange(24)
                )
            elif kind == "payday_round":
                moment = self.payday(customer, start, end)
            else:
                moment = self.usual_time(customer, start, end)
            self.plan(customer, self.on_land(customer, moment), "payment", kind)

    def payday(self, customer: _Customer, start: datetime, end: datetime) -> datetime:
        start = max(start, customer.joined_at)
        first = start.astimezone(LONDON).date().replace(day=1)
        days = [
            date(year, month, customer.payday)
            for year, month in (
                (first.year + (first.month - 1 + k) // 12, (first.month - 1 + k) % 12 + 1) for k in range(4)
            )
        ]
        hour = self.rng.randrange(8, 21)
        inside = [moment for moment in (self.london(day, hour) for day in days) if start <= moment < end]
        return self.rng.choice(inside) if inside else self.usual_time(customer, start, end)

    def plan_rent(self, start: datetime, end: datetime) -> int:
        """Standing orders for rent on their day of the month at 06:00 London; how many fall in [start, end)."""
        count = 0
        for customer in self.customers:
            if customer.rent is None:
                continue
            day = start.astimezone(LONDON).date()
            while (moment := datetime.combine(day, time(STANDING_ORDER_HOUR), tzinfo=LONDON).astimezone(UTC)) < end:
                if day.day == customer.rent[2] and moment >= max(start, customer.joined_at):
                    self.plan(customer, moment + timedelta(seconds=self.rng.uniform(0, 600)), "rent")
                    count += 1
                day += timedelta(days=1)
        return count

    def plan_background(self, payments: int, start: datetime, end: datetime) -> None:
        """Sign-ins without a payment, transfers between own accounts, password and TOTP changes."""
        active = [customer for customer in self.customers if customer.joined_at < end - timedelta(days=1)]
        weights = [customer.rate for customer in active]
        for customer in self.rng.choices(active, weights, k=payments // 2):
            self.plan(customer, self.on_land(customer, self.usual_time(customer, start, end)), "sign_in")
        for customer in self.rng.choices(active, weights, k=payments // 8):
            self.plan(customer, self.on_land(customer, self.usual_time(customer, start, end)), "transfer")
        weeks = (end - start) / timedelta(weeks=1)
        for customer in active:
            for action, weekly in (
                ("identity.password_changed", 0.004),
                ("mfa.enrolled", 0.002),
                ("identity.password_reset", 0.001),
            ):
                if self.rng.random() < weekly * weeks:
                    self.plan(
                        customer, self.on_land(customer, self.usual_time(customer, start, end)), "security", action
                    )

    def plan_fraud(self, budget: int) -> int:
        """Cases of each pattern until each has about `budget` payments (at least one case each); their total."""
        total = 0
        quiet_from, quiet_until = self.live_from + timedelta(days=1), self.live_until - timedelta(days=1)
        for pattern in PATTERNS:
            planned = 0
            while planned == 0 or planned < budget:
                victims = [
                    c for c in self.customers if c.joined_at < quiet_from and (c.daytime or pattern != "unusual_hour")
                ]
                victim = self.rng.choice(victims)
                size = self.rng.randint(*_CASE_SIZES[pattern])
                if pattern == "unusual_hour":
                    moment = self.london(
                        self.between(quiet_from, quiet_until).astimezone(LONDON).date(), self.rng.randrange(1, 5)
                    )
                else:
                    moment = self.usual_time(victim, quiet_from, quiet_until)
                self.plan(victim, moment, "case", (pattern, next(self.case_ids), size))
                self.cases[pattern] += 1
                planned += size
            total += planned
        return total

    # Writing events and payments, customer by customer in time order.

    def emit(self, moment: datetime, item: TimelineItem) -> None:
        self.items.append((moment, next(self.order), item))

    def event(self, moment: datetime, topic: str, event_type: str, key: str, payload: dict[str, Any]) -> Event:
        event = Event(self.uuid(), topic, event_type, key, payload, str(self.uuid()), moment)
        self.emit(moment, event)
        return event

    def security_event(
        self,
        customer: _Customer,
        moment: datetime,
        action: str,
        details: dict[str, Any],
        *,
        staff: bool = False,
        network: str | None = None,
    ) -> None:
        """An `auth_server.security` event about the customer's identity (the IP only as a keyed hash)."""
        network = network or details.get("device_hash") or customer.devices[0]
        payload = {
            "action": action,
            "actor_kind": "staff" if staff else "customer",
            "actor_id": "staff-helpdesk" if staff else str(customer.customer_id),
            "entity_type": "identity",
            "entity_id": str(customer.identity_id),
            "ip_hash": hashlib.sha256(f"ip:{network}".encode()).hexdigest(),
            **details,
        }
        self.event(moment, SECURITY_TOPIC, action, str(customer.identity_id), payload)

    def sign_in(self, customer: _Customer, moment: datetime, device: str, country: str) -> str:
        """`login.succeeded` (and `login.new_device` for a device the customer has not used before); the session id."""
        session_id = str(self.uuid())
        details = {
            "kind": "customer",
            "amr": ["pwd", "otp"],
            "acr": "urn:openbanking:psd2:sca",
            "session_id": session_id,
            "customer_id": str(customer.customer_id),
            "country": country,
            "device_hash": device,
        }
        self.security_event(customer, moment, "login.succeeded", details)
        if device not in customer.seen_devices:
            if customer.seen_devices:
                details = {"kind": "customer", "session_id": session_id, "signed_in_at": moment.isoformat()}
                self.security_event(customer, moment, "login.new_device", details, network=device)
            customer.seen_devices.add(device)
        return session_id

    def whereabouts(self, customer: _Customer, moment: datetime) -> tuple[str, str]:
        """The device and country a customer signs in from at `moment`."""
        trip = customer.trip
        if trip is not None and trip.arrives <= moment < trip.leaves:
            return trip.network, trip.country
        if self.rng.random() < 0.02:  # a network never used before: a café, a new mobile address range
            return self.device(), customer.home_country
        device = customer.devices[bisect.bisect_right(customer.device_cum, self.rng.random() * customer.device_cum[-1])]
        if customer.new_phone is not None and moment >= customer.new_phone[0] and device == customer.devices[0]:
            device = customer.new_phone[1]
        return device, customer.home_country

    def own_session(self, customer: _Customer, moment: datetime) -> str:
        """The customer's own session at `moment`: the current one within minutes, else a fresh sign-in."""
        session = customer.session
        if session is not None and timedelta(0) <= moment - session.used_at <= timedelta(minutes=10):
            session.used_at = moment
            return session.session_id
        signed_in_at = moment - self.minutes(0.3, 6)
        device, country = self.whereabouts(customer, signed_in_at)
        session_id = self.sign_in(customer, signed_in_at, device, country)
        customer.session = _Session(session_id, signed_in_at, moment)
        return session_id

    def add_payee(
        self, customer: _Customer, moment: datetime, median_minor: int, creditor_account: str | None = None
    ) -> _Payee:
        """A saved payee added now (`payee.added`, cooling off for 24 hours)."""
        payee = self.payee(median_minor, moment, saved=True)
        if creditor_account is not None:
            payee.creditor_account, payee.creditor_account_id = creditor_account, None
        self.announce_payee(customer, payee)
        return payee

    def announce_payee(self, customer: _Customer, payee: _Payee) -> None:
        """The `payee.added` event of a saved payee, at the moment it was added."""
        assert payee.payee_id is not None
        moment = payee.added_at
        payload = {
            "payee_id": str(payee.payee_id),
            "customer_id": str(customer.customer_id),
            "confirmation_id": str(self.uuid()),
            "cop_result": "MATCH",
            "cop_reason": None,
            "cooling_off_until": (moment + COOLING_OFF).isoformat(),
            "has_nickname": self.rng.random() < 0.5,
            "has_reference": self.rng.random() < 0.5,
            "deleted": False,
            "created_at": moment.isoformat(),
        }
        self.event(moment, PAYEES_TOPIC, "payee.added", str(payee.payee_id), payload)

    def pay(
        self,
        customer: _Customer,
        moment: datetime,
        payee: _Payee,
        amount_minor: int,
        session_id: str | None,
        *,
        kind: str = "regular",
        case: tuple[str, int] | None = None,
        client_id: str | None = None,
    ) -> None:
        """A payment: before go-live, its settled events; after, a payment to decide."""
        route = "INTERNAL" if payee.creditor_account_id is not None else "FASTER_PAYMENTS"
        held = (
            payee.payee_id is not None
            and moment < payee.added_at + COOLING_OFF
            and amount_minor > COOLING_OFF_LIMIT_MINOR
        )
        facts = PaymentFacts(
            payment_id=self.uuid(),
            customer_id=customer.customer_id,
            debtor_account_id=customer.debtor_account_id,
            amount_minor=amount_minor,
            currency="GBP",
            creditor_identification=payee.creditor_account,
            external=route == "FASTER_PAYMENTS",
            client_id=client_id,
            created_at=moment,
            creditor_account=payee.creditor_account,
            payee_id=payee.payee_id,
            session_id=session_id,
        )
        delay = timedelta(seconds=self.rng.uniform(0.2, 1.5) if route == "INTERNAL" else self.rng.uniform(2, 25))
        payment = LabelledPayment(
            facts=facts,
            pattern=None if case is None else case[0],
            case_id=None if case is None else case[1],
            kind=kind if case is None else case[0],
            origin="CUSTOMER" if client_id is None else "OPEN_BANKING",
            route=route,
            creditor_account_id=payee.creditor_account_id,
            held_for_confirmation=held,
            settlement_delay=delay,
        )
        if moment >= self.live_from:
            self.emit(moment, payment)
            return
        for event in (*acceptance_events(payment), settlement_event(payment)):
            self.emit(event.occurred_at, event)

    def regular_payee(self, customer: _Customer) -> _Payee:
        return customer.payees[bisect.bisect_right(customer.payee_cum, self.rng.random() * customer.payee_cum[-1])]

    def one_off(self, median_minor: int, creditor_account: str | None = None) -> _Payee:
        """Account details typed for this payment only (no saved payee)."""
        payee = self.payee(median_minor, self.live_from, saved=False)
        if creditor_account is not None:
            payee.creditor_account, payee.creditor_account_id = creditor_account, None
        return payee

    def legitimate_payment(self, customer: _Customer, moment: datetime, kind: str) -> None:
        rng = self.rng
        session_id = self.own_session(customer, moment)
        client_id = customer.client_id if customer.client_id is not None and rng.random() < 0.3 else None
        if kind == "payday_round":  # to family or savings elsewhere: one payee, one sum, every payday
            payee = customer.payees[min(1, len(customer.payees) - 1)]
            amount = customer.payday_amount_minor
        elif kind in ("regular", "night", "large_regular"):
            payee = self.regular_payee(customer)
            amount = self.amount(payee.median_minor, customer.spread)
            if kind == "large_regular":
                amount = round(payee.median_minor * rng.uniform(3, 8))
            elif rng.random() < 0.05:
                amount = max(1_000, round(amount, -3))
        elif kind == "new_saved_payee":
            added_at = moment - self.minutes(1, 180)
            payee = self.add_payee(customer, added_at, customer.median_minor)
            customer.payees.append(payee)
            customer.payee_cum.append(customer.payee_cum[-1] + 0.1)
            amount = self.amount(customer.median_minor, customer.spread)
        else:
            payee = self.one_off(customer.median_minor)
            if kind == "large_new":
                amount = round(customer.median_minor * rng.uniform(2, 6))
            else:
                amount = min(
                    self.amount(customer.median_minor * 0.8, customer.spread), max(3 * customer.median_minor, 25_000)
                )
        self.pay(customer, moment, payee, max(100, amount), session_id, kind=kind, client_id=client_id)

    def transfer(self, customer: _Customer, moment: datetime) -> None:
        """Money moved to the customer's own savings account (booked at once; not a payment to screen)."""
        to_savings = self.rng.random() < 0.7
        amount = (
            self.rng.choice((20, 50, 100, 200, 500)) * 100 if to_savings else self.amount(customer.median_minor, 0.5)
        )
        source, destination = (
            (customer.debtor_account_id, customer.savings_account_id)
            if to_savings
            else (customer.savings_account_id, customer.debtor_account_id)
        )
        transfer_id = self.uuid()
        payload = {
            "transfer_id": str(transfer_id),
            "customer_id": str(customer.customer_id),
            "source_account_id": str(source),
            "destination_account_id": str(destination),
            "amount_minor": amount,
            "currency": "GBP",
            "status": "COMPLETED",
            "entry_id": str(self.uuid()),
            "created_at": moment.isoformat(),
            "creditor_account": self.creditor_account(BANK_SORT_CODE),
            "own_account": True,
        }
        self.event(moment, TRANSFERS_TOPIC, "transfer.completed", str(source), payload)

    def security_change(self, customer: _Customer, moment: datetime, action: str, device: str | None = None) -> None:
        """A password change (the customer's own session), a reset (by staff) or a TOTP enrolment."""
        staff = action == "identity.password_reset"
        details: dict[str, Any] = {
            "identity_id": str(customer.identity_id),
            "kind": "customer",
            "customer_id": str(customer.customer_id),
        }
        if action == "mfa.enrolled":
            details = {"kind": "customer", "method": "totp", "customer_id": str(customer.customer_id)}
        self.security_event(customer, moment, action, details, staff=staff, network=device)

    # Fraud cases, one function per pattern; each writes its own sessions, payees and payments.

    def fraud_session(
        self, customer: _Customer, moment: datetime, *, new_device: bool, country: str | None = None
    ) -> str:
        """A session the fraudster uses: a device of their own, or riding the customer's (malware, remote access)."""
        if new_device:
            return self.sign_in(customer, moment, self.device(), country or customer.home_country)
        device, home = self.whereabouts(customer, moment)
        return self.sign_in(customer, moment, device, country or home)

    def large(self, customer: _Customer, low: float, high: float, floor_minor: int) -> int:
        return min(2_500_000, max(floor_minor, round(customer.median_minor * self.rng.uniform(low, high))))

    def case_velocity(self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int) -> None:
        """Card-testing-like: many small payments within minutes to a few new accounts."""
        session_id = self.fraud_session(customer, moment - self.minutes(1, 5), new_device=self.rng.random() < 0.5)
        targets = [self.one_off(2_000) for _ in range(self.rng.randint(1, 3))]
        for _ in range(size):
            amount = self.rng.randint(100, 2_500) if self.rng.random() < 0.6 else self.rng.randint(2_500, 15_000)
            self.pay(customer, moment, self.rng.choice(targets), amount, session_id, case=case)
            moment += timedelta(seconds=self.rng.uniform(15, 90))

    def case_amount_anomaly(self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int) -> None:
        """One payment far above the customer's norm, to a payee they already pay (an impersonation or invoice scam)."""
        session_id = self.own_session(customer, moment)
        payee = self.regular_payee(customer)
        amount = self.large(customer, 12, 40, 50_000)
        self.pay(customer, moment, payee, max(amount, round(payee.median_minor * 10)), session_id, case=case)

    def case_new_payee_large_amount(
        self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int
    ) -> None:
        """A large payment to account details never paid before, sometimes followed by a second."""
        session_id = self.fraud_session(customer, moment - self.minutes(1, 5), new_device=self.rng.random() < 0.3)
        payee = self.one_off(customer.median_minor)
        for _ in range(size):
            self.pay(customer, moment, payee, self.large(customer, 10, 40, 80_000), session_id, case=case)
            moment += self.minutes(3, 40)
            session_id = self.own_session(customer, moment) if self.rng.random() < 0.5 else session_id

    def case_payee_cooling_off(self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int) -> None:
        """A payee saved minutes to hours ago, its first payment large (a safe-account scam)."""
        added_at = moment - self.minutes(3, 8 * 60)
        self.own_session(customer, added_at)
        payee = self.add_payee(customer, added_at, customer.median_minor)
        session_id = self.own_session(customer, moment)
        self.pay(customer, moment, payee, self.large(customer, 8, 30, 50_000), session_id, case=case)

    def case_unusual_hour(self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int) -> None:
        """Payments in the small hours by a customer who pays only by day (a phone taken while its owner sleeps)."""
        session_id = self.fraud_session(customer, moment - self.minutes(1, 4), new_device=False)
        payee = self.one_off(customer.median_minor) if self.rng.random() < 0.6 else self.regular_payee(customer)
        for _ in range(size):
            self.pay(customer, moment, payee, self.large(customer, 3, 8, 15_000), session_id, case=case)
            moment += self.minutes(2, 20)

    def case_new_device(self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int) -> None:
        """A session from a device the customer never used, paying new account details."""
        session_id = self.fraud_session(customer, moment - self.minutes(1, 6), new_device=True)
        payee = self.one_off(customer.median_minor)
        for _ in range(size):
            self.pay(customer, moment, payee, self.large(customer, 4, 12, 20_000), session_id, case=case)
            moment += self.minutes(2, 25)

    def case_impossible_travel(self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int) -> None:
        """The customer signs in at home; minutes later a sign-in from a far country pays out."""
        home_at = moment - self.minutes(5, 90)
        device, country = self.whereabouts(customer, home_at)
        self.sign_in(customer, home_at, device, country)
        far = self.rng.choice(_FAR_COUNTRIES)
        session_id = self.fraud_session(customer, moment - self.minutes(0.5, 3), new_device=True, country=far)
        payee = self.one_off(customer.median_minor)
        for _ in range(size):
            self.pay(customer, moment, payee, self.large(customer, 3, 12, 20_000), session_id, case=case)
            moment += self.minutes(2, 20)

    def case_account_takeover(self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int) -> None:
        """A new device signs in, changes the password or TOTP, adds a payee and pays it out within a day."""
        device = self.device()
        far = self.rng.random() < 0.25
        country = self.rng.choice(_FAR_COUNTRIES) if far else customer.home_country
        taken_at = moment - self.minutes(60, 20 * 60)
        session_id = self.sign_in(customer, taken_at, device, country)
        action = self.rng.choices(
            ("identity.password_changed", "identity.password_reset", "mfa.enrolled"), (0.5, 0.2, 0.3)
        )[0]
        self.security_change(
            customer, taken_at + self.minutes(1, 10), action, None if action.endswith("reset") else device
        )
        added_at = taken_at + self.minutes(12, 50)
        payee = self.add_payee(customer, added_at, customer.median_minor)
        signed_in_at = taken_at
        for _ in range(size):
            if moment - signed_in_at > timedelta(minutes=30):
                signed_in_at = moment - self.minutes(0.5, 4)
                session_id = self.sign_in(customer, signed_in_at, device, country)
            self.pay(customer, moment, payee, self.large(customer, 10, 40, 100_000), session_id, case=case)
            moment += self.minutes(5, 90)

    def case_round_amount_burst(self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int) -> None:
        """Several round sums within the hour to one or two new accounts (draining an account in chunks)."""
        session_id = self.fraud_session(customer, moment - self.minutes(1, 5), new_device=self.rng.random() < 0.4)
        targets = [self.one_off(customer.median_minor) for _ in range(self.rng.randint(1, 2))]
        for _ in range(size):
            self.pay(
                customer, moment, self.rng.choice(targets), self.rng.choice(_ROUND_AMOUNTS_MINOR), session_id, case=case
            )
            moment += self.minutes(2, 15)

    def case_mule_account(self, customer: _Customer, moment: datetime, case: tuple[str, int], size: int) -> None:
        """The customer, deceived, pays an account analysts already put on the mule list."""
        payee = self.one_off(customer.median_minor, self.rng.choice(self.mule_accounts))
        for _ in range(size):
            session_id = self.own_session(customer, moment)
            self.pay(customer, moment, payee, self.large(customer, 1.5, 8, 5_000), session_id, case=case)
            moment += self.minutes(10, 240)

    def write(self, customer: _Customer) -> None:
        """Turn a customer's plan into events and payments, in time order."""
        customer.seen_devices.update(customer.devices)
        for payee in [*customer.payees, *([] if customer.rent is None else [customer.rent[0]])]:
            if payee.payee_id is not None:
                self.announce_payee(customer, payee)
        for moment, _, kind, detail in sorted(customer.intents, key=lambda intent: intent[:2]):
            if kind == "payment":
                self.legitimate_payment(customer, moment, detail)
            elif kind == "rent":
                assert customer.rent is not None
                payee, amount, _ = customer.rent
                self.pay(customer, moment, payee, amount, None, kind="rent")
            elif kind == "sign_in":
                self.own_session(customer, moment)
            elif kind == "transfer":
                self.transfer(customer, moment)
            elif kind == "security":
                if detail != "identity.password_reset":  # a reset is staff's doing, not the customer's session
                    self.own_session(customer, moment)
                self.security_change(customer, moment, detail)
            else:
                pattern, case_id, size = detail
                self.fraud_cases[pattern](customer, moment, (pattern, case_id), size)
        customer.intents.clear()

    def run(self, transactions: int, fraud_share: float) -> FraudDataset:
        fraud = self.plan_fraud(max(1, round(transactions * fraud_share / len(PATTERNS))))
        rent = self.plan_rent(self.live_from, self.live_until)
        self.plan_legitimate(transactions - fraud - rent, self.live_from, self.live_until)
        self.plan_background(transactions, self.live_from, self.live_until)
        if self.history_from < self.live_from:
            weeks = (self.live_until - self.live_from) / (self.live_from - self.history_from)
            history = round(transactions / weeks)
            history_rent = self.plan_rent(self.history_from, self.live_from)
            self.plan_legitimate(max(0, history - history_rent), self.history_from, self.live_from)
            self.plan_background(history, self.history_from, self.live_from)
        for customer in self.customers:
            self.write(customer)
        self.items.sort(key=lambda item: item[:2])
        split = bisect.bisect_left(self.items, self.live_from, key=lambda item: item[0])
        history_events = tuple(item for _, _, item in self.items[:split] if isinstance(item, Event))
        return FraudDataset(
            seed=self.seed,
            customers=len(self.customers),
            live_from=self.live_from,
            live_until=self.live_until,
            history=history_events,
            timeline=tuple(item for _, _, item in self.items[split:]),
            mule_accounts=self.mule_accounts,
            cases=dict(self.cases),
        )
