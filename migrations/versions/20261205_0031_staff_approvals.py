"""platform: four-eyes approvals of high-risk staff actions

Revision ID: 20261205_0031
Revises: 20261205_0030
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "20261205_0031"
down_revision: str | Sequence[str] | None = "20261205_0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "staff_approvals",
        sa.Column("id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(length=120), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("params_hash", sa.LargeBinary(), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "APPROVED",
                "REJECTED",
                "WITHDRAWN",
                "EXPIRED",
                name="staff_approval_status",
                native_enum=False,
                create_constraint=True,
                length=16,
                schema="platform",
            ),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("expires_at > requested_at", name=op.f("ck_staff_approvals_expires_after_request")),
        sa.CheckConstraint(
            "(status IN ('APPROVED', 'REJECTED', 'WITHDRAWN')) = (decided_by IS NOT NULL AND decided_at IS NOT NULL)",
            name=op.f("ck_staff_approvals_decided_when_final"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_approvals")),
        schema="platform",
    )
    op.create_index("ix_staff_approvals_requested_at", "staff_approvals", ["requested_at"], schema="platform")
    op.create_index(
        "ix_staff_approvals_status_requested_at", "staff_approvals", ["status", "requested_at"], schema="platform"
    )


def downgrade() -> None:
    op.drop_index("ix_staff_approvals_status_requested_at", table_name="staff_approvals", schema="platform")
    op.drop_index("ix_staff_approvals_requested_at", table_name="staff_approvals", schema="platform")
    op.drop_table("staff_approvals", schema="platform")
