"""witness cosignatures of checkpoints and what the service knows of each witness

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 04:00:00

* ``ledger_cosignatures``: one row per (checkpoint size, witness), the cosignature line
  as the witness returned it (checked before it is stored).
* ``ledger_witness_state``: per witness, the size it last cosigned and the last failure.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_cosignatures",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("witness", sa.String(length=200), nullable=False),
        sa.Column("line", sa.String(length=400), nullable=False),
        sa.Column("cosigned_at", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", "witness", name=op.f("pk_ledger_cosignatures")),
    )
    op.create_table(
        "ledger_witness_state",
        sa.Column("witness", sa.String(length=200), nullable=False),
        sa.Column("verifier_key", sa.String(length=400), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("witness", name=op.f("pk_ledger_witness_state")),
    )


def downgrade() -> None:
    op.drop_table("ledger_witness_state")
    op.drop_table("ledger_cosignatures")
