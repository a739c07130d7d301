"""platform: the W3C trace context of the transaction that recorded each outbox event

Revision ID: 20261205_0036
Revises: 20261205_0035
Create Date: 2026-12-05

Consumers apply an event in a span that continues the trace of the request that caused it (obank.telemetry).
Empty when tracing is off, and for events recorded before this revision.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0036"
down_revision: str | Sequence[str] | None = "20261205_0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# version-traceid-parentid-flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 characters (W3C Trace Context, version 00).
_TRACEPARENT_LENGTH = 55


def upgrade() -> None:
    op.add_column(
        "outbox_events", sa.Column("traceparent", sa.String(_TRACEPARENT_LENGTH), nullable=True), schema="platform"
    )


def downgrade() -> None:
    op.drop_column("outbox_events", "traceparent", schema="platform")
