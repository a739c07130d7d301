"""Shapes of second factors as the pages and the login flow see them."""

from __future__ import annotations

from dataclasses import dataclass


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
