"""The fraud decision interface the payment saga calls before money moves.

`decide(payment)` answers a score from 0 to 100, a recommendation and the rules that fired with their
contribution. The engine that scores (velocity, amount anomalies, new payees, devices...) is the fraud
issue's; until it exists, `ApproveAll` approves every payment with no rule fired. The caller records each
decision with the payment it was asked about (its row and its audit record), so every call is on file.
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
    """What the decision is about: who pays whom, how much, and when."""

    payment_id: uuid.UUID
    customer_id: uuid.UUID
    debtor_account_id: uuid.UUID
    amount_minor: int
    currency: str
    creditor_identification: str
    external: bool
    client_id: str | None
    created_at: datetime


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


class ApproveAll:
    """Approves every payment (score 0, no rule fired): the interface's stand-in until the engine exists."""

    async def decide(self, payment: PaymentFacts) -> Decision:
        return Decision(score=0, recommendation=Recommendation.APPROVE, engine="approve-all")
