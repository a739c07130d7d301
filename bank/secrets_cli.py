"""`obank keys generate` and `obank keys verification-keys`: a deployment's secrets as an env file, and their rotation.

The output is what the settings read: `OBANK_ENCRYPTION_KEYS`, `OBANK_ACTIVE_ENCRYPTION_KEY_ID`,
`OBANK_INTERNAL_SIGNING_KEY` (gateways only) and `OBANK_INTERNAL_VERIFICATION_KEYS` (its public JWK Set, for
core_banking and open_banking). Values are single-quoted, as compose's `.env`, systemd's `EnvironmentFile` and
shells read them. Rotation keeps what still opens old data or verifies in-flight assertions.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from dotenv import dotenv_values
from joserfc.jwk import ECKey
from rich.console import Console

from obank.crypto import generate_key
from obank.internal_keys import new_signing_key, parse_signing_key, parse_verification_keys, public_key_set
from obank.settings import parse_key_map

errors = Console(stderr=True)
ENV_SOURCE = "env"  # `--...-from env`: the keys this process's settings hold (variables, `_FILE`s, secrets dir)
SOURCE_HELP = "an env file written by `obank keys generate`, or 'env' for the current settings"


class KeySourceError(ValueError):
    """A `--...-from` source lacks the keys to rotate, or holds malformed ones."""


@dataclass(frozen=True)
class HeldKeys:
    """The deployment's current keys, as a rotation source holds them (raw setting values)."""

    encryption_keys: str | None
    active_encryption_key_id: str | None
    signing_key: str | None
    verification_keys: str | None


def held_keys(source: str) -> HeldKeys:
    """The keys in an env file, or with 'env' in this process's settings."""
    if source == ENV_SOURCE:
        from obank.settings import get_settings

        settings = get_settings()
        return HeldKeys(
            settings.encryption_keys,
            settings.active_encryption_key_id,
            settings.internal_signing_key,
            settings.internal_verification_keys,
        )
    path = Path(source)
    if not path.is_file():
        raise KeySourceError(f"{source}: no such file (give an env file from `obank keys generate`, or 'env')")
    values = dotenv_values(path)
    return HeldKeys(
        values.get("OBANK_ENCRYPTION_KEYS"),
        values.get("OBANK_ACTIVE_ENCRYPTION_KEY_ID"),
        values.get("OBANK_INTERNAL_SIGNING_KEY"),
        values.get("OBANK_INTERNAL_VERIFICATION_KEYS"),
    )


def new_encryption_key_id(taken: set[str]) -> str:
    """A key id that says when the key was made and collides with none held."""
    while True:
        key_id = f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}"
        if key_id not in taken:
            return key_id


def rotated_encryption_keys(held: HeldKeys | None) -> dict[str, str]:
    """Every key held plus a new one, made active: data wrapped under the old ids still opens."""
    keys: dict[str, str] = {}
    if held is not None:
        if not held.encryption_keys:
            raise KeySourceError("OBANK_ENCRYPTION_KEYS is not in the source: nothing to rotate")
        try:
            parse_key_map(held.encryption_keys)
        except ValueError as exc:
            raise KeySourceError(f"OBANK_ENCRYPTION_KEYS in the source: {exc}") from None
        keys = {str(key_id): str(value) for key_id, value in json.loads(held.encryption_keys).items()}
    active = new_encryption_key_id(set(keys))
    keys[active] = base64.b64encode(generate_key()).decode()
    return {
        "OBANK_ENCRYPTION_KEYS": json.dumps(keys, separators=(",", ":")),
        "OBANK_ACTIVE_ENCRYPTION_KEY_ID": active,
    }


def _held_signing_key(held: HeldKeys) -> ECKey:
    if not held.signing_key:
        raise KeySourceError("OBANK_INTERNAL_SIGNING_KEY is not in the source")
    try:
        return parse_signing_key(held.signing_key)
    except ValueError as exc:
        raise KeySourceError(f"OBANK_INTERNAL_SIGNING_KEY in the source: {exc}") from None


def rotated_signing_key(held: HeldKeys | None) -> dict[str, str]:
    """A new signing key (new kid); the verification set keeps the public keys held, for the overlap."""
    previous: list[ECKey] = []
    if held is not None:
        if held.verification_keys:
            try:
                previous += [ECKey.import_key(key.as_dict()) for key in parse_verification_keys(held.verification_keys)]
            except ValueError as exc:
                raise KeySourceError(f"OBANK_INTERNAL_VERIFICATION_KEYS in the source: {exc}") from None
        previous.append(_held_signing_key(held))  # kept once, by kid, if already listed
    signing = new_signing_key()
    return {
        "OBANK_INTERNAL_SIGNING_KEY": json.dumps(signing.as_dict(private=True), separators=(",", ":")),
        "OBANK_INTERNAL_VERIFICATION_KEYS": json.dumps(public_key_set([*previous, signing]), separators=(",", ":")),
    }


def current_verification_keys(held: HeldKeys) -> dict[str, str]:
    """The public JWK Set of the signing key alone: what upstreams keep once the old key is retired."""
    signing = _held_signing_key(held)
    return {"OBANK_INTERNAL_VERIFICATION_KEYS": json.dumps(public_key_set([signing]), separators=(",", ":"))}


def env_file(variables: dict[str, str], comment: str) -> str:
    """`NAME='value'` lines under a comment; the values (JSON, base64url, ids) never hold a single quote."""
    lines = [f"# {line}" for line in comment.splitlines()]
    for name, value in variables.items():
        if "'" in value or "\n" in value:
            raise ValueError(f"{name} cannot be written single-quoted")
        lines.append(f"{name}='{value}'")
    return "\n".join(lines) + "\n"


def write_secret_file(path: Path, content: str, *, force: bool) -> None:
    """Write with mode 0600 from the first byte; an existing file only with `force`."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeySourceError(f"{path} exists: use --force to replace it") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)  # a replaced file keeps no wider mode it had
        handle.write(content)


def _emit(variables: dict[str, str], comment: str, output: Path | None, force: bool) -> None:
    content = env_file(variables, comment)
    if output is None:
        typer.echo(content, nl=False)
        return
    write_secret_file(output, content, force=force)
    errors.print(f"wrote {', '.join(variables)} to {output} (mode 0600)", soft_wrap=True)


def _fail(exc: KeySourceError) -> typer.Exit:
    errors.print(f"[red]{exc}[/red]", soft_wrap=True, highlight=False)
    return typer.Exit(2)


OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write this file (mode 0600) instead of printing.")
]
ForceOption = Annotated[bool, typer.Option(help="Replace an existing --output file.")]


def generate(
    output: OutputOption = None,
    force: ForceOption = False,
    encryption_keys_from: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|env",
            help=f"Rotate the encryption keys held in {SOURCE_HELP}: keep them, add a new active one.",
        ),
    ] = None,
    signing_key_from: Annotated[
        str | None,
        typer.Option(
            metavar="FILE|env",
            help=f"Rotate the signing key held in {SOURCE_HELP}: the verification keys keep its public key.",
        ),
    ] = None,
) -> None:
    """Print new production secrets as an env file: encryption keys and the internal assertion keys.

    With --encryption-keys-from or --signing-key-from, print only what that rotation changes."""
    rotating = encryption_keys_from is not None or signing_key_from is not None
    variables: dict[str, str] = {}
    try:
        if not rotating or encryption_keys_from is not None:
            variables |= rotated_encryption_keys(held_keys(encryption_keys_from) if encryption_keys_from else None)
        if not rotating or signing_key_from is not None:
            variables |= rotated_signing_key(held_keys(signing_key_from) if signing_key_from else None)
        comment = (
            f"obank secrets, {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}: keep this file secret.\n"
            "Every process: OBANK_ENCRYPTION_KEYS and OBANK_ACTIVE_ENCRYPTION_KEY_ID.\n"
            "Gateways: OBANK_INTERNAL_SIGNING_KEY. core_banking and open_banking: OBANK_INTERNAL_VERIFICATION_KEYS."
        )
        _emit(variables, comment, output, force)
    except KeySourceError as exc:
        raise _fail(exc) from None


def verification_keys(
    source: Annotated[str, typer.Option("--from", metavar="FILE|env", help=f"The signing key held in {SOURCE_HELP}.")],
    output: OutputOption = None,
    force: ForceOption = False,
) -> None:
    """Print OBANK_INTERNAL_VERIFICATION_KEYS holding only the current signing key's public key (ends an overlap)."""
    try:
        _emit(current_verification_keys(held_keys(source)), "obank internal verification keys (public)", output, force)
    except KeySourceError as exc:
        raise _fail(exc) from None
