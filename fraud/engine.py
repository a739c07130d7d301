"""The fraud engine: scores payments and sign-ins with the rules over precomputed features.

Each decision reads what it needs in one SQL statement (a short session of its own, so it never waits on the
caller's transaction) and evaluates the rules in Python; nothing is written. The caller records the decision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fraud import rules
from fraud.decisions import Decision, PaymentFacts, SignInDecision, SignInFacts
from fraud.features import repository
from fraud.features.repository import PaymentWindows
from fraud.features.schemas import PaymentFeatures, SignInFeatures, TravelLeg
from fraud.features.service import country_code, device_hash, session_key
from fraud.geo import Geolocation, default_geolocation
from obank.runtime import Platform
from obank.settings import Settings

_CREDITOR_ACCOUNT_LENGTH = 14
_DAY_S = 86_400
# A decision's read is one SELECT, consistent on its own: run without BEGIN and ROLLBACK, it is one round trip.
_ONE_STATEMENT_READ = {"isolation_level": "AUTOCOMMIT"}


class FraudEngine:
    """Implements `FraudDecisions` and `FraudSignIns` (engine "rules-v1")."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], settings: Settings, geo: Geolocation | None = None
    ) -> None:
        self._sessions = sessions
        self._settings = settings
        self._geo = geo or default_geolocation()

    @classmethod
    def for_platform(cls, platform: Platform) -> FraudEngine:
        return cls(platform.sessions, platform.settings)

    async def decide(self, payment: PaymentFacts) -> Decision:
        """Score a payment against the customer's features as they stood before it (its own attempt excluded)."""
        features = await self.payment_features(payment)
        return rules.payment_decision(rules.payment_hits(payment, features, self._settings), self._settings)

    async def assess_sign_in(self, sign_in: SignInFacts) -> SignInDecision:
        """Score a sign-in whose password was accepted: a new device, a new country, impossible travel."""
        country = self._geo.country_of(sign_in.ip_address)
        device = device_hash(sign_in.device_hash)
        at = rules.aware(sign_in.at)
        async with self._sessions() as session:
            row = await repository.sign_in_features(
                session,
                customer_id=sign_in.customer_id,
                device_hash=device,
                country=country,
                at=at,
                history_since=rules.shifted(at, -self._settings.fraud_sign_in_history_days * _DAY_S),
            )
        new_device = device is not None and int(row.device_count or 0) > 0 and not row.known_device
        features = SignInFeatures(
            new_device=new_device,
            new_country=country is not None and bool(row.any_country) and not row.seen_country,
            travel_legs=self._legs(country, at, [(row.latest_country, row.latest_signed_in_at)]),
        )
        decision = rules.sign_in_decision(rules.sign_in_hits(sign_in, features, self._settings), self._settings)
        return SignInDecision(decision, country, new_device)

    async def payment_features(self, payment: PaymentFacts) -> PaymentFeatures:
        """The features `decide` judges the payment on, read in one statement."""
        settings = self._settings
        at = rules.aware(payment.created_at)
        creditor = payment.creditor_account
        session_id = session_key(payment.session_id)
        windows = PaymentWindows(
            payment_id=payment.payment_id,
            created_at=at,
            velocity_since=rules.shifted(at, -settings.fraud_velocity_window_s),
            day_since=rules.shifted(at, -_DAY_S),
            round_since=rules.shifted(at, -settings.fraud_round_burst_window_s),
            takeover_since=rules.shifted(at, -settings.fraud_takeover_window_s),
            round_unit_minor=settings.fraud_round_unit_minor,
        )
        async with self._sessions() as session:
            await session.connection(execution_options=_ONE_STATEMENT_READ)
            row = await repository.payment_features(
                session,
                customer_id=payment.customer_id,
                creditor_account=creditor if len(creditor) == _CREDITOR_ACCOUNT_LENGTH and creditor.isdigit() else None,
                payee_id=payment.payee_id,
                session_id=session_id,
                windows=windows,
            )
        legs: tuple[TravelLeg, ...] = ()
        if row.session_signed_in_at is not None:
            session_country = row.session_country
            legs = self._legs(
                session_country,
                row.session_signed_in_at,
                [
                    (row.previous_country, row.previous_signed_in_at),
                    (row.latest_country, row.latest_signed_in_at),
                ],
            )
        return PaymentFeatures(
            velocity_count=int(row.velocity_count),
            day_count=int(row.day_count),
            day_amount_minor=int(row.day_amount_minor),
            round_count=int(row.round_count),
            settled_count=int(row.settled_count or 0),
            recent_amounts=tuple(row.recent_amounts or ()),
            hour_counts=tuple(row.hour_counts or ()),
            password_changed_at=row.password_changed_at,
            totp_changed_at=row.totp_changed_at,
            recent_payee_added_at=row.recent_payee_added_at,
            creditor_known=row.creditor_paid_count is not None,
            creditor_mean_minor=float(row.creditor_amount_sum_minor / row.creditor_paid_count)
            if row.creditor_paid_count
            else 0.0,
            creditor_allowed=bool(row.creditor_allowed),
            creditor_mule=bool(row.creditor_mule),
            payee_added_at=row.payee_added_at,
            payee_cooling_off_until=row.payee_cooling_off_until,
            session_new_device=bool(row.session_new_device),
            travel_legs=legs,
        )

    def _legs(
        self, country: str | None, at: datetime, others: list[tuple[Any, datetime | None]]
    ) -> tuple[TravelLeg, ...]:
        """The journeys from each other sign-in (country, time) to this one, where both countries are known."""
        here = country_code(country)
        legs = []
        for other_country, other_at in others:
            there = country_code(other_country)
            if here is None or there is None or other_at is None or there == here:
                continue
            distance = self._geo.distance_km(here, there)
            if distance is not None:
                legs.append(TravelLeg(distance, abs((at - other_at).total_seconds())))
        return tuple(legs)
