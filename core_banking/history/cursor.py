"""Opaque pagination cursors: a position in one account's history, signed so clients cannot forge them."""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
from datetime import UTC, datetime, timedelta

from core_banking.history.errors import InvalidCursor
from obank.crypto import KeyRing

CURSOR_PURPOSE = "core-banking-history-cursor"
_MAC_BYTES = 16
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(keyring: KeyRing, payload: bytes) -> bytes:
    return keyring.keyed_hash(CURSOR_PURPOSE, payload)[:_MAC_BYTES]


def encode_cursor(keyring: KeyRing, account_id: uuid.UUID, booked_at: datetime, posting_id: int) -> str:
    """The cursor continuing after the posting (`booked_at`, `posting_id`) of `account_id`."""
    payload = f"{account_id}|{(booked_at - _EPOCH) // _MICROSECOND}|{posting_id}".encode()
    return f"{_b64(payload)}.{_b64(_mac(keyring, payload))}"


def decode_cursor(keyring: KeyRing, account_id: uuid.UUID, cursor: str) -> tuple[datetime, int]:
    """The (booked_at, posting id) a cursor of `account_id` points after; InvalidCursor otherwise."""
    try:
        payload_part, mac_part = cursor.split(".")
        payload, mac = _unb64(payload_part), _unb64(mac_part)
    except (ValueError, binascii.Error) as exc:
        raise InvalidCursor() from exc
    if not hmac.compare_digest(mac, _mac(keyring, payload)):
        raise InvalidCursor()
    try:
        account, micros, posting = payload.decode().split("|")
        if uuid.UUID(account) != account_id:
            raise InvalidCursor()
        return _EPOCH + int(micros) * _MICROSECOND, int(posting)
    except (ValueError, OverflowError) as exc:
        raise InvalidCursor() from exc
