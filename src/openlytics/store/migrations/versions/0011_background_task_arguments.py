"""background tasks carry their arguments, their principal and their queue (so workers run them)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 11:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("background_tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("arguments", sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        batch_op.add_column(sa.Column("principal", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("queue", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("background_tasks", schema=None) as batch_op:
        batch_op.drop_column("queue")
        batch_op.drop_column("principal")
        batch_op.drop_column("arguments")
