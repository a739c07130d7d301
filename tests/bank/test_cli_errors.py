"""Every `obank` failure an operator can cause is one line (exit 2 for settings, 1 otherwise), never a traceback
or a secret; a bug keeps its traceback only when debugging."""

from __future__ import annotations

import errno
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import sqlalchemy

from bank import cli
from bank.cli_errors import operational_problem
from obank.settings import PROJECT_ROOT, get_settings
from tests.services import free_port

OBANK = Path(sys.executable).parent / "obank"  # the console script, as an operator runs it
SECRET = "pw-Zq81xV"


def _obank(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if not name.upper().startswith("OBANK_")}
    # PYTHONPATH: this checkout's packages, whatever the virtualenv's install predates.
    environment |= {"OBANK_HOME": str(tmp_path / "home"), "PYTHONPATH": str(PROJECT_ROOT), "COLUMNS": "80", **env}
    return subprocess.run(
        [str(OBANK), *args], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=60
    )


def test_bad_settings_are_one_line_each_naming_the_variable_and_exit_2(tmp_path: Path) -> None:
    malformed_key = '{"kty": "EC", "crv": "P-256", "d": "' + SECRET + '"}'

    result = _obank(
        tmp_path, "migrate", OBANK_ENV="prod", OBANK_LOG_LEVEL="verbose", OBANK_INTERNAL_SIGNING_KEY=malformed_key
    )

    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "OBANK_ENV: Input should be 'development', 'test' or 'production' (got 'prod')",
        "OBANK_INTERNAL_SIGNING_KEY: the internal signing key is not a valid EC P-256 JWK",
        "OBANK_LOG_LEVEL: unknown log level; use one of CRITICAL, ERROR, WARNING, INFO, DEBUG (got 'verbose')",
    ]
    assert SECRET not in result.stdout + result.stderr


def test_an_unreachable_database_is_one_line_naming_its_host_not_its_credentials(tmp_path: Path) -> None:
    port = free_port()  # nobody listens there

    result = _obank(
        tmp_path,
        "serve",
        "--port",
        "0",
        OBANK_DATABASE_URL=f"postgresql+psycopg://obank:{SECRET}@127.0.0.1:{port}/obank",
    )

    lines = result.stderr.splitlines()
    assert result.returncode == 1, result.stderr
    home = tmp_path / "home"
    # `obank serve` says where it keeps data before anything else can fail.
    assert f"data: home {home} (files {home}/var, certificates {home}/certs)" in lines
    assert lines[-1].startswith(f"database unavailable (127.0.0.1:{port}): connection failed"), lines
    assert "Traceback" not in result.stderr and SECRET not in result.stderr


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    result = _obank(tmp_path, "--version")

    assert (result.returncode, result.stdout) == (0, f"obank {importlib.metadata.version('obank')}\n")


def _main(monkeypatch: pytest.MonkeyPatch, failure: BaseException) -> None:
    def failing_app() -> None:
        raise failure

    monkeypatch.setattr(cli, "app", failing_app)
    cli.main()


def test_a_bug_is_one_line_and_a_hint_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OBANK_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        _main(monkeypatch, ZeroDivisionError("division by zero\nsecond line"))

    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        "unexpected error: ZeroDivisionError: division by zero",
        "run with OBANK_DEBUG=1 for details",
    ]
    monkeypatch.setenv("OBANK_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        _main(monkeypatch, ZeroDivisionError("division by zero"))


@pytest.mark.parametrize(
    ("failure", "line"),
    [
        (FileNotFoundError(errno.ENOENT, "No such file or directory", "/etc/obank/key.json"), None),
        (OSError(errno.EADDRINUSE, "Address already in use"), "address already in use: Address already in use"),
        (PermissionError(errno.EACCES, "Permission denied", "/var/lib/obank"), "Permission denied: /var/lib/obank"),
    ],
)
def test_expected_failures_are_one_line_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], failure: OSError, line: str | None
) -> None:
    monkeypatch.delenv("OBANK_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited:
        _main(monkeypatch, failure)

    assert exited.value.code == 1
    assert capsys.readouterr().err.splitlines() == [line or "No such file or directory: /etc/obank/key.json"]


def test_a_refused_database_connection_reads_as_the_driver_says_without_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    url = f"postgresql+psycopg://obank:{SECRET}@127.0.0.1:{port}/obank"
    monkeypatch.setenv("OBANK_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        with pytest.raises(sqlalchemy.exc.OperationalError) as refused:
            sqlalchemy.create_engine(url).connect()
        with pytest.raises(psycopg.OperationalError) as direct:
            psycopg.connect(f"postgresql://obank:{SECRET}@127.0.0.1:{port}/obank", connect_timeout=5)
        through_sqlalchemy = operational_problem(refused.value)
        from_the_driver = operational_problem(direct.value)
    finally:
        get_settings.cache_clear()

    assert through_sqlalchemy is not None and from_the_driver is not None
    assert through_sqlalchemy.startswith(f"database unavailable (127.0.0.1:{port}): connection failed")
    assert from_the_driver == through_sqlalchemy
    assert SECRET not in through_sqlalchemy
