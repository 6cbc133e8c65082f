"""movements: one row per sale line and parcel, so a forward trace is one index range

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 05:00:00

The table of ``trace_service.inspect.movements`` with its three indexes, filled from the
existing sales and parcels by one INSERT ... SELECT: each order line joined to the parcels
of its order that carry its item (one row per parcel), or once without parcel when none
does. The services keep it up to date from here on. The select is written out here as
it stood at this revision; ``rebuild_movements`` runs the same one against the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_FILLED = ("line_id", "lot_id", "item_id", "order_id", "placed_at", "listing_id", "quantity",
           "parcel_tk_id", "parcel_key", "parcel_state", "packed_quantity", "carrier_id",
           "point_id")


def upgrade() -> None:
    op.create_table(
        "movements",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.String(length=40), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("listing_id", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("parcel_tk_id", sa.Integer(), nullable=True),
        sa.Column("parcel_key", sa.String(length=120), nullable=True),
        sa.Column("parcel_state", sa.String(length=20), nullable=True),
        sa.Column("packed_quantity", sa.Integer(), nullable=True),
        sa.Column("carrier_id", sa.String(length=40), nullable=True),
        sa.Column("point_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["trace_keys.id"],
                                name=op.f("fk_movements_item_id_trace_keys")),
        sa.ForeignKeyConstraint(["line_id"], ["order_lines.id"],
                                name=op.f("fk_movements_line_id_order_lines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movements")),
    )
    _backfill()
    # Indexes after the rows: one sorted build each instead of row-by-row inserts.
    op.create_index("ix_movements_lot_id_line_id_parcel_key", "movements",
                    ["lot_id", "line_id", "parcel_key"], unique=False)
    op.create_index("ix_movements_item_id_line_id_parcel_key", "movements",
                    ["item_id", "line_id", "parcel_key"], unique=False)
    op.create_index("ix_movements_parcel_tk_id", "movements", ["parcel_tk_id"], unique=False)


def _backfill() -> None:
    movements = sa.table("movements", *(sa.column(name) for name in _FILLED))
    lines = sa.table("order_lines", sa.column("id"), sa.column("order_id"),
                     sa.column("listing_id"), sa.column("trace_key_id"), sa.column("quantity"))
    orders = sa.table("orders", sa.column("id"), sa.column("placed_at"))
    keys = sa.table("trace_keys", sa.column("id"), sa.column("key"), sa.column("lot_id"),
                    sa.column("state"))
    parcels = sa.table("parcels", sa.column("id"), sa.column("trace_key_id"),
                       sa.column("order_id"), sa.column("carrier_id"),
                       sa.column("last_point_id"))
    items = sa.table("parcel_items", sa.column("parcel_id"), sa.column("trace_key_id"),
                     sa.column("quantity"))
    item, parcel_tk = keys.alias("item"), keys.alias("parcel_tk")
    carried = (sa.select(parcels.c.order_id, items.c.trace_key_id.label("item_id"),
                         parcel_tk.c.id.label("parcel_tk_id"), parcel_tk.c.key,
                         parcel_tk.c.state, items.c.quantity, parcels.c.carrier_id,
                         parcels.c.last_point_id)
               .select_from(parcels.join(items, items.c.parcel_id == parcels.c.id)
                            .join(parcel_tk, parcel_tk.c.id == parcels.c.trace_key_id))
               .subquery("carried"))
    rows = (sa.select(lines.c.id, item.c.lot_id, lines.c.trace_key_id, lines.c.order_id,
                      orders.c.placed_at, lines.c.listing_id, lines.c.quantity,
                      carried.c.parcel_tk_id, carried.c.key, carried.c.state,
                      carried.c.quantity, carried.c.carrier_id, carried.c.last_point_id)
            .select_from(lines.join(orders, orders.c.id == lines.c.order_id)
                         .join(item, item.c.id == lines.c.trace_key_id)
                         .outerjoin(carried, sa.and_(carried.c.order_id == lines.c.order_id,
                                                     carried.c.item_id == lines.c.trace_key_id)))
            .order_by(lines.c.id, carried.c.key))
    op.execute(sa.insert(movements).from_select(_FILLED, rows))


def downgrade() -> None:
    op.drop_index("ix_movements_parcel_tk_id", table_name="movements")
    op.drop_index("ix_movements_item_id_line_id_parcel_key", table_name="movements")
    op.drop_index("ix_movements_lot_id_line_id_parcel_key", table_name="movements")
    op.drop_table("movements")
