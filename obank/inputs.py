"""What a request may carry at all, checked at each app's edge: no control characters, dates within reach.

PostgreSQL refuses NUL in text (a 500 if it gets that far), and other C0 characters forge log lines and
confuse people reading values back. Each app installs `refuse_control_characters` as a dependency of every
route, so the refusal is a `RequestValidationError` that the app's own handler writes in its family's format
(RFC 6749 `invalid_request`, a form error page, RFC 9457 problem details).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

# Months are written 19xx or 20xx everywhere (`core_banking.ledger.periods`); days and instants likewise, so
# that a day's end, a month's end or a time zone shift never leaves the calendar (year 9999 overflows).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2099, 12, 31)

_FORBIDDEN_MESSAGE = "control characters are not allowed"
# C0 controls in a path or query string: raw, or percent-encoded.
_C0_RAW = re.compile(rb"[\x00-\x1f]")
_C0_PERCENT = re.compile(rb"%(?:0[0-9a-fA-F]|1[0-9a-fA-F])")
# In a body, a field may hold TAB, LF and CR (a multi-line message); the other C0 controls never.
_C0_IN_FIELD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_C0_RAW_BODY = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A JSON escape of a forbidden control, not itself escaped (an even run of backslashes before it).
_C0_JSON_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F])")
_FORM = "application/x-www-form-urlencoded"


# Errors of pydantic's own date kinds (`date_...`, `timezone_aware`), so every API family reports them as the
# date errors they are (Open Banking: UK.OBIE.Field.InvalidDate), not as generic value errors.
def _within_calendar(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        bounds = {"earliest": EARLIEST_DATE.isoformat(), "latest": LATEST_DATE.isoformat()}
        raise PydanticCustomError("date_out_of_range", "dates run from {earliest} to {latest}", bounds)
    return value


def _aware_within_calendar(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PydanticCustomError("timezone_aware", "a time zone is required")
    _within_calendar(value.date())  # its own date: converting a far one first would overflow
    return value


BoundedDate = Annotated[date, AfterValidator(_within_calendar)]
BoundedDateTime = Annotated[datetime, AfterValidator(_aware_within_calendar)]


def _in_target(path: str, query: bytes) -> str | None:
    if _C0_RAW.search(path.encode("utf-8", "surrogateescape")):
        return "path"
    if _C0_RAW.search(query) or _C0_PERCENT.search(query):
        return "query"
    return None


def _in_json(body: bytes) -> bool:
    # Raw controls inside JSON strings are invalid JSON already; escaped ones decode to controls.
    return bool(_C0_RAW_BODY.search(body) or (b"\\u00" in body and _C0_JSON_ESCAPE.search(body)))


def _field_of(body: bytes) -> tuple[str | int, ...]:
    """Where in a JSON body the first forbidden control is (`("body", "Data", "Reference")`), or the body."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return ("body",)
    pending: list[tuple[tuple[str | int, ...], Any]] = [(("body",), document)]
    while pending:
        location, value = pending.pop(0)
        if isinstance(value, str) and _C0_IN_FIELD.search(value):
            return location
        if isinstance(value, dict):
            for name, item in value.items():
                if _C0_IN_FIELD.search(name):
                    return location
                pending.append(((*location, name), item))
        elif isinstance(value, list):
            pending.extend(((*location, index), item) for index, item in enumerate(value))
    return ("body",)


async def _form_fields(request: Request) -> list[tuple[str, str]]:
    """The form's decoded fields, leaving the body readable for the route whichever way it reads it."""
    try:
        body = await request.body()  # kept on the request: the route's own parsing reads it again
    except RuntimeError:  # the route's Form() parameters were parsed first: their form is kept instead
        return [(name, value) for name, value in (await request.form()).multi_items() if isinstance(value, str)]
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return []  # not a form at all: the route refuses it in its own words


async def refuse_control_characters(request: Request) -> None:
    """A route dependency: refuse requests whose path, query or body carries a control character."""
    where = _in_target(request.scope["path"], request.scope.get("query_string", b""))
    location: tuple[str | int, ...] = (where,) if where else ()
    if where is None and request.method not in ("GET", "HEAD", "OPTIONS"):
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if media_type == _FORM:
            if any(
                _C0_IN_FIELD.search(name) or _C0_IN_FIELD.search(value) for name, value in await _form_fields(request)
            ):
                location = ("body",)
        elif media_type == "application/json" or media_type.endswith("+json"):
            body = await request.body()
            if _in_json(body):
                location = _field_of(body)  # the field named, so the refusal says which
    if location:
        error: dict[str, Any] = {"loc": location, "msg": _FORBIDDEN_MESSAGE, "type": "value_error"}
        raise RequestValidationError([error])
