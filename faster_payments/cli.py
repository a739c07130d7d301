"""`obank scheme ...`: operate the simulated Faster Payments scheme (faults, directory, payments to the bank)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from faster_payments import registry, service
from faster_payments.messages import CreditTransfer, InvalidMessage, Party
from faster_payments.models import AccountStatus
from faster_payments.schemas import Faults, RegistryAccount, TransactionRecord
from obank.money import Money

app = typer.Typer(help="The simulated Faster Payments scheme.", no_args_is_help=True)
console = Console()
T = TypeVar("T")


def _in_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the platform the settings describe (committed if it succeeds)."""

    async def run() -> T:
        from obank.database import unit_of_work
        from obank.log import configure_logging
        from obank.runtime import build_platform
        from obank.settings import get_settings

        settings = get_settings()
        configure_logging(settings.log_level)
        platform = build_platform(settings)
        try:
            async with unit_of_work(platform.sessions) as session:
                await registry.ensure_registry(session)
                return await work(session)
        finally:
            await platform.close()

    try:
        return asyncio.run(run())
    except ValueError as error:  # out-of-range faults, an unknown debtor, an invalid party or amount
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error


@app.callback()
def scheme() -> None:
    """The simulated Faster Payments scheme."""


def _delay_range(value: str) -> tuple[int, int]:
    low, _, high = value.partition("-")
    try:
        return int(low), int(high or low)
    except ValueError as exc:
        raise typer.BadParameter("a delay is MS or MIN-MAX in milliseconds, e.g. 100-2000") from exc


@app.command()
def faults(
    delay_ms: Annotated[str | None, typer.Option(help="Delay of each message to the bank, MS or MIN-MAX")] = None,
    drop: Annotated[float | None, typer.Option(help="Share of answers to the bank lost, 0..1")] = None,
    duplicate: Annotated[float | None, typer.Option(help="Share of messages to the bank sent twice, 0..1")] = None,
    timeout_s: Annotated[float | None, typer.Option(help="Acceptance window for a payment, in seconds")] = None,
) -> None:
    """Show the fault injection, or change the settings given."""
    delays = _delay_range(delay_ms) if delay_ms is not None else (None, None)

    async def apply(session: AsyncSession) -> Faults:
        if delay_ms is None and drop is None and duplicate is None and timeout_s is None:
            return await service.get_faults(session)
        return await service.set_faults(
            session,
            delay_min_ms=delays[0],
            delay_max_ms=delays[1],
            drop_rate=drop,
            duplicate_rate=duplicate,
            timeout_s=timeout_s,
        )

    current = _in_session(apply)
    table = Table("delay (ms)", "drop", "duplicate", "timeout (s)")
    table.add_row(
        f"{current.delay_min_ms}-{current.delay_max_ms}",
        f"{current.drop_rate:g}",
        f"{current.duplicate_rate:g}",
        f"{current.timeout_s:g}",
    )
    console.print(table)


@app.command()
def accounts() -> None:
    """List the directory of other banks' accounts (payees and payers of the simulation)."""
    listed: list[RegistryAccount] = _in_session(registry.list_accounts)
    table = Table("bank", "sort code", "account number", "holder", "status")
    for account in listed:
        table.add_row(
            account.bank_name,
            f"{account.sort_code[:2]}-{account.sort_code[2:4]}-{account.sort_code[4:]}",
            account.account_number,
            account.holder_name,
            account.status.value,
        )
    console.print(table)


@app.command("pay-in")
def pay_in(
    sort_code: Annotated[str, typer.Option(help="The bank's sort code (6 digits)")],
    account_number: Annotated[str, typer.Option(help="The customer's account number (8 digits)")],
    name: Annotated[str, typer.Option(help="The customer's name, as the payer typed it")],
    amount_minor: Annotated[int, typer.Option(help="Amount in pence")],
    reference: Annotated[str | None, typer.Option(help="Payment reference")] = None,
    payer: Annotated[
        str | None, typer.Option(help="Payer's account in the directory, SORTCODE-ACCOUNT (default: the first open)")
    ] = None,
) -> None:
    """Send a payment from another bank's customer to one of the bank's customers."""

    async def send(session: AsyncSession) -> CreditTransfer:
        debtor = await _payer(session, payer)
        creditor = Party(name=name, sort_code=sort_code.replace("-", ""), account_number=account_number)
        return await service.send_inbound(
            session, debtor=debtor, creditor=creditor, amount_minor=amount_minor, reference=reference
        )

    transfer = _in_session(send)
    amount = Money(transfer.amount_minor, transfer.currency).to_decimal_string()
    console.print(
        f"[green]sent {transfer.currency} {amount} from {transfer.debtor.name}[/green]: TxId {transfer.transaction_id}"
    )


async def _payer(session: AsyncSession, payer: str | None) -> Party:
    listed = [account for account in await registry.list_accounts(session) if account.status is AccountStatus.OPEN]
    if payer is None:
        return listed[0].party
    sort_code, _, number = payer.replace(" ", "").rpartition("-")
    for account in listed:
        if account.sort_code == sort_code.replace("-", "") and account.account_number == number:
            return account.party
    raise InvalidMessage("the payer must be an open account of the directory (see `obank scheme accounts`)")


@app.command()
def transactions(limit: Annotated[int, typer.Option(help="How many, most recent first")] = 20) -> None:
    """The transactions the scheme has seen, most recent first."""

    async def recent(session: AsyncSession) -> list[TransactionRecord]:
        return await service.list_transactions(session, limit=limit)

    table = Table("received", "TxId", "direction", "amount", "creditor", "status", "reason")
    for record in _in_session(recent):
        amount = (
            ""
            if record.amount_minor is None or record.currency is None
            else f"{record.currency} {Money(record.amount_minor, record.currency).to_decimal_string()}"
        )
        creditor = (
            ""
            if record.creditor is None
            else f"{record.creditor.name} {record.creditor.sort_code} {record.creditor.account_number}"
        )
        table.add_row(
            record.received_at.isoformat(timespec="seconds"),
            record.tx_id,
            record.direction.value,
            amount,
            creditor,
            record.status.value,
            record.reason or "",
        )
    console.print(table)


if __name__ == "__main__":
    app()
