"""audit: staff decryptions of audit records, with their reasons

Revision ID: 20261205_0032
Revises: 20261205_0031
Create Date: 2026-12-05
"""

from collections.abc import Sequence

revision: str = "20261205_0032"
down_revision: str | Sequence[str] | None = "20261205_0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
