"""A demo customer, end to end through the composed gateway over TLS: sign in, list, move money, see it."""

from __future__ import annotations

import json

from sqlalchemy import select

from audit.models import AuditRecord
from bank.demo import seed_and_write_demo
from obank.outbox.models import OutboxEvent
from obank.settings import Settings
from tests.auth_server.oauth.conftest import Pki, pki
from tests.gateway.harness import start_gateway
from tests.gateway.scenarios import customer_login, customer_moves_money, customer_pays_a_new_payee_by_standing_order

__all__ = ["pki"]


async def test_a_customer_signs_in_and_moves_money_through_the_gateway(
    settings: Settings, database_url: str, pki: Pki
) -> None:
    running, task, server = await start_gateway(settings, database_url, pki)
    try:
        demo = json.loads((await seed_and_write_demo(running.platform, running.issuer)).read_text())
        interaction_id = await customer_moves_money(running.http(), demo)
        async with running.platform.sessions() as session:
            audited = await session.scalars(
                select(AuditRecord.action).where(AuditRecord.correlation_id == interaction_id)
            )
            published = await session.scalars(
                select(OutboxEvent.event_type).where(OutboxEvent.correlation_id == interaction_id)
            )
            actions, events = list(audited), list(published)
        assert actions and events, "the transfer's audit record and event carry the caller's interaction id"

        # One person, one id: signing in, approving the app's grant and moving money are all audited under
        # core banking's customer id (the login identity is only the entity of sign-in records).
        async with running.platform.sessions() as session:
            actors = await session.execute(
                select(AuditRecord.action, AuditRecord.actor_id).where(AuditRecord.actor_kind == "customer")
            )
            by_action = {action: actor for action, actor in actors}
        customer_id = demo["customers"][0]["customer_id"]
        for action in ("login.succeeded", "grant.approved"):
            assert by_action.get(action) == customer_id, by_action
        assert any(action.startswith("transfer") and actor == customer_id for action, actor in by_action.items())

        # Another customer withdraws their app's grant: the very next request with its token is refused.
        other = running.http()
        token = await customer_login(other, demo, customer_index=1)
        auth = {"authorization": f"Bearer {token}"}
        grants = await other.get("/api/v1/consents", headers=auth)
        assert grants.status_code == 200, grants.text
        active = [g for g in grants.json()["consents"] if g["status"] == "ACTIVE"]
        assert len(active) == 1, grants.text
        grant = active[0]
        withdrawn = await other.delete(f"/api/v1/consents/{grant['grant_id']}", headers=auth)
        assert withdrawn.status_code == 204, withdrawn.text
        refused = await other.get("/api/v1/accounts", headers=auth)
        assert refused.status_code == 401
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    finally:
        await running.aclose()
        server.should_exit = True
        await task
        await running.platform.close()


async def test_a_customer_saves_a_payee_and_sets_up_a_standing_order_through_the_gateway(
    settings: Settings, database_url: str, pki: Pki
) -> None:
    running, task, server = await start_gateway(settings, database_url, pki)
    try:
        demo = json.loads((await seed_and_write_demo(running.platform, running.issuer)).read_text())
        await customer_pays_a_new_payee_by_standing_order(running.http(), running.http(), demo)
    finally:
        await running.aclose()
        server.should_exit = True
        await task
        await running.platform.close()
