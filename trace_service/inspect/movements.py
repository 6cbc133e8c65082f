"""``movements``: the current state of every sale line and the parcels that carry it, kept
so that a forward trace is one index range instead of a five-table join.

One row per (sale line, parcel carrying that line's item), or one row without parcel for a
sale line no parcel carries yet: exactly what joining ``order_lines``, ``orders``,
``parcels``, ``parcel_items`` and the parcels' ``trace_keys`` yields (``movement_select``).
Each row copies what a forward trace shows of the sale (order, time, listing, quantity) and
of the parcel (key, state, packed quantity, carrier, last logistics point). What the
services change, they change here in the same transaction:

==========================  ==================================================================
step                        rows
==========================  ==================================================================
sale (``place_order``)      one per new line, without parcel (``lines_sold``)
packing (``pack``)          the line's row gets the parcel; a line already in a parcel (a
                            sale split over parcels) gets a second row (``parcel_packed``)
dispatch, logistics scans,  the parcel's rows get its new state and, for scans, the point
receipt, batch ingestion    (``parcels_moved``, one ``UPDATE`` per state and point)
==========================  ==================================================================

Returns change no row: the states of units and returns are read from their own tables when
a trace is shown. ``rebuild_movements`` recomputes the table from the source tables with
the INSERT ... SELECT that migration 0007 ran to fill it.

Indexes: ``(lot_id, line_id, parcel_key)`` (a lot's own sales and its units' sales, in the
order a trace pages them), ``(item_id, line_id, parcel_key)`` (the sales of a unit or of the
contents of a parcel; also the line's rows when packing) and ``parcel_tk_id`` (a parcel's
rows when it moves). ``parcel_state`` and ``point_id``, the columns every scan changes, are
in no index, so on PostgreSQL (fillfactor 70, migration 0008) a scan's update can stay on
its page and touch no index.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    ForeignKey, Index, Integer, String, and_, delete, func, insert, select, update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from trace_service.chain.models import TraceKey
from trace_service.db import Base, UTCDateTime, chunks, one_of
from trace_service.orders.models import Order, OrderLine
from trace_service.shipping.models import Parcel, ParcelItem



class Movement(Base):
    """One sale line and one parcel carrying its item (or none yet).

    ``lot_id`` is the lot of the item sold (the lot's own key sold by quantity, or one of
    its units); the sale and parcel columns are copies, so only ``line_id`` and ``item_id``
    reference other tables.
    """

    __tablename__ = "movements"
    __table_args__ = (
        Index("ix_movements_lot_id_line_id_parcel_key", "lot_id", "line_id", "parcel_key"),
        Index("ix_movements_item_id_line_id_parcel_key", "item_id", "line_id", "parcel_key"),
        Index("ix_movements_parcel_tk_id", "parcel_tk_id"),
        # Room on each page for the updates of every scan (migration 0008).
        {"postgresql_with": {"fillfactor": 70}},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"))
    lot_id: Mapped[str | None] = mapped_column(String(40))
    item_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"))
    order_id: Mapped[str] = mapped_column(String(40))
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    listing_id: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)
    parcel_tk_id: Mapped[int | None] = mapped_column(Integer)
    parcel_key: Mapped[str | None] = mapped_column(String(120))
    parcel_state: Mapped[str | None] = mapped_column(String(20))
    packed_quantity: Mapped[int | None] = mapped_column(Integer)
    carrier_id: Mapped[str | None] = mapped_column(String(40))
    point_id: Mapped[str | None] = mapped_column(String(40))


MV = Movement.__table__
TK = TraceKey.__table__
OL, ORD = OrderLine.__table__, Order.__table__
PCL, PI = Parcel.__table__, ParcelItem.__table__

# The columns ``movement_select`` fills, in its order.
FILLED = ("line_id", "lot_id", "item_id", "order_id", "placed_at", "listing_id", "quantity",
          "parcel_tk_id", "parcel_key", "parcel_state", "packed_quantity", "carrier_id",
          "point_id")


def _sale(order: Order, line: OrderLine, item: TraceKey) -> dict:
    return {"line_id": line.id, "lot_id": item.lot_id, "item_id": item.id,
            "order_id": order.id, "placed_at": order.placed_at,
            "listing_id": line.listing_id, "quantity": line.quantity}


def lines_sold(db: Session, order: Order, lines: list[tuple[OrderLine, TraceKey]]) -> None:
    """A new order: one row per line (already flushed), no parcel yet."""
    if lines:
        db.connection().execute(insert(MV), [
            _sale(order, line, item) | {"parcel_tk_id": None, "parcel_key": None,
                                        "parcel_state": None, "packed_quantity": None,
                                        "carrier_id": None, "point_id": None}
            for line, item in lines])


def parcel_packed(db: Session, order: Order, parcel: Parcel, parcel_tk: TraceKey,
                  packed: list[tuple[OrderLine, TraceKey, int]]) -> None:
    """A new parcel (already flushed) carries ``packed``: (line, item, quantity) of its
    order. Each line's row without parcel gets this one; a line that already has a parcel
    gets a second row."""
    conn = db.connection()
    values = {"parcel_tk_id": parcel_tk.id, "parcel_key": parcel_tk.key,
              "parcel_state": parcel_tk.state, "carrier_id": parcel.carrier_id,
              "point_id": parcel.last_point_id}
    for line, item, quantity in packed:
        updated = conn.execute(
            update(MV).where(MV.c.item_id == item.id, MV.c.line_id == line.id,
                             MV.c.parcel_tk_id.is_(None))
            .values(values | {"packed_quantity": quantity})).rowcount
        if not updated:
            conn.execute(insert(MV).values(_sale(order, line, item) | values
                                           | {"packed_quantity": quantity}))


def parcels_moved(db, parcel_tk_ids: list[int], state: str, point_id: str | None = None) -> None:
    """Parcels (by trace key id) are now in ``state`` and, when ``point_id`` is given, were
    last seen there: one UPDATE (per 5,000 parcels on SQLite) of their rows."""
    values = {"parcel_state": state}
    if point_id is not None:
        values["point_id"] = point_id
    conn = db.connection()
    for chunk in chunks(list(parcel_tk_ids)):
        conn.execute(update(MV).where(one_of(conn, MV.c.parcel_tk_id, chunk)).values(values))


def movement_select():
    """Every movement, computed from the source tables, in line order: each sale line
    joined to the parcels of its order that carry its item, or kept once without parcel
    when none does."""
    item, parcel_tk = TK.alias("item"), TK.alias("parcel_tk")
    carried = (select(PCL.c.order_id, PI.c.trace_key_id.label("item_id"),
                      parcel_tk.c.id.label("parcel_tk_id"), parcel_tk.c.key, parcel_tk.c.state,
                      PI.c.quantity, PCL.c.carrier_id, PCL.c.last_point_id)
               .select_from(PCL.join(PI, PI.c.parcel_id == PCL.c.id)
                            .join(parcel_tk, parcel_tk.c.id == PCL.c.trace_key_id))
               .subquery("carried"))
    return (select(OL.c.id, item.c.lot_id, OL.c.trace_key_id, OL.c.order_id, ORD.c.placed_at,
                   OL.c.listing_id, OL.c.quantity, carried.c.parcel_tk_id, carried.c.key,
                   carried.c.state, carried.c.quantity, carried.c.carrier_id,
                   carried.c.last_point_id)
            .select_from(OL.join(ORD, ORD.c.id == OL.c.order_id)
                         .join(item, item.c.id == OL.c.trace_key_id)
                         .outerjoin(carried, and_(carried.c.order_id == OL.c.order_id,
                                                  carried.c.item_id == OL.c.trace_key_id)))
            .order_by(OL.c.id, carried.c.key))


def rebuild_movements(conn) -> int:
    """Empty ``movements`` and fill it again from the source tables (the backfill of
    migration 0007); returns the number of rows. ``conn`` is a Connection or Session."""
    conn.execute(delete(MV))
    conn.execute(insert(MV).from_select(FILLED, movement_select()))
    return conn.scalar(select(func.count()).select_from(MV))
