"""Each payment and sign-in rule at its boundaries, and how points combine into recommendations."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fraud import rules
from fraud.decisions import PaymentFacts, Recommendation, RuleHit, SignInFacts
from fraud.features.schemas import PaymentFeatures, SignInFeatures, TravelLeg
from obank.settings import Settings
from tests.fraud.factories import facts

SETTINGS = Settings(env="test")
CUSTOMER = uuid.uuid4()
# 14:30 in London (BST): an ordinary afternoon.
NOON = datetime(2026, 6, 10, 13, 30, tzinfo=UTC)
HISTORY = (5_000, 4_000, 6_000, 5_500, 4_500, 5_000, 5_200, 4_800)  # median 5,000, MAD 350


def payment(amount: int = 5_000, at: datetime = NOON, **kwargs: Any) -> PaymentFacts:
    return facts(CUSTOMER, amount, at, **kwargs)


def with_history(**changes: Any) -> PaymentFeatures:
    base = PaymentFeatures(settled_count=len(HISTORY), recent_amounts=HISTORY, creditor_known=True)
    return replace(base, **changes)


# velocity


def test_velocity_fires_only_past_the_attempt_count() -> None:
    limit = SETTINGS.fraud_velocity_max_count
    assert rules.velocity(payment(), with_history(velocity_count=limit - 1), SETTINGS) == 0  # at the limit
    assert rules.velocity(payment(), with_history(velocity_count=limit), SETTINGS) == SETTINGS.fraud_velocity_points
    assert rules.velocity(payment(), with_history(velocity_count=limit + 1), SETTINGS) == (
        SETTINGS.fraud_velocity_points + 10
    )


def test_velocity_fires_on_a_day_total_far_above_the_median() -> None:
    floor = SETTINGS.fraud_velocity_amount_floor_minor  # above 8 x 5,000 = 40,000
    earlier = with_history(day_count=1, day_amount_minor=floor - 1_000)
    assert rules.velocity(payment(1_000), earlier, SETTINGS) == 0  # exactly the limit
    assert rules.velocity(payment(1_001), earlier, SETTINGS) == SETTINGS.fraud_velocity_amount_points
    # One payment alone is the amount rules' business, not velocity's.
    assert rules.velocity(payment(floor + 1), with_history(), SETTINGS) == 0


# amount_anomaly and amount_cold_start


def test_amount_anomaly_uses_a_robust_z_score_of_the_logarithm() -> None:
    # A steady payer: the spread is its floor (0.3), so z = 3 at 5,000 x e^0.9 = 12,298.03.
    new = with_history(creditor_known=False)
    assert rules.amount_anomaly(payment(12_298), new, SETTINGS) == 0
    assert rules.amount_anomaly(payment(12_299), new, SETTINGS) == SETTINGS.fraud_amount_new_creditor_points
    # A creditor paid before must also be paid six times its usual amount or more.
    known = with_history(creditor_known=True, creditor_mean_minor=5_000.0)
    assert rules.amount_anomaly(payment(29_999), known, SETTINGS) == 0
    assert rules.amount_anomaly(payment(30_000), known, SETTINGS) == SETTINGS.fraud_amount_points
    # A customer who pays everyone differently: the spread is held at its ceiling (0.7), z = 3 at 10,000 x e^2.1.
    wide = with_history(recent_amounts=(1_000, 3_000, 10_000, 30_000, 100_000), creditor_known=False)
    assert rules.amount_anomaly(payment(81_661), wide, SETTINGS) == 0
    assert rules.amount_anomaly(payment(81_662), wide, SETTINGS) == SETTINGS.fraud_amount_new_creditor_points


def test_amount_anomaly_waits_for_enough_history_and_cold_start_covers_it() -> None:
    short = with_history(recent_amounts=HISTORY[: SETTINGS.fraud_amount_min_history - 1])
    big = SETTINGS.fraud_amount_cold_start_minor
    assert rules.amount_anomaly(payment(big * 10), short, SETTINGS) == 0
    assert rules.amount_cold_start(payment(big - 1), short, SETTINGS) == 0
    assert rules.amount_cold_start(payment(big), short, SETTINGS) == SETTINGS.fraud_amount_cold_start_points
    enough = with_history(recent_amounts=HISTORY[: SETTINGS.fraud_amount_min_history])
    assert rules.amount_cold_start(payment(big), enough, SETTINGS) == 0


# new_payee_large_amount and payee_cooling_off


def test_new_payee_large_amount_needs_a_new_creditor_and_a_large_amount() -> None:
    threshold = max(SETTINGS.fraud_new_payee_amount_minor, int(SETTINGS.fraud_new_payee_median_multiple * 5_000))
    new = with_history(creditor_known=False)
    assert rules.new_payee_large_amount(payment(threshold - 1), new, SETTINGS) == 0
    assert rules.new_payee_large_amount(payment(threshold), new, SETTINGS) == SETTINGS.fraud_new_payee_points
    assert rules.new_payee_large_amount(payment(4 * threshold), new, SETTINGS) == SETTINGS.fraud_new_payee_points + 20
    assert rules.new_payee_large_amount(payment(4 * threshold), with_history(creditor_known=True), SETTINGS) == 0
    # Without any history there is no habit to grade against: the base points only.
    cold = PaymentFeatures(creditor_known=False)
    floor = SETTINGS.fraud_new_payee_amount_minor
    assert rules.new_payee_large_amount(payment(floor - 1), cold, SETTINGS) == 0
    assert rules.new_payee_large_amount(payment(100 * floor), cold, SETTINGS) == SETTINGS.fraud_new_payee_points


def test_payee_cooling_off_fires_on_the_first_payment_before_it_ends() -> None:
    payee_id = uuid.uuid4()
    cooling = with_history(creditor_known=False, payee_added_at=NOON - timedelta(hours=1), payee_cooling_off_until=NOON)
    assert rules.payee_cooling_off(payment(payee_id=payee_id, at=NOON - timedelta(seconds=1)), cooling, SETTINGS) == (
        SETTINGS.fraud_cooling_off_points
    )
    assert rules.payee_cooling_off(payment(payee_id=payee_id, at=NOON), cooling, SETTINGS) == 0  # it has ended
    early = payment(payee_id=payee_id, at=NOON - timedelta(seconds=1))
    assert rules.payee_cooling_off(early, replace(cooling, creditor_known=True), SETTINGS) == 0  # paid before
    assert rules.payee_cooling_off(replace(early, payee_id=None), cooling, SETTINGS) == 0  # no saved payee


# unusual_hour


def test_unusual_hour_fires_only_with_no_payment_within_an_hour_either_side() -> None:
    hours = [0] * 24
    hours[14] = SETTINGS.fraud_unusual_hour_min_history  # always 14:00-14:59 London
    habits = with_history(hour_counts=tuple(hours))
    london_13 = datetime(2026, 6, 10, 12, 30, tzinfo=UTC)  # 13:30 BST: next to 14
    london_12 = datetime(2026, 6, 10, 11, 59, tzinfo=UTC)  # 12:59 BST: two hours off
    assert rules.unusual_hour(payment(at=london_13), habits, SETTINGS) == 0
    assert rules.unusual_hour(payment(at=london_12), habits, SETTINGS) == SETTINGS.fraud_unusual_hour_points
    large = round(SETTINGS.fraud_unusual_hour_large_multiple * 5_000)
    assert rules.unusual_hour(payment(large - 1, at=london_12), habits, SETTINGS) == SETTINGS.fraud_unusual_hour_points
    assert rules.unusual_hour(payment(large, at=london_12), habits, SETTINGS) == (
        SETTINGS.fraud_unusual_hour_points + SETTINGS.fraud_unusual_hour_large_points
    )
    # In winter 14:30 UTC is 14:30 in London: its own usual hour.
    assert rules.unusual_hour(payment(at=datetime(2026, 12, 10, 14, 30, tzinfo=UTC)), habits, SETTINGS) == 0
    hours[14] -= 1  # too little history to judge
    assert rules.unusual_hour(payment(at=london_12), with_history(hour_counts=tuple(hours)), SETTINGS) == 0


# new_device and impossible_travel


def test_new_device_follows_the_session_and_weighs_more_for_a_new_creditor() -> None:
    device = with_history(session_new_device=True)
    assert rules.new_device(payment(), device, SETTINGS) == SETTINGS.fraud_new_device_points
    assert rules.new_device(payment(), with_history(), SETTINGS) == 0
    larger = round(SETTINGS.fraud_new_device_new_creditor_multiple * 5_000)
    stranger = replace(device, creditor_known=False)
    assert rules.new_device(payment(larger - 1), stranger, SETTINGS) == SETTINGS.fraud_new_device_points
    assert rules.new_device(payment(larger), stranger, SETTINGS) == (
        SETTINGS.fraud_new_device_points + SETTINGS.fraud_new_device_new_creditor_points
    )
    assert rules.new_device(payment(larger), device, SETTINGS) == SETTINGS.fraud_new_device_points  # paid before


def test_impossible_travel_needs_distance_and_speed() -> None:
    speed, distance = SETTINGS.fraud_travel_max_speed_kmh, SETTINGS.fraud_travel_min_distance_km
    one_hour = 3_600.0
    fast = TravelLeg(distance_km=speed + 1, elapsed_s=one_hour)
    exact = TravelLeg(distance_km=speed, elapsed_s=one_hour)
    near = TravelLeg(distance_km=distance - 1, elapsed_s=1.0)
    assert rules.impossible_travel(payment(), with_history(travel_legs=(fast,)), SETTINGS) == (
        SETTINGS.fraud_travel_points
    )
    assert rules.impossible_travel(payment(), with_history(travel_legs=(exact,)), SETTINGS) == 0
    assert rules.impossible_travel(payment(), with_history(travel_legs=(near,)), SETTINGS) == 0


# account_takeover


def test_account_takeover_needs_a_credential_change_and_a_new_payee_within_the_window() -> None:
    window = timedelta(seconds=SETTINGS.fraud_takeover_window_s)
    minimum = SETTINGS.fraud_takeover_min_amount_minor
    taken = with_history(password_changed_at=NOON - window, recent_payee_added_at=NOON - timedelta(hours=1))
    assert rules.account_takeover(payment(minimum), taken, SETTINGS) == SETTINGS.fraud_takeover_points
    assert rules.account_takeover(payment(minimum - 1), taken, SETTINGS) == 0
    stale = replace(taken, password_changed_at=NOON - window - timedelta(seconds=1))
    assert rules.account_takeover(payment(minimum), stale, SETTINGS) == 0
    totp = replace(stale, totp_changed_at=NOON - timedelta(minutes=5))
    assert rules.account_takeover(payment(minimum), totp, SETTINGS) == SETTINGS.fraud_takeover_points
    no_payee = replace(taken, recent_payee_added_at=None)
    assert rules.account_takeover(payment(minimum), no_payee, SETTINGS) == 0
    # The payment's own payee, just added, counts as the new payee.
    own_payee = replace(no_payee, payee_added_at=NOON - timedelta(minutes=30))
    assert rules.account_takeover(payment(minimum), own_payee, SETTINGS) == SETTINGS.fraud_takeover_points


# round_amount_burst and mule_account


def test_round_amount_burst_counts_round_amounts_including_this_one() -> None:
    unit, needed = SETTINGS.fraud_round_unit_minor, SETTINGS.fraud_round_burst_min_count
    assert rules.round_amount_burst(payment(unit), with_history(round_count=needed - 2), SETTINGS) == 0
    assert rules.round_amount_burst(payment(unit), with_history(round_count=needed - 1), SETTINGS) == (
        SETTINGS.fraud_round_burst_points
    )
    assert rules.round_amount_burst(payment(unit + 1), with_history(round_count=needed), SETTINGS) == 0


def test_mule_account_is_enough_to_block() -> None:
    hits = rules.payment_hits(payment(), with_history(creditor_mule=True), SETTINGS)
    assert hits == (RuleHit("mule_account", SETTINGS.fraud_mule_points),)
    assert rules.payment_decision(hits, SETTINGS).recommendation is Recommendation.BLOCK


# allow-list and combination


def test_an_allowed_creditor_silences_payee_and_amount_rules_but_not_the_mule_list() -> None:
    risky = with_history(creditor_known=False, creditor_mule=True, session_new_device=True)
    before = {hit.rule for hit in rules.payment_hits(payment(500_000), risky, SETTINGS)}
    assert {"amount_anomaly", "new_payee_large_amount", "mule_account", "new_device"} <= before
    after = {hit.rule for hit in rules.payment_hits(payment(500_000), replace(risky, creditor_allowed=True), SETTINGS)}
    assert after == {"mule_account", "new_device"}


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, Recommendation.APPROVE),
        (29, Recommendation.APPROVE),
        (30, Recommendation.MONITOR),
        (59, Recommendation.MONITOR),
        (60, Recommendation.REVIEW),
        (89, Recommendation.REVIEW),
        (90, Recommendation.BLOCK),
        (100, Recommendation.BLOCK),
    ],
)
def test_scores_map_to_recommendations_at_the_thresholds(score: int, expected: Recommendation) -> None:
    assert rules.recommendation(score, monitor=30, review=60, block=90) is expected


def test_points_add_up_capped_at_100() -> None:
    decision = rules.payment_decision((RuleHit("a", 70), RuleHit("b", 45)), SETTINGS)
    assert decision.score == 100
    assert decision.recommendation is Recommendation.BLOCK
    assert decision.engine == "rules-v1"
    assert rules.payment_decision((RuleHit("a", 35),), SETTINGS).recommendation is Recommendation.MONITOR
    assert rules.payment_decision((), SETTINGS).recommendation is Recommendation.APPROVE


def test_sign_in_rules_and_thresholds() -> None:
    sign_in = SignInFacts(uuid.uuid4(), CUSTOMER, "ab", "203.0.113.9", NOON)
    quiet = rules.sign_in_decision(rules.sign_in_hits(sign_in, SignInFeatures(), SETTINGS), SETTINGS)
    assert (quiet.score, quiet.recommendation) == (0, Recommendation.APPROVE)
    new = rules.sign_in_hits(sign_in, SignInFeatures(new_device=True), SETTINGS)
    assert new == (RuleHit("new_device", SETTINGS.fraud_sign_in_new_device_points),)
    assert rules.sign_in_decision(new, SETTINGS).recommendation is Recommendation.MONITOR
    far = SignInFeatures(new_device=True, new_country=True, travel_legs=(TravelLeg(5_000, 600),))
    decision = rules.sign_in_decision(rules.sign_in_hits(sign_in, far, SETTINGS), SETTINGS)
    assert [hit.rule for hit in decision.rules] == ["new_device", "new_country", "impossible_travel"]
    assert decision.recommendation is Recommendation.BLOCK


def test_far_dates_do_not_overflow() -> None:
    far = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)
    assert rules.account_takeover(payment(at=far), with_history(password_changed_at=far), SETTINGS) == 0
    assert rules.shifted(datetime(1, 1, 1, tzinfo=UTC), -86_400).year == 1
