"""The features consumer: payments, transfers, payees and sign-ins keep the fraud features current."""

from __future__ import annotations

from fraud.features.service import FEATURE_TOPICS, apply_event
from obank.outbox.consumers import Consumer

FEATURES_CONSUMER = "fraud.features"


def features_consumer() -> Consumer:
    """The consumer `bank/jobs.py` registers; `apply_once` commits each event's update once."""
    return Consumer(name=FEATURES_CONSUMER, topics=FEATURE_TOPICS, handler=apply_event)
