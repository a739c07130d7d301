"""Alert errors: each carries its HTTP status and stable code (`obank.problems` renders them)."""

from __future__ import annotations

import uuid

from fraud.errors import FraudError


class AlertNotFound(FraudError):
    status = 404
    code = "fraud_alert_not_found"
    title = "Fraud alert not found"

    def __init__(self, alert_id: uuid.UUID) -> None:
        super().__init__(f"no fraud alert {alert_id}")


class IllegalAlertTransition(FraudError):
    """The alert's status does not allow this step (claiming a resolved alert, resolving an unclaimed one)."""

    status = 409
    code = "fraud_alert_illegal_transition"
    title = "The alert's status does not allow this"


class AlertClaimedByAnother(FraudError):
    """Another analyst is investigating the alert; `?force=true` takes it over."""

    status = 409
    code = "fraud_alert_claimed"
    title = "Another analyst is investigating this alert"


class MuleAccountNotFound(FraudError):
    status = 404
    code = "mule_account_not_found"
    title = "The account is not on the mule list"

    def __init__(self) -> None:
        super().__init__("the account is not on the mule list")
