"""public consumer checks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 03:10:00

The consumer side (trace_service.public): checks of a serial by consumers (counterfeit
signals, no raw IP: a visitor hash under a daily salt), consumer reports, and the salts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumer_checks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("trace_key_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor_hash", sa.String(length=32), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["trace_key_id"], ["trace_keys.id"],
                                name=op.f("fk_consumer_checks_trace_key_id_trace_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_checks")),
        sa.UniqueConstraint("trace_key_id", "day", "visitor_hash",
                            name=op.f("uq_consumer_checks_trace_key_id_day_visitor_hash")),
    )
    with op.batch_alter_table("consumer_checks", schema=None) as batch_op:
        batch_op.create_index("ix_consumer_checks_key_time", ["trace_key_id", "checked_at"],
                              unique=False)

    op.create_table(
        "consumer_reports",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("trace_key_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=True),
        sa.Column("complaint_id", sa.String(length=40), nullable=True),
        sa.Column("reporter_id", sa.String(length=40), nullable=True),
        sa.Column("category", sa.String(length=30), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_consumer_reports_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"],
                                name=op.f("fk_consumer_reports_order_id_orders")),
        sa.ForeignKeyConstraint(["reporter_id"], ["persons.id"],
                                name=op.f("fk_consumer_reports_reporter_id_persons")),
        sa.ForeignKeyConstraint(["trace_key_id"], ["trace_keys.id"],
                                name=op.f("fk_consumer_reports_trace_key_id_trace_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consumer_reports")),
    )
    with op.batch_alter_table("consumer_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consumer_reports_trace_key_id"), ["trace_key_id"],
                              unique=False)

    op.create_table(
        "visitor_salts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_visitor_salts")),
    )


def downgrade() -> None:
    op.drop_table("visitor_salts")
    with op.batch_alter_table("consumer_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consumer_reports_trace_key_id"))
    op.drop_table("consumer_reports")
    with op.batch_alter_table("consumer_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_consumer_checks_key_time")
    op.drop_table("consumer_checks")
