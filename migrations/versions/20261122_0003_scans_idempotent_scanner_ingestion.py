"""scans: idempotent scanner ingestion

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:45:49.473230
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('scans',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('device_id', sa.String(length=40), nullable=False),
    sa.Column('point_id', sa.String(length=40), nullable=False),
    sa.Column('staff_no', sa.String(length=40), nullable=True),
    sa.Column('step', sa.String(length=10), nullable=False),
    sa.Column('code_text', sa.String(length=300), nullable=False),
    sa.Column('trace_key', sa.String(length=120), nullable=True),
    sa.Column('device_time', sa.DateTime(timezone=True), nullable=False),
    sa.Column('device_tz', sa.String(length=6), nullable=False),
    sa.Column('device_seq', sa.BigInteger(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('skew_ms', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('message', sa.String(length=300), nullable=True),
    sa.Column('warnings', sa.String(length=200), nullable=True),
    sa.Column('event_id', sa.String(length=36), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_scans_device_id_devices')),
    sa.ForeignKeyConstraint(['point_id'], ['logistics_points.id'], name=op.f('fk_scans_point_id_logistics_points')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scans'))
    )
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.create_index('ix_scans_device_seq', ['device_id', 'device_seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_scans_point_id'), ['point_id'], unique=False)
        batch_op.create_index('ix_scans_trace_key_device_time', ['trace_key', 'device_time'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_index('ix_scans_trace_key_device_time')
        batch_op.drop_index(batch_op.f('ix_scans_point_id'))
        batch_op.drop_index('ix_scans_device_seq')

    op.drop_table('scans')

