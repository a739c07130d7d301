"""Opaque pagination cursors: a position in a history and which way to read from it, signed so clients cannot
forge them, and bound to the history that issued them (one account's, or a consent's view of its accounts)."""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core_banking.history.errors import InvalidCursor
from obank.crypto import KeyRing

CURSOR_PURPOSE = "core-banking-history-cursor"
_MAC_BYTES = 16
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_OLDER, _NEWER = "o", "n"


@dataclass(frozen=True, slots=True)
class Position:
    """A line of the history (booked_at, posting id); the page asked for lies before it (older) or after it."""

    booked_at: datetime
    posting_id: int
    newer: bool = False


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(keyring: KeyRing, payload: bytes) -> bytes:
    return keyring.keyed_hash(CURSOR_PURPOSE, payload)[:_MAC_BYTES]


def encode_cursor(keyring: KeyRing, scope: str, position: Position) -> str:
    """The cursor reading from `position` in the history named `scope`."""
    micros = (position.booked_at - _EPOCH) // _MICROSECOND
    way = _NEWER if position.newer else _OLDER
    payload = f"{micros}|{position.posting_id}|{way}|{scope}".encode()
    return f"{_b64(payload)}.{_b64(_mac(keyring, payload))}"


def decode_cursor(keyring: KeyRing, scope: str, cursor: str) -> Position:
    """The position a cursor of the history `scope` reads from; InvalidCursor for anything else."""
    try:
        payload_part, mac_part = cursor.split(".")
        payload, mac = _unb64(payload_part), _unb64(mac_part)
    except (ValueError, binascii.Error) as exc:
        raise InvalidCursor() from exc
    if not hmac.compare_digest(mac, _mac(keyring, payload)):
        raise InvalidCursor()
    try:
        micros, posting, way, issued_for = payload.decode().split("|", 3)
        if issued_for != scope or way not in (_OLDER, _NEWER):
            raise InvalidCursor()
        return Position(_EPOCH + int(micros) * _MICROSECOND, int(posting), newer=way == _NEWER)
    except (ValueError, OverflowError) as exc:
        raise InvalidCursor() from exc
