"""core banking: customers findable by a keyed hash of their name (staff search)

Revision ID: 20261205_0030
Revises: 20261205_0029
Create Date: 2026-12-05
"""

from collections.abc import Sequence

revision: str = "20261205_0030"
down_revision: str | Sequence[str] | None = "20261205_0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
