"""wider pipeline metric nodes (per-table nodes hold schema and table names)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 23:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_minutes", schema=None) as batch_op:
        batch_op.alter_column(
            "node", existing_type=sa.String(length=60), type_=sa.String(length=600), existing_nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("pipeline_minutes", schema=None) as batch_op:
        batch_op.alter_column(
            "node", existing_type=sa.String(length=600), type_=sa.String(length=60), existing_nullable=False
        )
