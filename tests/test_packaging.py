"""Every top-level package of the repository is in the installed distribution (not only importable from a checkout)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from obank.settings import PROJECT_ROOT

NOT_SHIPPED = {"tests", "bench"}


def test_every_top_level_package_is_listed_for_installation() -> None:
    listed = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    included = {pattern.rstrip("*") for pattern in listed["include"]}
    packages = {path.parent.name for path in Path(PROJECT_ROOT).glob("*/__init__.py")} - NOT_SHIPPED
    assert packages <= included, f"not installed by `pip install .`: {sorted(packages - included)}"
