"""The stack's floor for core banking's hot routes: plain SQL's work behind a bare, authenticated FastAPI route.

`bench.transfers` compares `POST /api/v1/transfers` and the balance read with plain SQL run from psycopg in the
same process. Between the two sit what the rules require of every route (HTTP through FastAPI, the gateway's
ES256 principal assertion checked, SQLAlchemy's pools) and what obank does besides (idempotency, fraud
screening, the ledger's checks, the audit record and outbox event in the transaction). These routes do the
first and none of the second:
- `POST /floor/transfers`: the assertion verified, the JSON body validated, then plain SQL's very transfer
  (lock both rows, two updates, one insert) in one transaction on a session of the platform's engine, its
  statements run on psycopg's connection as obank's hot paths run theirs (`DriverStatement`);
- `GET /floor/accounts/{id}/balances`: the assertion verified, then plain SQL's read on a connection of the
  platform's autocommit statement pool, as `Reads.statement` gives it.
So a run tells what the stack costs (floor against plain SQL) from what obank adds (obank against floor).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import FastAPI, Header, HTTPException, Response
from pydantic import BaseModel, Field
from sqlalchemy import text

from obank.database import DriverStatement, unit_of_work
from obank.principal import PRINCIPAL_HEADER, InternalAssertions, InvalidPrincipalAssertionError, Principal
from obank.runtime import Platform

TRANSFER_PATH = "/floor/transfers"
SERVICE = "core_banking"

_LOCK = DriverStatement(
    text("SELECT id, balance FROM public.bench_accounts WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE")
)
_DEBIT = DriverStatement(text("UPDATE public.bench_accounts SET balance = balance - :amount WHERE id = :id"))
_CREDIT = DriverStatement(text("UPDATE public.bench_accounts SET balance = balance + :amount WHERE id = :id"))
_POST = DriverStatement(
    text("INSERT INTO public.bench_postings (source, destination, amount) VALUES (:source, :destination, :amount)")
)
_READ = DriverStatement(
    text(
        "SELECT customer_id, currency, booked_balance_minor, held_minor, overdraft_limit_minor"
        " FROM core_banking.accounts WHERE id = :id"
    )
)


class FloorTransfer(BaseModel):
    source_account_id: uuid.UUID
    destination_account_id: uuid.UUID
    amount_minor: int = Field(ge=1, le=10**15)


def balance_path(account_id: uuid.UUID) -> str:
    return f"/floor/accounts/{account_id}/balances"


def floor_app(platform: Platform, assertions: InternalAssertions) -> FastAPI:
    """The two floor routes over `platform`'s pools, admitting principals `assertions` verifies."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    def principal(assertion: str | None) -> Principal:
        if assertion is None:
            raise HTTPException(401)
        try:
            return assertions.verify(assertion, SERVICE)
        except InvalidPrincipalAssertionError as exc:
            raise HTTPException(401) from exc

    @app.post(TRANSFER_PATH, status_code=201)
    async def transfer(
        body: FloorTransfer, assertion: Annotated[str | None, Header(alias=PRINCIPAL_HEADER)] = None
    ) -> Response:
        principal(assertion)
        source, destination, amount = body.source_account_id, body.destination_account_id, body.amount_minor
        ids = "{" + ",".join(sorted((str(source), str(destination)))) + "}"
        async with unit_of_work(platform.sessions) as session:
            await _LOCK.rows(session, {"ids": ids})
            await _DEBIT.rowcount(session, {"amount": amount, "id": source})
            await _CREDIT.rowcount(session, {"amount": amount, "id": destination})
            await _POST.rowcount(session, {"source": source, "destination": destination, "amount": amount})
        return Response(b'{"status":"COMPLETED"}', status_code=201, media_type="application/json")

    @app.get("/floor/accounts/{account_id}/balances")
    async def balances(
        account_id: uuid.UUID, assertion: Annotated[str | None, Header(alias=PRINCIPAL_HEADER)] = None
    ) -> Response:
        caller = principal(assertion)
        async with platform.statement_engine.connect() as connection:
            rows = await _READ.rows(connection, {"id": account_id})
        if not rows or str(rows[0][0]) != caller.subject:
            raise HTTPException(404)
        _customer, currency, booked, held, overdraft = rows[0]
        body = f'{{"currency":"{currency}","booked":{booked},"available":{booked - held + overdraft}}}'
        return Response(body.encode(), media_type="application/json")

    return app
