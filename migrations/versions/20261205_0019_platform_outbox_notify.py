"""platform: the outbox NOTIFYs `obank_outbox` when events are inserted, so idle relays wake at commit

Revision ID: 20261205_0019
Revises: 20261205_0018
Create Date: 2026-12-05

A statement-level trigger: one notification per inserting statement (PostgreSQL folds identical
notifications of a transaction into one), delivered when the transaction commits, never before.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "20261205_0019"
down_revision: str | Sequence[str] | None = "20261205_0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION platform.notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('obank_outbox', '');
            RETURN NULL;
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER outbox_events_notify AFTER INSERT ON platform.outbox_events"
        " FOR EACH STATEMENT EXECUTE FUNCTION platform.notify_outbox()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER outbox_events_notify ON platform.outbox_events")
    op.execute("DROP FUNCTION platform.notify_outbox()")
