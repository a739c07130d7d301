"""Logs are JSON lines with the correlation id; secrets and personal data never reach them."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from fastapi import FastAPI

from obank.correlation import HEADER, CorrelationMiddleware
from obank.log import configure_logging, get_logger


def _lines(captured: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_sensitive_values_are_redacted_at_any_depth(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    get_logger("t").info(
        "login",
        password="hunter2",
        otp="123456",
        access_token="eyJabc",
        username="alice@example.com",
        request={"headers": {"authorization": "Bearer eyJabc"}, "client_secret": "s3cr3t"},
        ip_address="10.1.2.3",
        totp_secret="JBSWY3DPEHPK3PXP",
        status=200,
    )
    output = capsys.readouterr().err
    for secret in ("hunter2", "123456", "eyJabc", "alice@example.com", "s3cr3t", "10.1.2.3", "JBSWY3DP"):
        assert secret not in output
    (line,) = _lines(output)
    assert line["status"] == 200 and line["event"] == "login"


def _app() -> CorrelationMiddleware:
    api = FastAPI()
    log = get_logger("t")

    @api.get("/ok")
    async def ok() -> dict[str, str]:
        log.info("handled")
        return {"ok": "yes"}

    @api.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom with secret details")

    return CorrelationMiddleware(api)


async def test_valid_interaction_id_is_echoed_and_bound_to_logs(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    incoming = str(uuid.uuid4())
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/ok", headers={HEADER: incoming})
    assert response.headers[HEADER] == incoming
    lines = [line for line in _lines(capsys.readouterr().err) if line["event"] in {"handled", "request"}]
    assert {line["event"] for line in lines} == {"handled", "request"}
    assert all(line["correlation_id"] == incoming for line in lines)


@pytest.mark.parametrize("bad", ["not-a-uuid", "x" * 300, "1234\r\nInjected: yes", ""])
async def test_invalid_interaction_id_is_replaced(bad: str) -> None:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        headers = {HEADER: bad} if bad and "\n" not in bad else {}
        response = await client.get("/ok", headers=headers)
    echoed = response.headers[HEADER]
    assert echoed != bad
    assert str(uuid.UUID(echoed)) == echoed


async def test_a_crash_answers_500_with_the_id_and_no_details(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert uuid.UUID(response.headers[HEADER])
    assert "kaboom" not in response.text
    failure = [line for line in _lines(capsys.readouterr().err) if line["event"] == "request_failed"]
    assert failure and failure[0]["correlation_id"] == response.headers[HEADER]
