"""The fraud rules: each a small named check of one pattern, pure over (facts, features, settings) → points.

A rule answers 0 when it does not fire. A payment's score is the sum of its rules' points, capped at 100; the
thresholds in settings turn it into a recommendation. An analyst's allow-list entry for the creditor silences
the payee and amount rules (`allowable`), never the mule list. Names are stable: RuleHit.rule, the alerts and
the bench use them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fraud.decisions import Decision, PaymentFacts, Recommendation, RuleHit, SignInFacts
from fraud.features.schemas import LONDON, PaymentFeatures, SignInFeatures, TravelLeg
from obank.settings import Settings

ENGINE = "rules-v1"
MAX_SCORE = 100
MAD_TO_SIGMA = 1.4826  # scales the median absolute deviation to a normal distribution's standard deviation


# Payment rules ---------------------------------------------------------------------------------------------------


def velocity(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """Many payments in a short time, or far more money than usual within a day: an account being emptied."""
    count = features.velocity_count + 1
    points = 0
    if count > settings.fraud_velocity_max_count:
        points = settings.fraud_velocity_points + 10 * (count - settings.fraud_velocity_max_count - 1)
    day_total = features.day_amount_minor + payment.amount_minor
    day_limit = max(
        float(settings.fraud_velocity_amount_floor_minor),
        settings.fraud_velocity_amount_multiple * features.median_amount,
    )
    if features.day_count >= 1 and day_total > day_limit:
        points = max(points, settings.fraud_velocity_amount_points)
    return min(points, MAX_SCORE)


def amount_anomaly(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """An amount far above what this customer usually pays (an impersonation or invoice scam).

    Amounts are roughly log-normal, so the robust z-score is taken on their logarithms: the median of the
    customer's recent settled amounts and 1.4826 x their median absolute deviation, the spread held within
    bounds (a customer who always pays the same, or pays everyone differently). To a creditor they paid before,
    it must also be far above what they usually pay that creditor (a yearly bill is not an anomaly).
    """
    amounts = features.recent_amounts
    if len(amounts) < settings.fraud_amount_min_history or payment.amount_minor <= 0:
        return 0
    logs = [math.log(max(amount, 1)) for amount in amounts]
    centre = statistics.median(logs)
    deviation = statistics.median(abs(value - centre) for value in logs)
    spread = min(max(MAD_TO_SIGMA * deviation, settings.fraud_amount_min_spread), settings.fraud_amount_max_spread)
    if (math.log(payment.amount_minor) - centre) / spread < settings.fraud_amount_z_threshold:
        return 0
    if not features.creditor_known:
        return settings.fraud_amount_new_creditor_points
    usual = features.creditor_mean_minor
    if usual > 0 and payment.amount_minor < settings.fraud_amount_creditor_multiple * usual:
        return 0
    return settings.fraud_amount_points


def amount_cold_start(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """A large amount from a customer with too little history to judge it against (a new or dormant account)."""
    if len(features.recent_amounts) >= settings.fraud_amount_min_history:
        return 0
    return (
        settings.fraud_amount_cold_start_points if payment.amount_minor >= settings.fraud_amount_cold_start_minor else 0
    )


def new_payee_large_amount(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """A large first payment to a creditor the customer never paid: the typical authorised push payment scam."""
    if features.creditor_known:
        return 0
    threshold = max(
        float(settings.fraud_new_payee_amount_minor), settings.fraud_new_payee_median_multiple * features.median_amount
    )
    if threshold <= 0 or payment.amount_minor < threshold:
        return 0
    if features.median_amount <= 0:
        return settings.fraud_new_payee_points  # no habit to measure it against (amount_cold_start weighs the size)
    # Graded: 20 more points by four times the threshold.
    extra = min(20, round(20 * (payment.amount_minor / threshold - 1) / 3))
    return settings.fraud_new_payee_points + extra


def payee_cooling_off(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """The first payment to a payee saved so recently it is still in its cooling-off (added under pressure)."""
    if payment.payee_id is None or features.payee_cooling_off_until is None or features.creditor_known:
        return 0
    return settings.fraud_cooling_off_points if aware(payment.created_at) < features.payee_cooling_off_until else 0


def unusual_hour(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """A payment at an hour (London time) this customer never pays at, nor within an hour of it (a phone taken while
    its owner sleeps); more for a large amount."""
    hours = features.hour_counts
    if len(hours) != 24 or sum(hours) < settings.fraud_unusual_hour_min_history:
        return 0
    hour = aware(payment.created_at).astimezone(LONDON).hour
    if hours[(hour - 1) % 24] + hours[hour] + hours[(hour + 1) % 24] > 0:
        return 0
    large = payment.amount_minor >= settings.fraud_unusual_hour_large_multiple * features.median_amount > 0
    return settings.fraud_unusual_hour_points + (settings.fraud_unusual_hour_large_points if large else 0)


def new_device(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """The payment's session was signed in from a device the customer had never used (stolen credentials); more
    when it pays a creditor the customer never paid, more than usual."""
    if not features.session_new_device:
        return 0
    median = features.median_amount
    new_creditor = not features.creditor_known and median > 0
    if new_creditor and payment.amount_minor >= settings.fraud_new_device_new_creditor_multiple * median:
        return settings.fraud_new_device_points + settings.fraud_new_device_new_creditor_points
    return settings.fraud_new_device_points


def impossible_travel(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """The payment's session was signed in from a country the customer could not have reached since (or from)
    another sign-in: two people using one account."""
    return settings.fraud_travel_points if _impossible(features.travel_legs, settings) else 0


def account_takeover(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """A password or TOTP change, then a new payee, then a payment, all within a day: a taken-over account."""
    at = aware(payment.created_at)
    since = shifted(at, -settings.fraud_takeover_window_s)
    changed = [moment for moment in (features.password_changed_at, features.totp_changed_at) if moment is not None]
    if not any(since <= moment <= at for moment in changed):
        return 0
    payee_added = [moment for moment in (features.recent_payee_added_at, features.payee_added_at) if moment is not None]
    if not any(since <= moment <= at for moment in payee_added):
        return 0
    return settings.fraud_takeover_points if payment.amount_minor >= settings.fraud_takeover_min_amount_minor else 0


def round_amount_burst(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """Several payments of round amounts in a short time: cashing out (gift cards, mules) rather than paying bills."""
    if payment.amount_minor <= 0 or payment.amount_minor % settings.fraud_round_unit_minor != 0:
        return 0
    count = features.round_count + 1
    if count < settings.fraud_round_burst_min_count:
        return 0
    return min(settings.fraud_round_burst_points + 10 * (count - settings.fraud_round_burst_min_count), MAX_SCORE)


def mule_account(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> int:
    """The creditor is on the analysts' mule list: enough alone to block."""
    return settings.fraud_mule_points if features.creditor_mule else 0


# Sign-in rules ---------------------------------------------------------------------------------------------------


def sign_in_new_device(sign_in: SignInFacts, features: SignInFeatures, settings: Settings) -> int:
    """A device the customer never signed in from (their first ever is no news): ask for the TOTP."""
    return settings.fraud_sign_in_new_device_points if features.new_device else 0


def sign_in_new_country(sign_in: SignInFacts, features: SignInFeatures, settings: Settings) -> int:
    """A country none of the customer's recent sign-ins came from."""
    return settings.fraud_sign_in_new_country_points if features.new_country else 0


def sign_in_impossible_travel(sign_in: SignInFacts, features: SignInFeatures, settings: Settings) -> int:
    """Too far from the customer's last sign-in for the time since: someone else holds the password."""
    return settings.fraud_sign_in_travel_points if _impossible(features.travel_legs, settings) else 0


# The rule sets and how they combine -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentRule:
    """A named payment rule; `allowable` rules are silenced by the customer's allow-list entry for the creditor."""

    name: str
    check: Callable[[PaymentFacts, PaymentFeatures, Settings], int]
    allowable: bool = False


@dataclass(frozen=True, slots=True)
class SignInRule:
    name: str
    check: Callable[[SignInFacts, SignInFeatures, Settings], int]


PAYMENT_RULES: tuple[PaymentRule, ...] = (
    PaymentRule("mule_account", mule_account),
    PaymentRule("velocity", velocity),
    PaymentRule("amount_anomaly", amount_anomaly, allowable=True),
    PaymentRule("amount_cold_start", amount_cold_start, allowable=True),
    PaymentRule("new_payee_large_amount", new_payee_large_amount, allowable=True),
    PaymentRule("payee_cooling_off", payee_cooling_off, allowable=True),
    PaymentRule("unusual_hour", unusual_hour),
    PaymentRule("new_device", new_device),
    PaymentRule("impossible_travel", impossible_travel),
    PaymentRule("account_takeover", account_takeover),
    PaymentRule("round_amount_burst", round_amount_burst, allowable=True),
)

SIGN_IN_RULES: tuple[SignInRule, ...] = (
    SignInRule("new_device", sign_in_new_device),
    SignInRule("new_country", sign_in_new_country),
    SignInRule("impossible_travel", sign_in_impossible_travel),
)


def payment_hits(payment: PaymentFacts, features: PaymentFeatures, settings: Settings) -> tuple[RuleHit, ...]:
    """The payment rules that fired, with their points, in the rules' order."""
    hits = []
    for rule in PAYMENT_RULES:
        if rule.allowable and features.creditor_allowed:
            continue
        points = rule.check(payment, features, settings)
        if points > 0:
            hits.append(RuleHit(rule.name, points))
    return tuple(hits)


def sign_in_hits(sign_in: SignInFacts, features: SignInFeatures, settings: Settings) -> tuple[RuleHit, ...]:
    """The sign-in rules that fired, with their points."""
    hits = (RuleHit(rule.name, rule.check(sign_in, features, settings)) for rule in SIGN_IN_RULES)
    return tuple(hit for hit in hits if hit.contribution > 0)


def recommendation(score: int, *, monitor: int, review: int, block: int) -> Recommendation:
    """The recommendation a score reaches: the highest threshold it is at or above."""
    if score >= block:
        return Recommendation.BLOCK
    if score >= review:
        return Recommendation.REVIEW
    if score >= monitor:
        return Recommendation.MONITOR
    return Recommendation.APPROVE


def payment_decision(hits: Sequence[RuleHit], settings: Settings) -> Decision:
    """The rules' points added and capped at 100, and the recommendation the payment thresholds give it."""
    score = min(MAX_SCORE, sum(hit.contribution for hit in hits))
    return Decision(
        score=score,
        recommendation=recommendation(
            score,
            monitor=settings.fraud_monitor_score,
            review=settings.fraud_review_score,
            block=settings.fraud_block_score,
        ),
        rules=tuple(hits),
        engine=ENGINE,
    )


def sign_in_decision(hits: Sequence[RuleHit], settings: Settings) -> Decision:
    """The sign-in rules' points added and capped at 100, under the sign-in thresholds."""
    score = min(MAX_SCORE, sum(hit.contribution for hit in hits))
    return Decision(
        score=score,
        recommendation=recommendation(
            score,
            monitor=settings.fraud_sign_in_monitor_score,
            review=settings.fraud_sign_in_review_score,
            block=settings.fraud_sign_in_block_score,
        ),
        rules=tuple(hits),
        engine=ENGINE,
    )


def _impossible(legs: Sequence[TravelLeg], settings: Settings) -> bool:
    return any(
        leg.distance_km >= settings.fraud_travel_min_distance_km and leg.speed_kmh > settings.fraud_travel_max_speed_kmh
        for leg in legs
    )


def aware(moment: datetime) -> datetime:
    """A timestamp with its offset; one without is taken as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def shifted(moment: datetime, seconds: float) -> datetime:
    """`moment` moved by `seconds`, held within the calendar's range (far dates must not overflow)."""
    try:
        return moment + timedelta(seconds=seconds)
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if seconds < 0 else datetime.max.replace(tzinfo=UTC)
