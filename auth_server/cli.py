"""`obank users ...`: operators manage login identities (create, reset password, unlock, disable)."""

from __future__ import annotations

import asyncio
import getpass
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console

from auth_server.errors import AuthError
from auth_server.identities.schemas import IdentityKind, IdentityRecord, NewIdentity, normalise_username
from obank.roles import StaffRole

if TYPE_CHECKING:
    from obank.actor import Actor
    from obank.runtime import Platform
    from obank.unit_of_work import UnitOfWork

app = typer.Typer(help="Login identities of customers and staff.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True)
T = TypeVar("T")

UsernameArgument = Annotated[str, typer.Argument(help="The login's username (case-insensitive).")]
KindOption = Annotated[IdentityKind, typer.Option("--kind", help="Customer or staff login.")]
PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input instead of prompting.")
]


@app.callback()
def users() -> None:
    """Login identities of customers and staff."""


def _operator() -> Actor:
    """The audited actor: an operator at the machine (named by their OS account), not a staff login."""
    from obank.actor import Actor, ActorKind

    return Actor(ActorKind.SYSTEM, f"obank users ({getpass.getuser()})")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


def _run(work: Callable[[UnitOfWork, Platform], Awaitable[T]]) -> T:
    """Run `work(uow, platform)` in one unit of work acting as the operator; a refusal exits 1 with its message."""
    from audit.trail import platform_units
    from obank.log import configure_logging
    from obank.runtime import build_platform
    from obank.settings import get_settings

    settings = get_settings()
    configure_logging(settings.log_level)

    async def main() -> T:
        platform = build_platform(settings)
        try:
            async with platform_units(platform).begin(_operator()) as uow:
                return await work(uow, platform)
        finally:
            await platform.close()

    try:
        return asyncio.run(main())
    except AuthError as refused:
        errors.print(f"[red]{refused.detail}[/red]")
        raise typer.Exit(1) from refused


async def _find(uow: UnitOfWork, kind: IdentityKind, username: str) -> IdentityRecord:
    from auth_server.identities import service
    from auth_server.identities.errors import IdentityNotFound

    identity = await service.find_identity(uow, kind, username)
    if identity is None:
        raise IdentityNotFound(f"There is no {kind.value} login named {username!r}.")
    return identity


@app.command()
def create(
    username: UsernameArgument,
    kind: KindOption,
    customer_id: Annotated[uuid.UUID | None, typer.Option(help="Core banking's customer id (customer logins).")] = None,
    role: Annotated[list[StaffRole] | None, typer.Option(help="A staff role; repeat for several.")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a customer login (linked to a customer id) or a staff login (with roles)."""
    new = NewIdentity(
        kind=kind,
        username=username,
        password=_password(password_stdin),
        customer_id=customer_id,
        roles=frozenset(role or ()),
    )

    async def work(uow: UnitOfWork, platform: Platform) -> IdentityRecord:
        from auth_server.identities import service
        from auth_server.identities.errors import InvalidIdentity
        from core_banking.facade import InProcessCoreBanking

        # Core banking's facade in this process, on the platform this command already holds.
        core_banking = InProcessCoreBanking(platform.sessions, platform.keyring)
        if customer_id is not None and not await core_banking.customer_exists(customer_id):
            raise InvalidIdentity(f"No customer has the id {customer_id}; a customer login needs an existing customer.")
        return await service.create_identity(uow, new)

    created = _run(work)
    console.print(f"Created {created.kind.value} login {normalise_username(username)} ({created.id}).")


@app.command("reset-password")
def reset_password(username: UsernameArgument, kind: KindOption, password_stdin: PasswordStdin = False) -> None:
    """Set a new password; every session of the login ends."""
    password = _password(password_stdin)

    async def work(uow: UnitOfWork, platform: Platform) -> IdentityRecord:
        from auth_server.identities import service

        identity = await _find(uow, kind, username)
        return await service.reset_password(uow, identity.id, password, revocations=platform.revocations)

    identity = _run(work)
    console.print(f"Password of {identity.kind.value} login {normalise_username(username)} reset; its sessions ended.")


@app.command()
def unlock(username: UsernameArgument, kind: KindOption) -> None:
    """Lift a lockout after repeated failed sign-ins (audited)."""

    async def work(uow: UnitOfWork, _platform: Platform) -> IdentityRecord:
        from auth_server.identities import service

        identity = await _find(uow, kind, username)
        return await service.unlock(uow, identity.id)

    identity = _run(work)
    console.print(f"Unlocked {identity.kind.value} login {normalise_username(username)}.")


@app.command()
def disable(username: UsernameArgument, kind: KindOption) -> None:
    """Disable a login: it can no longer sign in and its sessions end."""

    async def work(uow: UnitOfWork, platform: Platform) -> IdentityRecord:
        from auth_server.identities import service

        identity = await _find(uow, kind, username)
        return await service.disable(uow, identity.id, revocations=platform.revocations)

    identity = _run(work)
    console.print(f"Disabled {identity.kind.value} login {normalise_username(username)}.")
