"""Every context's table metadata, for Alembic's comparisons."""

from __future__ import annotations

from sqlalchemy import MetaData


def all_metadata() -> list[MetaData]:
    """Import each context's models so their tables are registered, and return their metadata."""
    from audit import models as audit_models
    from auth_server.db import registered_metadata as auth_server_metadata
    from core_banking.db import registered_metadata as core_banking_metadata
    from faster_payments.db import registered_metadata as faster_payments_metadata
    from fraud.db import registered_metadata as fraud_metadata
    from notifications.db import registered_metadata as notifications_metadata
    from obank import revocation  # noqa: F401  (registers platform.revocations)
    from obank.approvals import models as approval_models  # noqa: F401  (registers platform.staff_approvals)
    from obank.outbox import models as outbox_models
    from obank.scheduler import models as scheduler_models  # noqa: F401  (registers platform.job_runs)
    from open_banking.db import registered_metadata as open_banking_metadata
    from web.db import registered_metadata as web_metadata

    return [
        outbox_models.Base.metadata,
        audit_models.Base.metadata,
        core_banking_metadata(),
        auth_server_metadata(),
        faster_payments_metadata(),
        notifications_metadata(),
        open_banking_metadata(),
        fraud_metadata(),
        web_metadata(),
    ]
