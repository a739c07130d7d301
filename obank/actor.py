"""Who acts: the one actor every context's audit records and events name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from obank.principal import Principal


class ActorKind(StrEnum):
    """Who performed an action."""

    CUSTOMER = "customer"
    STAFF = "staff"
    CLIENT = "client"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Actor:
    """A customer, a staff member, a TPP client or the platform itself, with the client and session it used."""

    kind: ActorKind
    id: str
    client_id: str | None = None
    session_id: str | None = None

    @classmethod
    def from_principal(cls, principal: Principal) -> Actor:
        """The caller the gateway verified (a `service` principal acts as the platform)."""
        kind = ActorKind.SYSTEM if principal.kind == "service" else ActorKind(principal.kind)
        return cls(kind, principal.subject, principal.client_id, principal.session_id)

    @classmethod
    def client(cls, client_id: str) -> Actor:
        return cls(ActorKind.CLIENT, client_id, client_id)

    @classmethod
    def staff(cls, principal: Principal) -> Actor:
        return cls(ActorKind.STAFF, principal.subject)

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls(ActorKind.SYSTEM, job)
