"""The fraud decision interface: payments before money moves, and sign-ins before a session is granted.

`decide(payment)` answers a score from 0 to 100, a recommendation and the rules that fired with their
contribution; `assess_sign_in(sign_in)` does the same for a sign-in, with where it comes from. The engine
(`fraud.engine.FraudEngine`) scores on features kept up to date from outbox events; `ApproveAll` approves
everything (contexts' unit tests that are not about fraud). The caller records each decision with what it
was asked about (its row and its audit record), so every call is on file.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Recommendation(StrEnum):
    APPROVE = "APPROVE"
    MONITOR = "MONITOR"  # proceed, recorded for analysts
    REVIEW = "REVIEW"  # hold for a person's decision
    BLOCK = "BLOCK"  # reject


@dataclass(frozen=True, slots=True)
class PaymentFacts:
    """What the decision is about: who pays whom, how much, when, and in which signed-in session.

    `creditor_account` is the payee's UK sort code and account number, 14 digits (the key of the mule list and
    of known payees); `session_id` the customer's sign-in session behind the request (its device and place).
    """

    payment_id: uuid.UUID
    customer_id: uuid.UUID
    debtor_account_id: uuid.UUID
    amount_minor: int
    currency: str
    creditor_identification: str
    external: bool
    client_id: str | None
    created_at: datetime
    creditor_account: str = ""
    payee_id: uuid.UUID | None = None
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    contribution: int


@dataclass(frozen=True, slots=True)
class Decision:
    score: int
    recommendation: Recommendation
    rules: tuple[RuleHit, ...] = ()
    engine: str = ""

    def snapshot(self) -> dict[str, object]:
        return {
            "score": self.score,
            "recommendation": self.recommendation.value,
            "rules": [{"rule": hit.rule, "contribution": hit.contribution} for hit in self.rules],
            "engine": self.engine,
        }


class FraudDecisions(Protocol):
    async def decide(self, payment: PaymentFacts) -> Decision:
        """Score `payment`; must answer within the saga's latency budget and never move money itself."""
        ...


@dataclass(frozen=True, slots=True)
class SignInFacts:
    """A customer's sign-in whose password was just accepted: the device (auth_server's keyed hash of its
    fingerprint, hex) and the address it comes from."""

    identity_id: uuid.UUID
    customer_id: uuid.UUID
    device_hash: str | None
    ip_address: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class SignInDecision:
    """The decision on a sign-in, with the country its address is in and whether its device is new."""

    decision: Decision
    country: str | None
    new_device: bool


class FraudSignIns(Protocol):
    async def assess_sign_in(self, sign_in: SignInFacts) -> SignInDecision:
        """Score a sign-in: MONITOR and above force the TOTP; BLOCK locks the login."""
        ...


class ApproveAll:
    """Approves every payment and sign-in (score 0, no rule fired): for tests of other contexts."""

    async def decide(self, payment: PaymentFacts) -> Decision:
        return Decision(score=0, recommendation=Recommendation.APPROVE, engine="approve-all")

    async def assess_sign_in(self, sign_in: SignInFacts) -> SignInDecision:
        return SignInDecision(
            Decision(score=0, recommendation=Recommendation.APPROVE, engine="approve-all"), None, False
        )
