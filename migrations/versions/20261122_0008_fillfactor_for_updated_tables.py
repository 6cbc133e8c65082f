"""room on each page for the rows every scan updates (PostgreSQL)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 05:05:00

Every logistics scan rewrites a parcel's row in ``trace_keys`` and ``parcels``, the rows
of the units it carries, and its rows in ``movements``. With full pages (PostgreSQL's
default fillfactor of 100) each such update moves the row to another page and adds an
entry to every index of the table; with room left on the page, an update that changes no
indexed column stays on its page and touches no index (a "HOT" update). Fillfactor 70
leaves that room. It applies to pages written from now on: existing pages are not
rewritten here (that would lock the tables); ``VACUUM FULL`` or ``CLUSTER`` does it at a
quiet hour. SQLite updates rows in place and has no such setting.
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("trace_keys", "parcels", "movements")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} SET (fillfactor = 70)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
