"""Logs are JSON lines (or readable on a terminal) with the logger, the role, the correlation and trace ids; secrets
and personal data never reach them."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from obank.correlation import HEADER, CorrelationMiddleware, bind_correlation_id
from obank.database import SessionDep
from obank.embedded_db import QUIET_LOG_SETTINGS
from obank.log import configure_logging, get_logger
from obank.runtime import Platform

CRASH_MESSAGE = "kaboom with secret details"


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
        raise RuntimeError(CRASH_MESSAGE)

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
    output = capsys.readouterr().err
    failure = [line for line in _lines(output) if line["event"] == "request_failed"]
    assert failure and failure[0]["correlation_id"] == response.headers[HEADER]
    assert "RuntimeError" in str(failure[0]["exception"])
    assert CRASH_MESSAGE not in output  # an exception's message may quote a value: only its class is logged


@dataclass(frozen=True)
class Refusal:
    """A statement PostgreSQL refuses for the value a request sent, with the SQLSTATE it answers."""

    statement: str
    value: str  # "{marker}" stands for the recognisable value
    sqlstate: str


REFUSALS = {
    # DETAIL:  Key (consumer, event_id)=(<marker>, ...) already exists.
    "unique_violation": Refusal(
        "INSERT INTO platform.consumed_events (consumer, event_id) VALUES (:value, :id)", "{marker}", "23505"
    ),
    # ERROR:  invalid input syntax for type uuid: "<marker>"
    "invalid_input": Refusal("SELECT CAST(:value AS uuid), CAST(:id AS uuid)", "{marker}", "22P02"),
    # DETAIL:  \u0000 cannot be converted to text.  CONTEXT:  JSON data, line 1: {"note": "<marker> \u0000...
    "nul_in_json": Refusal(
        "SELECT CAST(:value AS jsonb) ->> 'note', CAST(:id AS uuid)", '{{"note": "{marker} \\u0000"}}', "22P05"
    ),
}


def _app_over(platform: Platform, statement: str) -> CorrelationMiddleware:
    api = FastAPI()
    api.state.sessions = platform.sessions

    @api.post("/values")
    async def store(body: dict[str, str], session: SessionDep) -> None:
        parameters = {"value": body["value"], "id": uuid.uuid4()}
        await session.execute(text(statement), parameters)
        await session.execute(text(statement), parameters)

    return CorrelationMiddleware(api)


def _server_log(admin_url: str) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        row = conn.execute("SELECT current_setting('data_directory')").fetchone()
        settings: dict[str, str] = dict(conn.execute("SELECT name, setting FROM pg_settings").fetchall())
    assert row is not None
    assert {name: settings[name] for name in QUIET_LOG_SETTINGS} == QUIET_LOG_SETTINGS
    return (Path(row[0]) / "log").read_text(errors="replace")


@pytest.mark.parametrize("failure", sorted(REFUSALS))
async def test_a_refused_value_reaches_neither_our_log_nor_the_servers(
    failure: str, platform: Platform, postgres_admin_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO")
    refusal = REFUSALS[failure]
    marker = f"marker-{uuid.uuid4().hex}"
    transport = httpx.ASGITransport(app=_app_over(platform, refusal.statement), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/values", json={"value": refusal.value.format(marker=marker)})

    assert response.status_code == 500
    assert marker not in response.text
    output = capsys.readouterr().err
    (logged,) = [line for line in _lines(output) if line["event"] == "request_failed"]
    assert f"sqlstate={refusal.sqlstate}" in str(logged["exception"])  # the class and SQLSTATE say what failed
    assert marker not in output
    assert "[SQL:" not in output  # nor SQLAlchemy's rendering of the statement
    server_log = _server_log(postgres_admin_url)
    assert "database system is ready to accept connections" in server_log  # the server's log file, as written
    assert marker not in server_log


async def test_database_errors_leave_bound_values_out_of_their_text(platform: Platform) -> None:
    with pytest.raises(DBAPIError) as raised:
        async with platform.engine.connect() as connection:
            await connection.execute(text("SELECT CAST(:value AS uuid)"), {"value": "not-a-uuid"})
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(raised.value)


def test_stdlib_loggers_and_asyncio_log_exceptions_without_their_messages(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    marker = f"marker-{uuid.uuid4().hex}"
    try:
        raise KeyError(marker)
    except KeyError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")

    async def fails() -> None:
        raise ValueError(marker)

    async def forget_a_failed_task() -> None:
        task = asyncio.ensure_future(fails())
        await asyncio.sleep(0)
        del task
        gc.collect()  # asyncio logs "Task exception was never retrieved" with the exception's repr

    asyncio.run(forget_a_failed_task())
    output = capsys.readouterr().err
    events = {str(line["event"]).split("\n")[0]: line for line in _lines(output)}
    assert "KeyError" in str(events["Exception in ASGI application"]["exception"])
    assert "ValueError" in str(events["Task exception was never retrieved"]["exception"])
    assert marker not in output


async def test_the_development_mail_sink_never_logs_recipients(capsys: pytest.CaptureFixture[str]) -> None:
    """aiosmtpd logs every SMTP command at INFO (`RCPT TO:<address>`): its logger is held at WARNING."""
    import aiosmtplib
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    configure_logging("INFO")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await aiosmtplib.send(
            "From: bank@example.test\r\nTo: someone.private@example.test\r\nSubject: hi\r\n\r\nhello\r\n",
            sender="bank@example.test",
            recipients=["someone.private@example.test"],
            hostname="127.0.0.1",
            port=port,
        )
    finally:
        controller.stop()
    assert "someone.private" not in capsys.readouterr().err


def test_every_line_names_its_logger_and_the_process_role(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", role="worker", log_format="json")
    get_logger("obank.outbox.relay").info("ours")
    logging.getLogger("uvicorn.error").warning("theirs")

    lines = {line["event"]: line for line in _lines(capsys.readouterr().err)}

    assert (lines["ours"]["logger"], lines["ours"]["role"]) == ("obank.outbox.relay", "worker")
    assert (lines["theirs"]["logger"], lines["theirs"]["role"]) == ("uvicorn.error", "worker")


def test_lines_carry_the_trace_and_span_ids_of_the_active_span(capsys: pytest.CaptureFixture[str]) -> None:
    from opentelemetry.sdk.trace import TracerProvider

    configure_logging("INFO", log_format="json")
    log = get_logger("t")
    bind_correlation_id(correlation := str(uuid.uuid4()))
    with TracerProvider().get_tracer("t").start_as_current_span("work") as span:
        log.info("inside")
    log.info("outside")

    lines = {line["event"]: line for line in _lines(capsys.readouterr().err)}
    context = span.get_span_context()
    assert lines["inside"]["trace_id"] == format(context.trace_id, "032x")
    assert lines["inside"]["span_id"] == format(context.span_id, "016x")
    assert lines["inside"]["correlation_id"] == lines["outside"]["correlation_id"] == correlation
    assert "trace_id" not in lines["outside"] and "span_id" not in lines["outside"]


def test_library_chatter_is_held_at_warning(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", log_format="json")
    logging.getLogger("alembic.runtime.migration").info("Context impl PostgresqlImpl.")
    logging.getLogger("alembic.runtime.plugins").info("setup plugin alembic.autogenerate.schemas")
    logging.getLogger("uvicorn.error").info("Started server process [1]")
    logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group")
    logging.getLogger("httpx").info("HTTP Request: GET https://example.test/?code=abc")
    logging.getLogger("aiokafka.conn").warning("Unable to connect")

    events = [line["event"] for line in _lines(capsys.readouterr().err)]

    assert events == ["Unable to connect"]


@pytest.fixture
def json_afterwards() -> Iterator[None]:
    """Put JSON lines back after a test that renders for the console: later tests read JSON."""
    yield
    configure_logging("INFO", log_format="json")


@pytest.mark.usefixtures("json_afterwards")
def test_the_console_renderer_reads_well_and_stays_as_strict(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    configure_logging("INFO", role="gateway", log_format="console")
    marker = f"marker-{uuid.uuid4().hex}"
    log = get_logger("obank.console")
    log.info("signed_in", password=marker, status=200)
    try:
        raise ValueError(marker)
    except ValueError:
        log.exception("handler_failed")

    output = capsys.readouterr().err
    assert not output.lstrip().startswith("{")
    assert "\x1b[" not in output  # NO_COLOR: no escape sequences
    first = output.splitlines()[0]
    assert "signed_in" in first and "[obank.console]" in first and "role=gateway" in first and "status=200" in first
    assert "ValueError" in output and "Traceback (most recent call last)" in output
    assert marker not in output


def test_auto_writes_json_lines_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", log_format="auto")
    get_logger("t").info("piped")

    assert [line["event"] for line in _lines(capsys.readouterr().err)] == ["piped"]


@pytest.mark.usefixtures("json_afterwards")
def test_the_log_format_setting_is_read_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("OBANK_LOG_FORMAT", "console")
    configure_logging("INFO")
    get_logger("t").info("readable")

    output = capsys.readouterr().err
    assert "readable" in output and not _lines(output)
