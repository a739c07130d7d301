"""The private claims of an access token: written by the authorization server, read by the gateway, spelled once.

RFC 9068 fixes `iss`, `sub`, `aud`, `exp`, `jti`, `client_id`, `scope`, `acr`, `auth_time` and `cnf`; what
obank adds to them, and the values it gives `acr`, are this module's. Neither side spells a claim name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# The strengths of authentication, as UK Open Banking names them (`acr` values).
ACR_SCA = "urn:openbanking:psd2:sca"  # strong customer authentication: password and TOTP
ACR_CA = "urn:openbanking:psd2:ca"  # one factor


class SubjectKind(StrEnum):
    """Whom a token speaks for: the client itself (client_credentials), a customer, or bank staff."""

    CLIENT = "client"
    CUSTOMER = "customer"
    STAFF = "staff"


class Claim(StrEnum):
    """The names of obank's private claims."""

    SUBJECT_KIND = "subject_kind"  # whom the token speaks for
    CUSTOMER_ID = "customer_id"  # a customer's id in core banking (`sub` is the sign-in identity)
    ROLES = "roles"  # a staff member's roles
    FIRST_PARTY = "first_party"  # issued to one of the bank's own apps: first-party routes admit only these
    GRANT_ID = "grant_id"  # the customer's grant the token was issued under: withdrawn, its tokens are refused
    CONSENT_ID = "consent_id"  # the Open Banking consent the token is bound to
    INTENT_ID = "openbanking_intent_id"  # the same consent, as UK Open Banking's ID token names it


@dataclass(frozen=True, slots=True)
class PrivateClaims:
    """obank's claims of one access token, typed; `subject_kind` None when the token names no kind obank knows."""

    subject_kind: SubjectKind | None
    customer_id: str | None = None
    roles: tuple[str, ...] = ()
    first_party: bool = False
    grant_id: str | None = None
    consent_id: str | None = None

    def to_claims(self) -> dict[str, Any]:
        """The claims to add to the token (absent ones left out)."""
        claims: dict[str, Any] = {}
        if self.subject_kind is not None:
            claims[Claim.SUBJECT_KIND] = self.subject_kind.value
        if self.customer_id is not None:
            claims[Claim.CUSTOMER_ID] = self.customer_id
        if self.roles:
            claims[Claim.ROLES] = sorted(self.roles)
        if self.first_party:
            claims[Claim.FIRST_PARTY] = True
        if self.grant_id is not None:
            claims[Claim.GRANT_ID] = self.grant_id
        if self.consent_id is not None:
            claims[Claim.CONSENT_ID] = self.consent_id
        return {str(name): value for name, value in claims.items()}

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> PrivateClaims:
        """The private claims of a verified token; what is missing or malformed reads as absent."""
        try:
            kind: SubjectKind | None = SubjectKind(str(claims.get(Claim.SUBJECT_KIND)))
        except ValueError:
            kind = None
        roles = claims.get(Claim.ROLES)
        consent = claims.get(Claim.CONSENT_ID) or claims.get(Claim.INTENT_ID)
        return cls(
            subject_kind=kind,
            customer_id=_text(claims.get(Claim.CUSTOMER_ID)),
            roles=tuple(str(role) for role in roles) if isinstance(roles, list) else (),
            first_party=claims.get(Claim.FIRST_PARTY) is True,
            grant_id=_text(claims.get(Claim.GRANT_ID)),
            consent_id=_text(consent),
        )


def _text(value: Any) -> str | None:
    return str(value) if value else None
