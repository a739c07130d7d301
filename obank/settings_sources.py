"""Settings read from files (`OBANK_<NAME>_FILE`, `OBANK_SECRETS_DIR`) and bad settings told one line each.

Docker and Kubernetes hand secrets over as files; a variable holding a path keeps the key out of the process
environment (and out of `docker inspect`). Errors name the variable and what is wrong, never a secret's value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource, SecretsSettingsSource
from pydantic_settings.exceptions import SettingsError
from pydantic_settings.sources import PydanticBaseEnvSettingsSource

if TYPE_CHECKING:
    from pydantic_settings import BaseSettings

FILE_SUFFIX = "_FILE"
SECRETS_DIR_VARIABLE = "OBANK_SECRETS_DIR"
_FIELD_IN_SETTINGS_ERROR = re.compile(r'for field "(?P<field>[^"]+)"')


class SettingsFileError(ValueError):
    """One or more settings could not be read from their files; one problem per line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def _environment(case_sensitive: bool) -> dict[str, str]:
    return dict(os.environ) if case_sensitive else {name.lower(): value for name, value in os.environ.items()}


def _read_setting_file(path: Path) -> str:
    """The file's content with its trailing newline stripped (what `echo key > file` leaves)."""
    return path.read_text(encoding="utf-8").rstrip("\r\n")


class FileVariablesSource(PydanticBaseEnvSettingsSource):
    """`OBANK_<NAME>_FILE=/path` for any setting `OBANK_<NAME>`: the value is the file's content.

    Setting both the variable and its `_FILE` is an error (which one wins would be a guess).
    """

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._environ = _environment(self.case_sensitive)
        self._problems: list[str] = []

    def _variable(self, field_name: str) -> str:
        return f"{self.env_prefix}{field_name}".upper()

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        names = self.settings_cls.model_fields
        if f"{field_name}_file" in names:  # `X_FILE` is itself a setting (a path): not a file variable of X
            return None, field_name, False
        variable = self._variable(field_name)
        path = self._environ.get(self._apply_case_sensitive(variable + FILE_SUFFIX))
        if path is None:
            return None, field_name, False
        if self._apply_case_sensitive(variable) in self._environ:
            self._problems.append(f"{variable} and {variable}{FILE_SUFFIX} are both set: set only one")
            return None, field_name, False
        try:
            value = _read_setting_file(Path(path))
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a UTF-8 text file"
            self._problems.append(f"{variable}{FILE_SUFFIX}: cannot read {path}: {reason}")
            return None, field_name, False
        return value, field_name, self.field_is_complex(field)

    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        if self._problems:
            raise SettingsFileError(self._problems)
        return values

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}()"


def secrets_directory_source(settings_cls: type[BaseSettings]) -> PydanticBaseSettingsSource | None:
    """Files named like the variables (`OBANK_ENCRYPTION_KEYS`, any case) in `OBANK_SECRETS_DIR`, if it is set."""
    directory = os.environ.get(SECRETS_DIR_VARIABLE)
    if not directory:
        return None
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise SettingsFileError([f"{SECRETS_DIR_VARIABLE}: {directory} is not a directory"])
    return SecretsSettingsSource(settings_cls, secrets_dir=path)


def _variable_of(env_prefix: str, location: tuple[int | str, ...]) -> str | None:
    if not location or not isinstance(location[0], str):
        return None
    return f"{env_prefix}{location[0]}".upper()


def settings_error_lines(exc: Exception, fields: Mapping[str, FieldInfo], env_prefix: str) -> list[str]:
    """One line per bad setting: the variable and what is wrong; a secret's value (repr=False) is never shown."""
    if isinstance(exc, SettingsFileError):
        return list(exc.problems)
    if isinstance(exc, ValidationError):
        lines: list[str] = []
        for error in exc.errors(include_url=False):
            if error.get("type") == "default_factory_not_called":  # a consequence of another line's error
                continue
            location = tuple(error.get("loc", ()))
            variable = _variable_of(env_prefix, location)
            message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
            if variable is None:
                lines.append(message)
                continue
            field = fields.get(str(location[0]))
            secret = field is None or not field.repr
            given = error.get("input")
            if not secret and isinstance(given, str) and len(given) <= 80 and len(location) == 1:
                message = f"{message} (got {given!r})"
            lines.append(f"{variable}: {message}")
        return lines
    if isinstance(exc, SettingsError):
        found = _FIELD_IN_SETTINGS_ERROR.search(str(exc))
        variable = f"{env_prefix}{found['field']}".upper() if found else "a setting"
        if "error parsing value" in str(exc):
            return [f"{variable}: not valid JSON (this setting takes a JSON value)"]
        return [f"{variable}: cannot be read ({type(exc.__cause__ or exc).__name__})"]
    return [str(exc)]
