"""money as 64-bit integers: prices and totals in cents can exceed 2**31

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

COLUMNS = (("listings", "price_cents"), ("order_lines", "price_cents"), ("orders", "total_cents"))


def upgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.BigInteger(), existing_type=sa.Integer(),
                               existing_nullable=False)


def downgrade() -> None:
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.Integer(), existing_type=sa.BigInteger(),
                               existing_nullable=False)
