"""console sessions, shared rate-limit counters, plausibility of consumer checks

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00

* ``console_sessions``: the inspector console's sessions, kept by the server so that
  signing out (or expiry) ends them for good; the cookie's random token is stored only as
  its SHA-256.
* ``rate_limit_counters``: fixed-window counters of the public pages' rate limits, shared
  by every worker and server on the database (a keyed hash of the client, never its
  address; rows of past windows are deleted).
* ``consumer_checks.counted`` and ``network_hash``: a check that looked automated is kept
  uncounted (so the page can say some were not counted), and the hash of the check's
  network under the day's salt lets one network count only a few devices a day.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["key_id"], ["api_keys.id"],
                                name=op.f("fk_console_sessions_key_id_api_keys")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_key_id"), ["key_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_console_sessions_expires_at"), ["expires_at"],
                              unique=False)

    op.create_table(
        "rate_limit_counters",
        sa.Column("bucket", sa.String(length=20), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("client_hash", sa.String(length=32), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "window_start", "client_hash",
                                name=op.f("pk_rate_limit_counters")),
    )

    with op.batch_alter_table("consumer_checks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted", sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
        batch_op.add_column(sa.Column("network_hash", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consumer_checks", schema=None) as batch_op:
        batch_op.drop_column("network_hash")
        batch_op.drop_column("counted")
    op.drop_table("rate_limit_counters")
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_console_sessions_key_id"))
    op.drop_table("console_sessions")
