"""Where an obank installation keeps its data: OBANK_HOME, beside the user or the checkout, never in the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

import platformdirs

APP_NAME = "obank"


def is_obank_checkout(directory: Path) -> bool:
    """A source checkout of obank: its pyproject.toml names the project "obank"."""
    try:
        project = tomllib.loads((directory / "pyproject.toml").read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(project, dict) and project.get("name") == APP_NAME


def default_home(cwd: Path | None = None) -> Path:
    """The checkout when run from one (var/ and certs/ beside the code, as the quickstart expects), else the
    per-user data directory (XDG_DATA_HOME on Linux), so an installed package never writes inside itself."""
    directory = Path.cwd() if cwd is None else cwd
    if is_obank_checkout(directory):
        return directory.absolute()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def data_location(home: Path, data_dir: Path, certs_dir: Path, *, embedded_database: bool) -> str:
    """One line telling the operator where this process keeps its data."""
    database = f", database {data_dir / 'pgdata'}" if embedded_database else ""
    return f"data: home {home} (files {data_dir}{database}, certificates {certs_dir})"
