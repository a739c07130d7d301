"""What the features read back: the snapshot the rules judge a payment or a sign-in on, and the mule list."""

from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

# Usual hours are the bank's wall-clock hours (the features keep them, the rules compare with them).
LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True, slots=True)
class TravelLeg:
    """Two sign-ins (or a sign-in and a payment's session) in countries this far apart, this long apart."""

    distance_km: float
    elapsed_s: float

    @property
    def speed_kmh(self) -> float:
        """The speed the customer would have needed; a leg of no time counts as one second."""
        return self.distance_km / (max(self.elapsed_s, 1.0) / 3600)


@dataclass(frozen=True, slots=True)
class PaymentFeatures:
    """The customer's state the payment rules read, as it stood before this payment (its own attempt excluded).

    Counts and sums of attempts are of earlier attempts only: each rule adds the payment itself.
    """

    velocity_count: int = 0  # earlier attempts within the velocity window
    day_count: int = 0  # earlier attempts within 24 hours
    day_amount_minor: int = 0  # their amounts' sum
    round_count: int = 0  # earlier attempts of round amounts within the burst window
    settled_count: int = 0
    recent_amounts: tuple[int, ...] = ()  # the latest settled amounts, newest first
    hour_counts: tuple[int, ...] = ()  # settled payments by London hour (24 entries, or none yet)
    password_changed_at: datetime | None = None
    totp_changed_at: datetime | None = None
    recent_payee_added_at: datetime | None = None  # the latest payee added within the takeover window
    creditor_known: bool = False  # the customer paid this creditor before
    creditor_mean_minor: float = 0.0  # the mean of what they paid it (0 when never)
    creditor_allowed: bool = False  # an analyst allowed this creditor for the customer (a false positive)
    creditor_mule: bool = False
    payee_added_at: datetime | None = None  # the payment's saved payee
    payee_cooling_off_until: datetime | None = None
    session_new_device: bool = False  # the payment's session was signed in from a device new to the customer
    travel_legs: tuple[TravelLeg, ...] = field(default_factory=tuple)

    @property
    def median_amount(self) -> float:
        """The median of the recent settled amounts (0 without any)."""
        return float(statistics.median(self.recent_amounts)) if self.recent_amounts else 0.0


@dataclass(frozen=True, slots=True)
class SignInFeatures:
    """The customer's state the sign-in rules read, before this sign-in."""

    new_device: bool = False  # a device the customer never used, though they used others
    new_country: bool = False  # a country none of their recent sign-ins came from, though some came from one
    travel_legs: tuple[TravelLeg, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class MuleRecord:
    """A creditor account on the mule list; `reason` only when read with the key ring (it is sealed at rest)."""

    creditor_account: str
    marked_at: datetime
    alert_id: uuid.UUID | None
    reason: str | None = None
