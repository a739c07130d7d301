"""OBANK_HOME: data beside the checkout when run from one, else in the user's data directory, never in the package."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from obank.home import data_location, default_home, is_obank_checkout
from obank.settings import PROJECT_ROOT, Settings


@pytest.fixture(autouse=True)
def no_obank_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: none of the caller's OBANK_* variables."""
    for name in [name for name in os.environ if name.upper().startswith("OBANK_")]:
        monkeypatch.delenv(name)


def test_outside_a_checkout_data_lives_in_the_users_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pyproject.toml").write_text('[project]\nname = "not-obank"\n')  # another project's checkout
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "user" / "data"))

    settings = Settings()

    assert settings.home == tmp_path / "user" / "data" / "obank"
    assert settings.data_dir == settings.home / "var"
    assert settings.certs_dir == settings.home / "certs"
    assert not settings.data_dir.is_relative_to(PROJECT_ROOT)


def test_obank_home_places_every_path_under_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OBANK_HOME", str(tmp_path / "obank-home"))

    settings = Settings()

    assert (settings.home, settings.data_dir, settings.certs_dir) == (
        tmp_path / "obank-home",
        tmp_path / "obank-home" / "var",
        tmp_path / "obank-home" / "certs",
    )


def test_data_and_certificate_directories_still_override_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBANK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OBANK_DATA_DIR", str(tmp_path / "data"))

    settings = Settings()

    assert settings.data_dir == tmp_path / "data"
    assert settings.certs_dir == tmp_path / "home" / "certs"


def test_from_a_checkout_data_lives_in_its_var_and_certs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checkout = tmp_path / "obank"
    checkout.mkdir()
    (checkout / "pyproject.toml").write_text('[project]\nname = "obank"\nversion = "0"\n')
    monkeypatch.chdir(checkout)

    settings = Settings()

    assert is_obank_checkout(PROJECT_ROOT)
    assert (settings.home, settings.data_dir, settings.certs_dir) == (checkout, checkout / "var", checkout / "certs")


def test_a_relative_or_tilde_home_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("OBANK_HOME", "~/bank")

    assert Settings().data_dir == tmp_path / "bank" / "var"


def test_a_broken_pyproject_is_not_a_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[project\nname = obank")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))

    assert default_home(tmp_path) == tmp_path / "data" / "obank"


def test_the_serve_line_names_home_database_and_certificates(tmp_path: Path) -> None:
    line = data_location(tmp_path, tmp_path / "var", tmp_path / "certs", embedded_database=True)

    assert line == (
        f"data: home {tmp_path} (files {tmp_path}/var, database {tmp_path}/var/pgdata, certificates {tmp_path}/certs)"
    )
    assert "database" not in data_location(tmp_path, tmp_path / "var", tmp_path / "certs", embedded_database=False)
