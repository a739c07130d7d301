"""Refusals of the event subscription and polling APIs, in OB terms."""

from __future__ import annotations

from obank.ob_errors import OBErrorCode
from open_banking.errors import Forbidden, OpenBankingError, ResourceNotFound

SUBSCRIPTION_ID = "EventSubscriptionId"


class EventSubscriptionNotFound(ResourceNotFound):
    """An id that names no subscription: 400 (R/W API Profile, "400 (Bad Request) v/s 404 (Not Found)")."""

    def __init__(self) -> None:
        super().__init__("no event subscription has this id", SUBSCRIPTION_ID)


class EventSubscriptionOfAnotherTpp(Forbidden):
    """R/W API Profile, "403 (Forbidden)": another TPP's resource is refused, not reported unknown."""

    def __init__(self) -> None:
        super().__init__("the event subscription belongs to another TPP", SUBSCRIPTION_ID)


class EventSubscriptionExists(OpenBankingError):
    """The TPP already has its one event subscription: change it with PUT (Events API, POST answers 409)."""

    status = 409
    code = OBErrorCode.RESOURCE_ALREADY_EXISTS

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"this TPP already has the event subscription {subscription_id}; change it with PUT")
