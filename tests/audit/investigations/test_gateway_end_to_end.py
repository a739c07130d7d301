"""The investigation API through the composed gateway over TLS: staff tokens bound to the device's certificate,
routed to the audit app; an auditor decrypts a record, follows its request and reads the reason back; a support
agent decrypts but is refused the reasons; a customer's token never reaches the app."""

from __future__ import annotations

import uuid
from pathlib import Path

from audit.trail import platform_units
from auth_server.oauth.tokens.models import SubjectKind
from obank.actor import Actor, ActorKind
from tests.audit.investigations.conftest import AFTER, BEFORE, new_correlation, rows
from tests.auth_server.oauth.conftest import Pki, pki
from tests.gateway.harness import serving_gateway

__all__ = ["pki"]

BASE = "/admin/v1/audit"
REASON = "Customer complaint about an account freeze, case 31"


async def test_investigators_decrypt_and_auditors_read_the_reasons_through_the_gateway(
    tmp_path: Path, database_url: str, pki: Pki
) -> None:
    async with serving_gateway(tmp_path, database_url, pki) as gateway:
        request = new_correlation()
        async with platform_units(gateway.platform).begin(Actor(ActorKind.STAFF, "support-9")) as uow:
            uow.audit(
                action="account.frozen", entity_type="account", entity_id=str(uuid.uuid4()), before=BEFORE, after=AFTER
            )
        (record,) = await rows(
            gateway.platform, "SELECT record_id FROM audit.audit_records WHERE correlation_id = :c", c=request
        )
        new_correlation()  # the test's own set-up (a client, tokens) under another id

        tpp = await gateway.client_id(first_party=False)

        async def bearer(subject: str, *roles: str, kind: SubjectKind = SubjectKind.STAFF) -> dict[str, str]:
            token = await gateway.token(tpp, subject=subject, kind=kind, cert="tpp", roles=roles)
            return {"authorization": f"Bearer {token}"}

        http = gateway.http("tpp")
        support, auditor = await bearer("support-1", "support"), await bearer("auditor-1", "auditor")
        interaction = str(uuid.uuid4())
        decrypted = await http.post(
            f"{BASE}/records/{record.record_id}/decryption",
            json={"reason": REASON},
            headers=support | {"x-fapi-interaction-id": interaction},
        )
        assert decrypted.status_code == 200, decrypted.text
        assert decrypted.json()["after"] == AFTER and decrypted.json()["decrypted_by"] == "support-1"

        followed = await http.get(f"{BASE}/timeline", params={"correlation_id": request}, headers=auditor)
        assert followed.status_code == 200, followed.text
        assert [entry["id"] for entry in followed.json()["entries"]] == [str(record.record_id)]
        # The decryption is audited under the staff member's own request.
        own = await http.get(f"{BASE}/timeline", params={"correlation_id": interaction}, headers=auditor)
        assert [(e["kind"], e["action"], e["actor_id"]) for e in own.json()["entries"]] == [
            ("event", "audit_record.decrypted", None),
            ("audit", "audit_record.decrypted", "support-1"),
        ]

        listed = await http.get(f"{BASE}/decryptions", headers=auditor)
        assert listed.status_code == 200, listed.text
        assert [(d["staff_id"], d["reason"]) for d in listed.json()] == [("support-1", REASON)]
        refused = await http.get(f"{BASE}/decryptions", headers=support)
        assert refused.status_code == 403 and refused.json()["code"] == "insufficient_role", refused.text

        customer = await bearer(str(uuid.uuid4()), kind=SubjectKind.CUSTOMER)
        stopped = await http.get(f"{BASE}/timeline", params={"correlation_id": request}, headers=customer)
        assert stopped.status_code == 403, stopped.text
