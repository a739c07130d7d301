"""platform: the durable revocation deny-list

Revision ID: 20261205_0009
Revises: 20261122_0008
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261205_0009"
down_revision: str | Sequence[str] | None = "20261122_0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revocations",
        sa.Column("identifier", sa.String(length=200), nullable=False),
        sa.Column("denied_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("identifier", name=op.f("pk_revocations")),
        schema="platform",
    )
    op.create_index(op.f("ix_platform_revocations_denied_until"), "revocations", ["denied_until"], schema="platform")
    # Every process's deny-list listens on this channel; NOTIFY is delivered at commit, in commit order.
    op.execute(
        """
        CREATE FUNCTION platform.notify_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(
                'obank_revocations',
                NEW.identifier || ' ' || ceil(extract(epoch FROM NEW.denied_until))::bigint::text
            );
            RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER revocations_notify AFTER INSERT OR UPDATE ON platform.revocations"
        " FOR EACH ROW EXECUTE FUNCTION platform.notify_revocation()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER revocations_notify ON platform.revocations")
    op.execute("DROP FUNCTION platform.notify_revocation()")
    op.drop_index(op.f("ix_platform_revocations_denied_until"), table_name="revocations", schema="platform")
    op.drop_table("revocations", schema="platform")
