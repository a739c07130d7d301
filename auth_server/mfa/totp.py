"""RFC 6238 TOTP (pyotp): 6 digits, 30-second steps, SHA-1 (what authenticator apps support), one step of drift."""

from __future__ import annotations

import hmac
import io
import re
from datetime import datetime

import pyotp
import segno

ISSUER = "obank"
DIGITS = 6
STEP_SECONDS = 30
# RFC 6238 s5.2: accept at most one step either side, for clock drift and typing time.
ALLOWED_DRIFT_STEPS = 1
# ASCII digits only: `\d` also matches other scripts' digits, which `hmac.compare_digest` cannot compare.
_CODE = re.compile(r"^[0-9]{6}$")


def new_secret() -> str:
    """160 random bits in base32 (RFC 4226 s4 recommends 160)."""
    return pyotp.random_base32(32)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def normalise_code(code: str) -> str:
    return "".join(code.split())


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step `code` belongs to within the allowed drift, or None; every candidate is compared."""
    code = normalise_code(code)
    if not _CODE.fullmatch(code):
        return None
    totp = _totp(secret)
    current = totp.timecode(now)
    matched = None
    for step in range(current - ALLOWED_DRIFT_STEPS, current + ALLOWED_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    return matched


def provisioning_uri(secret: str, account_name: str) -> str:
    """The `otpauth://` URI authenticator apps read from the QR code."""
    return _totp(secret).provisioning_uri(name=account_name, issuer_name=ISSUER)


def qr_code_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, drawn here (no external service sees the secret)."""
    buffer = io.BytesIO()
    segno.make(uri, error="m").save(
        buffer,
        kind="svg",
        scale=4,
        border=4,
        xmldecl=False,
        svgns=True,
        omitsize=True,
        svgclass="qr-code",
        lineclass=None,
        title="QR code for your authenticator app",
    )
    return buffer.getvalue().decode()
