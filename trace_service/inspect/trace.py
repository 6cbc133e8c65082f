"""Trace forward and backward from any unit, lot or parcel, in one call.

Nothing here reads ``events``. Forward, each origin is one index range of ``movements``
(``trace_service.inspect.movements``): one row per sale line and parcel that carried it,
written by the services in the transaction of each sale, packing, dispatch, scan and
receipt, with the sale and the parcel's current state and last point copied in. Only the
names (items, merchants, carriers, points) and the returns are read from elsewhere, once
per distinct id. Backward, the chain's current-state tables are the edge index:

==============================  ==========================================================
edge                            table and index
==============================  ==========================================================
forward
lot -> its sales and its        ``movements.lot_id``
units' sales, with the parcels  (ix_movements_lot_id_line_id_parcel_key)
lot -> its own sales only;      ``movements.item_id``
unit -> its sales               (ix_movements_item_id_line_id_parcel_key)
parcel -> contents -> their     ``parcel_items`` primary key, then ``movements.item_id``
sales                           (ix_movements_item_id_line_id_parcel_key)
sold unit -> its return         ix_return_items_trace_key_id (migration 0005)
backward
unit -> lot -> product, maker   ``trace_keys.lot_id``, ``lots``, ``products``
item -> listings, merchants     ``order_lines.trace_key_id`` (ix_order_lines_trace_key_id)
parcel -> order, carrier,       ``parcels.trace_key_id``, ``parcel_items`` primary key
contents
==============================  ==========================================================

Forward rows are *movements*: one per sale line and the parcel that carried it (a sale not
yet packed gives one row without a parcel). Hops count edges from the origin: from a lot,
its own sales are hop 1 and its units' sales hop 2 (lot -> unit -> sale); from a unit, its
sales are hop 1; from a parcel, its contents are hop 1 and their sales (this parcel's and
any later one, after a return and re-sale) hop 2. Both ranges' indexes end in (line,
parcel key), the order of the keyset cursor, so a page reads only its rows and the
complete trace (exports) reads its range once, already sorted. Its rows are the driver's
plain tuples, and its totals are counted column-wise over them; a page's totals are
grouped by the database.

Backward from a unit or lot: lot, product, maker, registrant, and the listings and
merchants that sold it; from a parcel also the order, the sender, the carrier and the
contents (then the contents' sources, one hop further).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from trace_service.catalog.models import Listing, Lot, Product
from trace_service.chain.models import TraceKey
from trace_service.chain.services import describe_key, find_key
from trace_service.context import Ctx
from trace_service.db import chunks, one_of
from trace_service.errors import NotFound, Unprocessable
from trace_service.inputs import is_ascii_digits
from trace_service.inspect.movements import Movement
from trace_service.orders.models import Order, OrderLine, Return, ReturnItem
from trace_service.parties.models import LogisticsPoint, Party
from trace_service.schemas import decode_cursor, encode_cursor
from trace_service.shipping.models import Parcel, ParcelItem

DIRECTIONS = ("forward", "backward", "both")
MAX_HOPS = 4
DEFAULT_HOPS = 3
BACKWARD_LIMIT = 500

TK = TraceKey.__table__
MV = Movement.__table__
PCL = Parcel.__table__
PI = ParcelItem.__table__

# The columns of a forward row, in the order of CSV exports.
FORWARD_COLUMNS = (
    "hop", "line_id", "item_key", "item_kind", "item_state", "order_id", "placed_at",
    "merchant_id", "merchant", "listing_id", "quantity", "parcel_key", "parcel_state",
    "packed_quantity", "carrier_id", "carrier", "point_id", "point", "city", "returned",
    "position",
)


@dataclass(frozen=True)
class Window:
    """Sales placed in [since, until); either end may be open."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def clauses(self):
        out = []
        if self.since is not None:
            out.append(MV.c.placed_at >= self.since)
        if self.until is not None:
            out.append(MV.c.placed_at < self.until)
        return out


# --- forward ---------------------------------------------------------------------------------


class Movements:
    """Forward movements as tuples (``ROW``) plus the names they refer to.

    Kept as tuples rather than dicts: a lot in 100,000 orders is 100,000 rows, and the
    exports write them straight out. ``dicts()`` gives JSON-ready rows for a page.
    """

    ROW = ("line_id", "item_id", "order_id", "placed_at", "listing_id", "quantity",
           "parcel_key", "parcel_state", "packed_quantity", "carrier_id", "point_id")

    def __init__(self, db: Session, origin: TraceKey, rows: list):
        self.rows = rows
        self.origin_kind = origin.kind
        self.items = _item_info(db, origin, rows)
        listings = set(map(itemgetter(4), rows))
        self.listings = dict(db.execute(select(Listing.id, Listing.merchant_id).where(
            Listing.id.in_(listings))).all()) if listings else {}
        parties = set(self.listings.values()) | set(map(itemgetter(9), rows))
        parties.discard(None)
        self.parties = dict(db.execute(select(Party.id, Party.name).where(
            Party.id.in_(parties))).all()) if parties else {}
        self.points = {p.id: (p.name, p.city) for p in db.execute(
            select(LogisticsPoint.id, LogisticsPoint.name, LogisticsPoint.city))}
        self.returns = _returns(db, origin, self.items)

    def dicts(self, rows=None) -> list[dict]:
        return [self.as_dict(r) for r in (self.rows if rows is None else rows)]

    def as_dict(self, r) -> dict:
        (line_id, item_id, order_id, placed_at, listing_id, quantity, parcel_key, parcel_state,
         packed, carrier_id, point_id) = r
        item_key, item_kind, item_state = self.items[item_id]
        merchant_id = self.listings.get(listing_id)
        point = self.points.get(point_id) if point_id else None
        returned = self.returns.get((order_id, item_id))
        row = {
            "hop": _hop(self.origin_kind, item_kind), "line_id": line_id, "item_key": item_key,
            "item_kind": item_kind, "item_state": item_state, "order_id": order_id,
            "placed_at": _placed(placed_at), "merchant_id": merchant_id,
            "merchant": self.parties.get(merchant_id), "listing_id": listing_id,
            "quantity": quantity, "parcel_key": parcel_key, "parcel_state": parcel_state,
            "packed_quantity": packed, "carrier_id": carrier_id,
            "carrier": self.parties.get(carrier_id), "point_id": point_id,
            "point": point[0] if point else None, "city": point[1] if point else None,
            "returned": returned,
        }
        row["position"] = _position(row)
        return row

    def summary(self, db: Session, origin: TraceKey) -> dict:
        """Totals over these rows and the current states of the units. Counted column-wise:
        the rows are grouped by (parcel state, point, packed, quantity), a few hundred
        groups, and only the groups are walked in Python."""
        groups = Counter(map(itemgetter(7, 10, 8, 5), self.rows))
        return _totals(
            db, origin, len(self.rows), len(set(map(itemgetter(2), self.rows))),
            ((state, point, n * (quantity if packed is None else packed))
             for (state, point, packed, quantity), n in groups.items()))


def _origin_range(origin: TraceKey, hops: int):
    """The origin's movements as one condition on an index of ``movements`` (None: there
    are none within ``hops``)."""
    if origin.kind == "unit":
        return MV.c.item_id == origin.id
    if origin.kind == "lot":
        return MV.c.lot_id == origin.lot_id if hops >= 2 else MV.c.item_id == origin.id
    if hops < 2:
        return None
    contents = (select(PI.c.trace_key_id).join(PCL, PCL.c.id == PI.c.parcel_id)
                .where(PCL.c.trace_key_id == origin.id))
    return MV.c.item_id.in_(contents)


def _movement_stmt(dialect: str, condition, window: Window, after: tuple[int, str] | None,
                   limit: int | None):
    """The ``ROW`` columns of the movements matching ``condition``, in (line, parcel key)
    order, after the cursor ``after``. A line not packed has one row (parcel key null), so
    the order among a line's rows only ever compares parcel keys."""
    placed = MV.c.placed_at
    if dialect == "postgresql":
        # As a naive UTC timestamp: psycopg makes those markedly faster than zoned ones.
        placed = func.timezone("UTC", placed)
    stmt = (select(MV.c.line_id, MV.c.item_id, MV.c.order_id, placed, MV.c.listing_id,
                   MV.c.quantity, MV.c.parcel_key, MV.c.parcel_state, MV.c.packed_quantity,
                   MV.c.carrier_id, MV.c.point_id)
            .where(condition, *window.clauses()))
    if after is not None:
        # The first conjunct bounds the index range; the second skips the cursor's line's
        # rows up to its parcel.
        stmt = stmt.where(MV.c.line_id >= after[0],
                          or_(MV.c.line_id > after[0], MV.c.parcel_key > after[1]))
    stmt = stmt.order_by(MV.c.line_id, MV.c.parcel_key)
    return stmt if limit is None else stmt.limit(limit + 1)


def _tuples(db: Session, stmt) -> list[tuple]:
    """The rows of ``stmt`` as the driver's own tuples (no Row objects, no result
    processing: ``placed_at`` stays as the driver gives it, see ``_placed``)."""
    result = db.connection().execute(stmt)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def forward(db: Session, origin: TraceKey, *, hops: int, window: Window,
            limit: int | None = None, after: tuple[int, str] | None = None):
    """Forward movements (a ``Movements``) and the cursor of the next page, if any."""
    condition = _origin_range(origin, hops)
    if condition is None:
        return Movements(db, origin, []), None
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        _no_jit(db)
    rows = _tuples(db, _movement_stmt(dialect, condition, window, after, limit))
    more = limit is not None and len(rows) > limit
    if more:
        del rows[limit:]
    return Movements(db, origin, rows), (_order(rows[-1]) if more else None)


def _no_jit(db: Session) -> None:
    """PostgreSQL's JIT compiles a plan whose estimated cost passes ``jit_above_cost``,
    which the range of a lot with about half a million sales reaches; compiling (some
    35 ms with inlining and optimisation) costs more than it saves a scan that computes
    nothing."""
    db.execute(text("SET LOCAL jit = off"))


def _hop(origin_kind: str, item_kind: str) -> int:
    """Edges from the origin to a sale: lot -> sale, lot -> unit -> sale, unit -> sale,
    parcel -> content -> sale."""
    if origin_kind == "lot":
        return 1 if item_kind == "lot" else 2
    return 1 if origin_kind == "unit" else 2


def _order(r) -> tuple[int, str]:
    return r[0], r[6] or ""


def _item_info(db: Session, origin: TraceKey, rows) -> dict[int, tuple]:
    """{trace key id: (key, kind, state)} of the items the rows sold (a lot's units: a few
    thousand ids, as ``one_of`` lists)."""
    ids = set(map(itemgetter(1), rows))
    info = {origin.id: (origin.key, origin.kind, None if origin.kind == "lot" else origin.state)}
    ids.discard(origin.id)
    columns = select(TK.c.id, TK.c.key, TK.c.kind, TK.c.state)
    for chunk in chunks(sorted(ids)):
        for id_, key, kind, state in db.execute(columns.where(one_of(db, TK.c.id, chunk))):
            info[id_] = (key, kind, None if kind == "lot" else state)
    return info


def _returns(db: Session, origin: TraceKey, items: dict) -> dict[tuple[str, int], str]:
    """{(order id, unit id): return status} for units of the rows that came back."""
    units = [i for i, (_k, kind, _s) in items.items() if kind == "unit"]
    if not units:
        return {}
    stmt = (select(Return.order_id, ReturnItem.trace_key_id, Return.status)
            .join(Return, Return.id == ReturnItem.return_id))
    if origin.kind == "lot":
        stmt = stmt.join(TraceKey, TraceKey.id == ReturnItem.trace_key_id).where(
            TraceKey.lot_id == origin.lot_id)
        return {(o, k): s for o, k, s in db.execute(stmt)}
    out = {}
    for chunk in chunks(units):
        out.update({(o, k): s for o, k, s in db.execute(
            stmt.where(one_of(db, ReturnItem.trace_key_id, chunk)))})
    return out


def _placed(value):
    """A sale time as ``_movement_stmt`` reads it: SQLite's stored UTC text, or a datetime
    (naive UTC from PostgreSQL)."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.timezone.utc)
    return _utc(value)


def _utc(value):
    """Aware UTC, whatever the engine handed back."""
    if value is None or isinstance(value, str):
        return value
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else \
        value.astimezone(dt.timezone.utc)


def _position(row: dict) -> str:
    """Where the goods of a movement are now, in a few words."""
    if row["returned"] == "received" or row["item_state"] == "returned":
        return "returned to the merchant"
    if row["returned"] == "requested" or row["item_state"] == "return_requested":
        return "return requested"
    state = row["parcel_state"]
    if state is None:
        return "sold, not packed"
    if state == "packed":
        return "packed at the merchant, not dispatched"
    if state == "dispatched":
        return "dispatched, no logistics scan yet"
    if state == "in_transit":
        return f"in transit, last seen at {row['point']} ({row['city']})"
    return "delivered"


def forward_summary(db: Session, origin: TraceKey, *, hops: int, window: Window) -> dict:
    """Totals over every forward movement, computed by the database (first page of a
    paged trace): nothing but the grouped counts leaves it."""
    condition = _origin_range(origin, hops)
    if condition is None:
        return _totals(db, origin, 0, 0, ())
    if db.get_bind().dialect.name == "postgresql":
        _no_jit(db)
    where = (condition, *window.clauses())
    groups = db.execute(
        select(MV.c.parcel_state, MV.c.point_id, func.count(),
               func.sum(func.coalesce(MV.c.packed_quantity, MV.c.quantity)))
        .where(*where).group_by(MV.c.parcel_state, MV.c.point_id)).all()
    orders = db.scalar(select(func.count()).select_from(
        select(MV.c.order_id).where(*where).distinct().subquery()))
    return _totals(db, origin, sum(n for _s, _p, n, _q in groups), orders or 0,
                   ((state, point, quantity) for state, point, _n, quantity in groups))


def _totals(db: Session, origin: TraceKey, movements: int, orders: int, groups) -> dict:
    """The summary of a forward trace from its quantities by (parcel state, point)."""
    cities = dict(db.execute(select(LogisticsPoint.id, LogisticsPoint.city)).all())
    by_state, by_city = Counter(), Counter()
    quantity = 0
    for parcel_state, point_id, total in groups:
        total = total or 0
        quantity += total
        by_state[parcel_state or "not_packed"] += total
        if parcel_state == "in_transit" and point_id in cities:
            by_city[cities[point_id]] += total
    return {"movements": movements, "orders": orders, "quantity": quantity,
            "quantity_by_parcel_state": dict(sorted(by_state.items())),
            "in_transit_by_city": dict(sorted(by_city.items())),
            "units_by_state": _unit_states(db, origin)}


def _unit_states(db: Session, origin: TraceKey) -> dict:
    if origin.kind == "lot":
        where = and_(TK.c.lot_id == origin.lot_id, TK.c.kind == "unit")
    elif origin.kind == "unit":
        where = TK.c.id == origin.id
    else:
        parcel_id = select(PCL.c.id).where(PCL.c.trace_key_id == origin.id).scalar_subquery()
        where = and_(TK.c.kind == "unit", TK.c.id.in_(
            select(PI.c.trace_key_id).where(PI.c.parcel_id == parcel_id)))
    return dict(db.execute(select(TK.c.state, func.count()).where(where)
                           .group_by(TK.c.state).order_by(TK.c.state)).all())


# --- backward --------------------------------------------------------------------------------


class _Sources:
    """Backward results, each (kind, ref) once at its smallest hop."""

    def __init__(self, hops: int):
        self.hops = hops
        self.items: dict[tuple[str, str], dict] = {}

    def add(self, hop: int, relation: str, kind: str, ref: str, name: str | None,
            **details) -> bool:
        if hop > self.hops or len(self.items) >= BACKWARD_LIMIT:
            return False
        known = self.items.get((kind, ref))
        if known is None or known["hop"] > hop:
            self.items[(kind, ref)] = {"hop": hop, "relation": relation, "kind": kind,
                                       "ref": ref, "name": name, "details": details}
        return True

    def result(self) -> dict:
        items = sorted(self.items.values(), key=lambda s: (s["hop"], s["kind"], s["ref"]))
        return {"items": items, "truncated": len(self.items) >= BACKWARD_LIMIT}


def backward(db: Session, origin: TraceKey, hops: int) -> dict:
    out = _Sources(hops)
    if origin.kind == "parcel":
        parcel = db.scalar(select(Parcel).where(Parcel.trace_key_id == origin.id))
        order = db.get(Order, parcel.order_id)
        out.add(1, "shipped_for_order", "order", order.id, order.order_no,
                placed_at=_utc(order.placed_at).isoformat(), status=order.status)
        _party(db, out, 1, "sent_by", parcel.merchant_id)
        _party(db, out, 1, "carried_by", parcel.carrier_id)
        for item in parcel.items:
            tk = item.trace_key
            if out.add(1, "contains", tk.kind, tk.key, None, quantity=item.quantity,
                       state=tk.state):
                _item_sources(db, out, tk, 1)
    else:
        _item_sources(db, out, origin, 0)
    return out.result()


def _item_sources(db: Session, out: _Sources, item: TraceKey, hop: int) -> None:
    product_hop = hop + 1
    if item.lot_id and item.kind == "unit":
        lot = db.get(Lot, item.lot_id)
        _lot(out, hop + 1, lot)
        product_hop = hop + 2
    if item.gtin:
        product = db.get(Product, item.gtin)
        out.add(product_hop, "product", "product", product.gtin, product.name,
                category=product.category)
        _party(db, out, product_hop + 1, "made_by", product.maker_id)
        if product.registrant_id != product.maker_id:
            _party(db, out, product_hop + 1, "registered_by", product.registrant_id)
    # A lot was sold through its own quantity lines and through its units' lines.
    items = (OrderLine.trace_key_id.in_(select(TK.c.id).where(TK.c.lot_id == item.lot_id))
             if item.kind == "lot" else OrderLine.trace_key_id == item.id)
    sold = db.execute(
        select(Listing.id, Listing.title, Listing.merchant_id, Listing.lot_id,
               func.count(OrderLine.id))
        .join(OrderLine, OrderLine.listing_id == Listing.id)
        .where(items)
        .group_by(Listing.id, Listing.title, Listing.merchant_id, Listing.lot_id)
        .order_by(Listing.id).limit(BACKWARD_LIMIT)).all()
    for listing_id, title, merchant_id, lot_id, lines in sold:
        out.add(hop + 1, "sold_through", "listing", listing_id, title, sales=lines,
                lot_specific=lot_id is not None)
        _party(db, out, hop + 2, "sold_by", merchant_id)


def _lot(out: _Sources, hop: int, lot: Lot) -> None:
    out.add(hop, "from_lot", "lot", f"01/{lot.gtin}/10/{lot.lot}", lot.lot, **_lot_details(lot))


def _lot_details(lot: Lot) -> dict:
    return {"production_date": lot.production_date.isoformat() if lot.production_date else None,
            "expiry_date": lot.expiry_date.isoformat() if lot.expiry_date else None,
            "origin": lot.origin, "recalled": lot.recalled_at is not None}


def _party(db: Session, out: _Sources, hop: int, relation: str, party_id: str | None) -> None:
    if not party_id:
        return
    party = db.get(Party, party_id)
    licences = [{"kind": lic.kind, "number": lic.number, "valid_until":
                 lic.valid_until.isoformat()} for lic in party.licences]
    out.add(hop, relation, "party", party.id, party.name, party_kind=party.kind,
            credit_code=party.credit_code, verified=party.verified, licences=licences)


# --- the one call ----------------------------------------------------------------------------


def parse_cursor(text_: str | None) -> tuple[int, str] | None:
    """A forward page cursor is ``"<line id>:<parcel id or empty>"`` (inside the base64)."""
    value = decode_cursor(text_)
    if value is None:
        return None
    line, _, parcel = value.partition(":")
    if not is_ascii_digits(line, 18):
        raise Unprocessable("bad_cursor", "cursor: not a cursor this API handed out",
                            field="cursor")
    return int(line), parcel


def trace(ctx: Ctx, text_: str, *, direction: str = "both", hops: int = DEFAULT_HOPS,
          window: Window = Window(), limit: int | None = 100,
          after: tuple[int, str] | None = None) -> dict:
    """Backward sources and/or forward movements of a trace key (see module docstring).

    ``limit=None`` reads every forward movement (exports): ``forward.movements`` holds
    them as tuples and ``forward.items`` is left empty; otherwise one page of dicts, with
    the totals over all movements on the first page.
    """
    if direction not in DIRECTIONS:
        raise Unprocessable("bad_direction",
                            f"direction must be one of {', '.join(DIRECTIONS)}", field="direction")
    if not 1 <= hops <= MAX_HOPS:
        raise Unprocessable("bad_hops", f"hops must be between 1 and {MAX_HOPS}", field="hops")
    origin = find_key(ctx.db, text_)
    if origin.kind == "parcel" and ctx.db.scalar(
            select(PCL.c.id).where(PCL.c.trace_key_id == origin.id)) is None:
        raise NotFound("parcel_not_found", f"no parcel {origin.key}", key=origin.key)
    out = {"origin": describe_key(ctx.db, origin), "direction": direction, "hops": hops,
           "since": window.since, "until": window.until, "backward": None, "forward": None,
           "next_cursor": None}
    if direction in ("backward", "both") and after is None:
        out["backward"] = backward(ctx.db, origin, hops)
    if direction in ("forward", "both"):
        movements, last = forward(ctx.db, origin, hops=hops, window=window, limit=limit,
                                  after=after)
        if limit is None:
            out["forward"] = {"summary": movements.summary(ctx.db, origin), "items": [],
                              "movements": movements}
        else:
            summary = (forward_summary(ctx.db, origin, hops=hops, window=window)
                       if after is None else None)
            out["forward"] = {"summary": summary, "items": movements.dicts()}
        if last is not None:
            out["next_cursor"] = encode_cursor(f"{last[0]}:{last[1]}")
    return out
