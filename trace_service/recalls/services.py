"""Opening, following and closing recalls.

Opening a recall sets ``lots.recalled_at`` on its lots, in the same transaction. From that
commit on, the chain's rules (``chain.services.refuse_if_blocked``) refuse to list, sell,
pack or dispatch anything of those lots; a batch scan of a parcel carrying them is
accepted with the warning ``recalled``; ``GET /api/v1/blocklist`` lists the lots, their
units and the parcels carrying them for the scanners' offline lists; and the consumer
pages show the banner (``active_recall_for_lot``). Closing clears the flag.

A lot is under at most one open recall: ``open_recall`` locks the lots' rows (in id order,
``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write transaction holds the database
lock) before checking, so two inspectors recalling the same lot at once cannot both win.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trace_service.catalog.models import Lot, Product
from trace_service.chain.models import TraceKey
from trace_service.chain.services import find_key
from trace_service.context import Ctx
from trace_service.db import new_id, utcnow
from trace_service.errors import Conflict, NotFound, Unprocessable
from trace_service.orders.models import Order, OrderLine, Return, ReturnItem
from trace_service.parties.models import LogisticsPoint, Party
from trace_service.people.models import Person
from trace_service.people.services import masked
from trace_service.recalls.models import SEVERITIES, Recall, RecallLot
from trace_service.shipping.models import Parcel, ParcelItem

PARCEL_LIST_LIMIT = 500


def active_recall_for_lot(db: Session, lot_id: str) -> dict | None:
    """The open recall of a lot, for banners: ``{"id", "severity", "reason", "authority",
    "reference", "opened_at"}``, or None. (``lots.recalled_at`` is the flag the rules read;
    this gives the words to show with it.)"""
    recall = db.scalar(select(Recall).join(RecallLot, RecallLot.recall_id == Recall.id)
                       .where(RecallLot.lot_id == lot_id, Recall.status == "open")
                       .order_by(Recall.opened_at.desc()).limit(1))
    if recall is None:
        return None
    return {"id": recall.id, "severity": recall.severity, "reason": recall.reason,
            "authority": recall.authority, "reference": recall.reference,
            "opened_at": recall.opened_at}


def _resolve_lots(ctx: Ctx, lots: list[str]) -> list[Lot]:
    if not lots:
        raise Unprocessable("no_lots", "lots: name at least one lot")
    ids = []
    for i, text in enumerate(lots):
        key = find_key(ctx.db, text, f"lots[{i}]")
        if key.kind != "lot":
            raise Unprocessable("not_a_lot", f"lots[{i}]: {key.key} is a {key.kind}; a recall "
                                "names lots (GTIN + lot number)", field=f"lots[{i}]")
        if key.lot_id not in ids:
            ids.append(key.lot_id)
    return _lock_lots(ctx.db, ids)


def _lock_lots(db: Session, ids: list[str]) -> list[Lot]:
    return list(db.scalars(select(Lot).where(Lot.id.in_(ids)).order_by(Lot.id)
                           .with_for_update(of=Lot).execution_options(populate_existing=True)))


def open_recall(ctx: Ctx, *, lots: list[str], reason: str, severity: str, authority: str,
                reference: str | None = None) -> Recall:
    if severity not in SEVERITIES:
        raise Unprocessable("bad_severity", f"severity must be one of {', '.join(SEVERITIES)}",
                            field="severity")
    rows = _resolve_lots(ctx, lots)
    open_ids = dict(ctx.db.execute(
        select(RecallLot.lot_id, Recall.id).join(Recall, Recall.id == RecallLot.recall_id)
        .where(RecallLot.lot_id.in_([lot.id for lot in rows]), Recall.status == "open")).all())
    for lot in rows:
        if lot.id in open_ids:
            raise Conflict("lot_already_recalled",
                           f"lot {lot.lot} of GTIN {lot.gtin} is already under open recall "
                           f"{open_ids[lot.id]}", lot=lot.lot, gtin=lot.gtin,
                           recall_id=open_ids[lot.id])
    now = utcnow()
    recall = Recall(id=new_id("rcl"), status="open", severity=severity, reason=reason,
                    authority=authority, reference=reference, opened_at=now,
                    opened_by=ctx.actor.key_id)
    ctx.db.add(recall)
    ctx.db.flush()
    for lot in rows:
        ctx.db.add(RecallLot(recall_id=recall.id, lot_id=lot.id))
        lot.recalled_at = now
    ctx.db.flush()
    ctx.db.refresh(recall)
    return recall


def get_recall(db: Session, recall_id: str) -> Recall:
    recall = db.get(Recall, recall_id)
    if recall is None:
        raise NotFound("recall_not_found", f"no recall {recall_id}", recall_id=recall_id)
    return recall


def close_recall(ctx: Ctx, recall_id: str, *, note: str) -> Recall:
    recall = get_recall(ctx.db, recall_id)
    ctx.db.execute(select(Recall.id).where(Recall.id == recall.id).with_for_update())
    ctx.db.refresh(recall)
    if recall.status != "open":
        raise Conflict("recall_closed", f"recall {recall.id} was closed on "
                       f"{recall.closed_at.isoformat()}", recall_id=recall.id)
    for lot in _lock_lots(ctx.db, [rl.lot_id for rl in recall.lots]):
        lot.recalled_at = None
    recall.status = "closed"
    recall.closed_at = utcnow()
    recall.closed_by = ctx.actor.key_id
    recall.close_note = note
    ctx.db.flush()
    return recall


def list_recalls(db: Session, *, status: str | None, limit: int, after: str | None):
    stmt = select(Recall).order_by(Recall.id).limit(limit + 1)
    if status:
        stmt = stmt.where(Recall.status == status)
    if after:
        stmt = stmt.where(Recall.id > after)
    rows = db.scalars(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more and rows else None)


# --- progress --------------------------------------------------------------------------------


def _items(recall: Recall):
    """Trace keys of the recalled lots: the lots themselves and their units."""
    return select(TraceKey.id).where(TraceKey.lot_id.in_([rl.lot_id for rl in recall.lots]))


def lot_views(db: Session, recall: Recall) -> list[dict]:
    out = []
    for rl in recall.lots:
        lot = rl.lot
        product = db.get(Product, lot.gtin)
        out.append({"lot_id": lot.id, "key": f"01/{lot.gtin}/10/{lot.lot}", "gtin": lot.gtin,
                    "lot": lot.lot, "product": product.name, "category": product.category,
                    "expiry_date": lot.expiry_date, "recalled_at": lot.recalled_at})
    return out


def progress(db: Session, recall: Recall) -> dict:
    """How far recovery has got: what was sold, where it is, what came back."""
    items = _items(recall)
    lot_ids = [rl.lot_id for rl in recall.lots]
    units = dict(db.execute(select(TraceKey.state, func.count())
                            .where(TraceKey.lot_id.in_(lot_ids), TraceKey.kind == "unit")
                            .group_by(TraceKey.state).order_by(TraceKey.state)).all())
    sold_qty, orders = db.execute(
        select(func.coalesce(func.sum(OrderLine.quantity), 0),
               func.count(func.distinct(OrderLine.order_id)))
        .where(OrderLine.trace_key_id.in_(items))).one()
    parcel_tk = TraceKey.__table__.alias("parcel_tk")
    carried = (select(parcel_tk.c.state, func.count(func.distinct(Parcel.id)),
                      func.coalesce(func.sum(ParcelItem.quantity), 0))
               .select_from(ParcelItem.__table__
                            .join(Parcel.__table__, Parcel.id == ParcelItem.parcel_id)
                            .join(parcel_tk, parcel_tk.c.id == Parcel.trace_key_id))
               .where(ParcelItem.trace_key_id.in_(items))
               .group_by(parcel_tk.c.state).order_by(parcel_tk.c.state))
    by_state = {state: {"parcels": n, "quantity": qty} for state, n, qty in db.execute(carried)}
    returned = db.execute(
        select(Return.status, func.count())
        .select_from(ReturnItem.__table__.join(Return.__table__,
                                               Return.id == ReturnItem.return_id))
        .where(ReturnItem.trace_key_id.in_(items)).group_by(Return.status)
        .order_by(Return.status)).all()
    returned_since = db.scalar(
        select(func.count()).select_from(ReturnItem.__table__.join(
            Return.__table__, Return.id == ReturnItem.return_id))
        .where(ReturnItem.trace_key_id.in_(items), Return.received_at >= recall.opened_at))
    stopped = sum(v["parcels"] for s, v in by_state.items() if s != "delivered")
    return {
        "units_by_state": units,
        "units_returned": units.get("returned", 0),
        "units_return_requested": units.get("return_requested", 0),
        "returns_by_status": dict(returned),
        "returned_since_recall": returned_since,
        "quantity_sold": sold_qty,
        "orders": orders,
        "parcels_by_state": by_state,
        "parcels_stopped": stopped,
        "quantity_delivered": by_state.get("delivered", {}).get("quantity", 0),
        "buyers_to_contact": orders,
    }


def holders(db: Session, recall: Recall) -> list[dict]:
    """Traders still holding recalled goods (lot quantities, units in stock or shipped to
    them): the stock to withdraw before it is sold, by party."""
    from trace_service.custody.models import LotHolding
    from trace_service.custody.services import IN_STOCK
    from trace_service.parties.models import Party

    lot_ids = [rl.lot_id for rl in recall.lots]
    out: dict[tuple[str, str], dict] = {}

    def row(party_id, lot_key):
        return out.setdefault((party_id, lot_key), {"party_id": party_id, "lot": lot_key,
                                                    "quantity": 0, "units_in_stock": 0,
                                                    "units_in_transfer": 0})

    for party_id, key, qty in db.execute(
            select(LotHolding.party_id, TraceKey.key, LotHolding.quantity)
            .join(TraceKey, TraceKey.id == LotHolding.trace_key_id)
            .where(TraceKey.lot_id.in_(lot_ids), LotHolding.quantity > 0)):
        row(party_id, key)["quantity"] += qty
    lots = {lot.id: f"01/{lot.gtin}/10/{lot.lot}" for lot in (rl.lot for rl in recall.lots)}
    for party_id, lot_id, state, n in db.execute(
            select(TraceKey.owner_id, TraceKey.lot_id, TraceKey.state, func.count())
            .where(TraceKey.lot_id.in_(lot_ids), TraceKey.kind == "unit",
                   TraceKey.state.in_(IN_STOCK + ("shipped",)))
            .group_by(TraceKey.owner_id, TraceKey.lot_id, TraceKey.state)):
        entry = row(party_id, lots[lot_id])
        entry["units_in_transfer" if state == "shipped" else "units_in_stock"] += n
    names = _names(db, Party, {p for p, _ in out})
    return [dict(v, party=names.get(v["party_id"])) for _, v in sorted(out.items())]


def stopped_parcels(db: Session, recall: Recall, limit: int = PARCEL_LIST_LIMIT) -> list[dict]:
    """Parcels carrying recalled goods that have not been delivered: to stop or intercept."""
    parcel_tk = TraceKey.__table__.alias("parcel_tk")
    rows = db.execute(
        select(parcel_tk.c.key, parcel_tk.c.state, Parcel.order_id, Parcel.carrier_id,
               Parcel.last_point_id, Parcel.dispatched_at, func.sum(ParcelItem.quantity))
        .select_from(ParcelItem.__table__
                     .join(Parcel.__table__, Parcel.id == ParcelItem.parcel_id)
                     .join(parcel_tk, parcel_tk.c.id == Parcel.trace_key_id))
        .where(ParcelItem.trace_key_id.in_(_items(recall)), parcel_tk.c.state != "delivered")
        .group_by(parcel_tk.c.key, parcel_tk.c.state, Parcel.order_id, Parcel.carrier_id,
                  Parcel.last_point_id, Parcel.dispatched_at)
        .order_by(parcel_tk.c.key).limit(limit)).all()
    parties = _names(db, Party, {r.carrier_id for r in rows})
    points = {p.id: p for p in db.scalars(select(LogisticsPoint).where(
        LogisticsPoint.id.in_({r.last_point_id for r in rows if r.last_point_id})))}
    return [{"parcel": r.key, "state": r.state, "order_id": r.order_id,
             "carrier_id": r.carrier_id, "carrier": parties.get(r.carrier_id),
             "last_point": points[r.last_point_id].name if r.last_point_id else None,
             "city": points[r.last_point_id].city if r.last_point_id else None,
             "dispatched_at": r.dispatched_at, "quantity": r[6]} for r in rows]


def _names(db: Session, model, ids) -> dict:
    ids = {i for i in ids if i}
    return dict(db.execute(select(model.id, model.name).where(model.id.in_(ids))).all()) \
        if ids else {}


def buyers(db: Session, recall: Recall, *, limit: int, after: int | None):
    """Buyers of recalled goods to contact, one row per sale line, personal data masked."""
    stmt = (select(OrderLine.id, OrderLine.order_id, OrderLine.quantity, Order.merchant_id,
                   Order.placed_at, Order.status, Order.buyer_id, Order.consignee_id,
                   TraceKey.key)
            .join(Order, Order.id == OrderLine.order_id)
            .join(TraceKey, TraceKey.id == OrderLine.trace_key_id)
            .where(OrderLine.trace_key_id.in_(_items(recall)))
            .order_by(OrderLine.id).limit(limit + 1))
    if after is not None:
        stmt = stmt.where(OrderLine.id > after)
    rows = db.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    people_ids = {r.buyer_id for r in rows} | {r.consignee_id for r in rows if r.consignee_id}
    people = {p.id: p for p in db.scalars(select(Person).where(Person.id.in_(people_ids)))} \
        if people_ids else {}
    merchants = _names(db, Party, {r.merchant_id for r in rows})
    items = [{"line_id": r.id, "order_id": r.order_id, "key": r.key, "quantity": r.quantity,
              "merchant_id": r.merchant_id, "merchant": merchants.get(r.merchant_id),
              "placed_at": r.placed_at, "order_status": r.status,
              "buyer": masked(people.get(r.buyer_id)),
              "consignee": masked(people.get(r.consignee_id))} for r in rows]
    return items, (rows[-1].id if more and rows else None)
