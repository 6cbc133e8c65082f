"""Trace forward and backward from any unit, lot or parcel, in one call.

Nothing here reads ``events``. The chain's current-state tables are, in effect, the edge
index of the trace graph, and every step is an index range or seek on one of them:

============================  =====================================================
edge                          table and index
============================  =====================================================
lot -> its units              ``trace_keys.lot_id`` (ix_trace_keys_lot_id)
unit or lot -> its sales      ``order_lines.trace_key_id`` (ix_order_lines_trace_key_id)
sale -> the parcel carrying   ``parcels.order_id`` (ix_parcels_order_id), then the
it                            ``parcel_items`` primary key (parcel_id, trace_key_id)
parcel -> contents            ``parcel_items`` primary key
item -> parcels, returns      ix_parcel_items_trace_key_id, ix_return_items_trace_key_id
                              (migration 0005)
parcel -> where it is now     ``trace_keys.state``, ``parcels.last_point_id``
============================  =====================================================

Forward rows are *movements*: one per sale line and the parcel that carried it (a sale not
yet packed gives one row without a parcel). Hops count edges from the origin: from a lot,
its own sales are hop 1 and its units' sales hop 2 (lot -> unit -> sale); from a unit, its
sales are hop 1; from a parcel, its contents are hop 1 and their sales (this parcel's and
any later one, after a return and re-sale) hop 2. A lot's own sales and its units' sales
are read as two index ranges in sale-line order, so a page (keyset cursor on line and
parcel) reads only its rows, and the complete trace (exports) reads each row once.

Backward from a unit or lot: lot, product, maker, registrant, and the listings and
merchants that sold it; from a parcel also the order, the sender, the carrier and the
contents (then the contents' sources, one hop further).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter

from sqlalchemy import (
    DateTime, String, and_, case, exists, func, or_, select, text, type_coerce, union_all,
)
from sqlalchemy.orm import Session

from trace_service.catalog.models import Listing, Lot, Product
from trace_service.chain.models import TraceKey
from trace_service.chain.services import describe_key, find_key
from trace_service.context import Ctx
from trace_service.errors import NotFound, Unprocessable
from trace_service.orders.models import Order, OrderLine, Return, ReturnItem
from trace_service.parties.models import LogisticsPoint, Party
from trace_service.schemas import decode_cursor, encode_cursor
from trace_service.shipping.models import Parcel, ParcelItem

DIRECTIONS = ("forward", "backward", "both")
MAX_HOPS = 4
DEFAULT_HOPS = 3
BACKWARD_LIMIT = 500

TK = TraceKey.__table__
PARCEL_TK = TK.alias("parcel_tk")
OL = OrderLine.__table__
ORD = Order.__table__
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
            out.append(ORD.c.placed_at >= self.since)
        if self.until is not None:
            out.append(ORD.c.placed_at < self.until)
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
        listings = {r[4] for r in rows}
        self.listings = dict(db.execute(select(Listing.id, Listing.merchant_id).where(
            Listing.id.in_(listings))).all()) if listings else {}
        parties = set(self.listings.values()) | {r[9] for r in rows if r[9]}
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
        """Totals over these rows (one pass) and the current states of the units."""
        by_state, by_city = Counter(), Counter()
        quantity, orders = 0, set()
        points = self.points
        for r in self.rows:
            qty = r[8] or r[5]
            quantity += qty
            orders.add(r[2])
            by_state[r[7] or "not_packed"] += qty
            if r[7] == "in_transit" and r[10] in points:
                by_city[points[r[10]][1]] += qty
        return {"movements": len(self.rows), "orders": len(orders), "quantity": quantity,
                "quantity_by_parcel_state": dict(sorted(by_state.items())),
                "in_transit_by_city": dict(sorted(by_city.items())),
                "units_by_state": _unit_states(db, origin)}


def _item_groups(db: Session, origin: TraceKey, hops: int) -> list:
    """The origin's forward items as SQL conditions on ``order_lines.trace_key_id``. A
    lot's own sales and its units' sales are separate groups, so each is one range of
    ``ix_order_lines_trace_key_id`` (the lot's: in line order) and the planner estimates
    each well (the lot's key is a most-common value, its units are not)."""
    if origin.kind == "unit":
        return [OL.c.trace_key_id == origin.id]
    if origin.kind == "lot":
        groups = [OL.c.trace_key_id == origin.id]
        if hops >= 2:
            units = select(TK.c.id).where(TK.c.lot_id == origin.lot_id, TK.c.kind == "unit")
            groups.append(OL.c.trace_key_id.in_(units))
        return groups
    if hops < 2:
        return []
    parcel_id = select(PCL.c.id).where(PCL.c.trace_key_id == origin.id).scalar_subquery()
    return [OL.c.trace_key_id.in_(select(PI.c.trace_key_id).where(PI.c.parcel_id == parcel_id))]


_PLACED = String().with_variant(DateTime(timezone=True), "postgresql")


def _movement_stmt(condition, window: Window, after: tuple[int, str] | None,
                   limit: int | None):
    """Sale lines matching ``condition`` with the parcel that carried each (one row per
    parcel; a line no parcel carries gives one row without parcel).

    The parcels of the line's order are joined (``ix_parcels_order_id``), then the
    parcel's item row for this line's item (primary key of ``parcel_items``); a parcel
    of the order that does not carry the item yields nulls and is dropped unless no
    parcel carries it (the NOT EXISTS runs only for those rows).
    """
    carried = PI.c.parcel_id.is_not(None)
    carrier = case((carried, PCL.c.carrier_id), else_=None)
    point = case((carried, PCL.c.last_point_id), else_=None)
    x_pcl, x_pi = PCL.alias("x_pcl"), PI.alias("x_pi")
    carried_elsewhere = exists().where(x_pcl.c.order_id == OL.c.order_id,
                                       x_pi.c.parcel_id == x_pcl.c.id,
                                       x_pi.c.trace_key_id == OL.c.trace_key_id)
    parcel_key = func.coalesce(PARCEL_TK.c.key, "")
    # The sale time without the UTCDateTime decorator (a Python call per row): SQLite's
    # text is parsed only when a row is shown (``_placed``), psycopg's value is used as is.
    placed = type_coerce(ORD.c.placed_at, _PLACED)
    stmt = (select(OL.c.id, OL.c.trace_key_id, OL.c.order_id, placed, OL.c.listing_id,
                   OL.c.quantity, PARCEL_TK.c.key, PARCEL_TK.c.state, PI.c.quantity, carrier,
                   point)
            .select_from(OL.join(ORD, ORD.c.id == OL.c.order_id)
                         .outerjoin(PCL, PCL.c.order_id == OL.c.order_id)
                         .outerjoin(PI, and_(PI.c.parcel_id == PCL.c.id,
                                             PI.c.trace_key_id == OL.c.trace_key_id))
                         .outerjoin(PARCEL_TK, and_(PARCEL_TK.c.id == PCL.c.trace_key_id,
                                                    carried)))
            .where(condition, or_(carried, ~carried_elsewhere), *window.clauses()))
    if after is not None:
        stmt = stmt.where(or_(OL.c.id > after[0],
                              and_(OL.c.id == after[0], parcel_key > after[1])))
    if limit is not None:
        stmt = stmt.order_by(OL.c.id, parcel_key).limit(limit + 1)
    return stmt


def forward(db: Session, origin: TraceKey, *, hops: int, window: Window,
            limit: int | None = None, after: tuple[int, str] | None = None):
    """Forward movements (a ``Movements``) and the cursor of the next page, if any."""
    if db.get_bind().dialect.name == "postgresql":
        # PostgreSQL's JIT compiles big joins at a cost of ~0.2 s, more than it saves here.
        db.execute(text("SET LOCAL jit = off"))
    rows = []
    for condition in _item_groups(db, origin, hops):
        rows += db.execute(_movement_stmt(condition, window, after, limit)).all()
    rows.sort(key=itemgetter(0))
    unique = []
    for r in rows:
        if not unique or unique[-1][0] != r[0]:
            unique.append(r)
            continue
        # A second row of one sale: it was split over parcels, or an order of two parcels
        # carries it in neither (two identical rows without parcel: keep one).
        if r[6] is None:
            continue
        k = 1
        while k < len(unique) and unique[-k - 1][0] == r[0]:
            k += 1
        run = unique[-k:] + [r]
        del unique[-k:]
        unique.extend(sorted(run, key=_order))
    more = limit is not None and len(unique) > limit
    unique = unique[:limit] if limit is not None else unique
    last = _order(unique[-1]) if more else None
    return Movements(db, origin, unique), last


def _hop(origin_kind: str, item_kind: str) -> int:
    """Edges from the origin to a sale: lot -> sale, lot -> unit -> sale, unit -> sale,
    parcel -> content -> sale."""
    if origin_kind == "lot":
        return 1 if item_kind == "lot" else 2
    return 1 if origin_kind == "unit" else 2


def _order(r) -> tuple[int, str]:
    return r[0], r[6] or ""


def _item_info(db: Session, origin: TraceKey, rows) -> dict[int, tuple]:
    """{trace key id: (key, kind, state)} of the items the rows sold."""
    ids = {r[1] for r in rows}
    info = {origin.id: (origin.key, origin.kind, None if origin.kind == "lot" else origin.state)}
    ids.discard(origin.id)
    for chunk in _chunks(sorted(ids), 5000):
        for id_, key, kind, state in db.execute(
                select(TK.c.id, TK.c.key, TK.c.kind, TK.c.state).where(TK.c.id.in_(chunk))):
            info[id_] = (key, kind, None if kind == "lot" else state)
    return info


def _chunks(values: list, size: int):
    for i in range(0, len(values), size):
        yield values[i:i + size]


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
    for chunk in _chunks(units, 5000):
        out.update({(o, k): s for o, k, s in db.execute(
            stmt.where(ReturnItem.trace_key_id.in_(chunk)))})
    return out


def _placed(value):
    """A sale time as read by ``_movement_stmt``: SQLite's stored UTC text, or a datetime."""
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
    groups = [_movement_stmt(c, window, None, None) for c in _item_groups(db, origin, hops)]
    if not groups:
        return Movements(db, origin, []).summary(db, origin)
    m = (union_all(*groups) if len(groups) > 1 else groups[0]).subquery("movement")
    state, qty, packed, point = m.c[7], m.c[5], m.c[8], m.c[10]
    rows = db.execute(select(state, point, func.count(),
                             func.sum(func.coalesce(packed, qty)))
                      .group_by(state, point)).all()
    orders = db.scalar(select(func.count(func.distinct(m.c[2]))))
    cities = dict(db.execute(select(LogisticsPoint.id, LogisticsPoint.city)).all())
    by_state, by_city = Counter(), Counter()
    movements = quantity = 0
    for parcel_state, point_id, n, total in rows:
        movements += n
        quantity += total or 0
        by_state[parcel_state or "not_packed"] += total or 0
        if parcel_state == "in_transit" and point_id in cities:
            by_city[cities[point_id]] += total or 0
    return {"movements": movements, "orders": orders or 0, "quantity": quantity,
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
    if not line.isdigit() or len(line) > 18:
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
