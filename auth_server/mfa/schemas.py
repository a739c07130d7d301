"""Shapes of second factors as the pages and the login flow see them."""

from __future__ import annotations

from dataclasses import dataclass

from auth_server.sessions.schemas import IssuedSession


@dataclass(frozen=True, slots=True)
class TotpEnrolment:
    """What the enrolment page shows: the secret as text, the otpauth URI, and its QR code as SVG."""

    secret: str
    provisioning_uri: str
    qr_svg: str

    @property
    def secret_groups(self) -> str:
        """The secret in groups of four, easier to type into an app by hand."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))


@dataclass(frozen=True, slots=True)
class SecondFactors:
    """What second factors a login holds: a confirmed TOTP secret or not, and how many unused recovery codes."""

    totp_enrolled: bool
    recovery_codes_left: int

    @property
    def any(self) -> bool:
        return self.totp_enrolled or self.recovery_codes_left > 0


@dataclass(frozen=True, slots=True)
class ReplacementOffer:
    """A new secret offered to a signed-in person, and that secret sealed to their session for the form to carry:
    nothing is stored until a code from the new app confirms it."""

    enrolment: TotpEnrolment
    sealed: str


@dataclass(frozen=True, slots=True)
class Replacement:
    """A confirmed new authenticator app: the browser's new session token, the new recovery codes (shown once), and
    how many other sessions ended."""

    issued: IssuedSession
    recovery_codes: list[str]
    other_sessions_ended: int
