"""OBErrorResponse1 as the gateway and open_banking write it: v4.0 codes, the v3 name in the message, bounded."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from obank.ob_errors import (
    OBError,
    OBErrorCode,
    OBErrorResponse1,
    code_for_status,
    ob_error_body,
    status_code_text,
)


def test_an_error_carries_its_v4_code_and_starts_its_message_with_the_v3_name() -> None:
    body = ob_error_body(400, [OBError(OBErrorCode.FIELD_MISSING, "Field required", "Data.Permissions")], "id-1")

    assert body == {
        "Id": "id-1",
        "Code": "400 BadRequest",
        "Message": "The request is invalid.",
        "Errors": [
            {"ErrorCode": "U004", "Message": "UK.OBIE.Field.Missing - Field required", "Path": "Data.Permissions"}
        ],
    }
    OBErrorResponse1.model_validate(body)


def test_iso_codes_keep_their_message_and_empty_fields_are_left_out() -> None:
    [error] = ob_error_body(403, [OBError(OBErrorCode.TRANSACTION_FORBIDDEN, "forbidden")], "id")["Errors"]
    assert error == {"ErrorCode": "AG01", "Message": "forbidden"}


def test_lengths_stay_within_the_schema() -> None:
    body = ob_error_body(500, [OBError(OBErrorCode.UNEXPECTED_ERROR, "x" * 2_000, "p" * 900)], "i" * 64)
    assert len(body["Id"]) == 40
    assert len(body["Errors"][0]["Message"]) == 500 and body["Errors"][0]["Message"].endswith("...")
    assert len(body["Errors"][0]["Path"]) == 500
    OBErrorResponse1.model_validate(body)


def test_every_code_is_four_characters_and_a_response_names_one_error_at_least() -> None:
    assert all(len(code.value) == 4 for code in OBErrorCode)
    with pytest.raises(ValueError, match="at least one"):
        ob_error_body(400, [], "id")
    with pytest.raises(ValidationError):
        OBErrorResponse1(Errors=[])
    assert status_code_text(415) == "415 UnsupportedMediaType"
    assert status_code_text(418) == "418 Error"


def test_an_error_known_only_by_its_status_gets_the_profiles_code() -> None:
    assert [code_for_status(status) for status in (400, 403, 404, 405, 409, 413, 500, 502, 504)] == [
        OBErrorCode.FIELD_INVALID,
        OBErrorCode.TRANSACTION_FORBIDDEN,
        OBErrorCode.RESOURCE_NOT_FOUND,
        OBErrorCode.NARRATIVE,
        OBErrorCode.RESOURCE_ALREADY_EXISTS,
        OBErrorCode.NARRATIVE,
        OBErrorCode.UNEXPECTED_ERROR,
        OBErrorCode.UNEXPECTED_ERROR,
        OBErrorCode.UNEXPECTED_ERROR,
    ]
