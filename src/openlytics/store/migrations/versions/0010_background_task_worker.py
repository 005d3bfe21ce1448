"""background tasks record the process running them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 09:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("background_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("background_tasks", schema=None) as batch_op:
        batch_op.drop_column("worker")
