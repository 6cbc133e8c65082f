"""Packing, dispatch, logistics-point scans and receipt (sign-for) of parcels.

A parcel is a trace key of its own (SSCC or waybill). Packing aggregates units and lot
quantities into it; dispatch, scans and receipt are events on the parcel that also list
its contents, so they appear in the trails of what it carries (EPCIS aggregation). Each
step also brings the parcel's ``movements`` rows up to date (``trace_service.inspect.
movements``), in the same transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from trace_service.chain.events import record_event
from trace_service.chain.models import TraceKey
from trace_service.chain.services import find_key, lock, parse_key, refuse_if_blocked
from trace_service.context import Ctx
from trace_service.db import new_id, utcnow
from trace_service.errors import Conflict, Forbidden, NotFound, Unprocessable
from trace_service.inspect.movements import parcel_packed, parcels_moved
from trace_service.orders.services import get_order
from trace_service.parties.models import LogisticsPoint, Party
from trace_service.people.services import scope_of, upsert_person
from trace_service.shipping.models import Parcel, ParcelItem, Receipt
from trace_service.shipping.rules import apply_move, check_dispatch, check_receipt, check_scan

SCAN_STEPS = ("arrive", "depart")
RECEIPT_METHODS = ("consignee", "proxy", "locker", "station")


def pack(ctx: Ctx, order_id: str, *, parcel_key: str, carrier_id: str,
         items: list[dict] | None, event_time: dt.datetime | None) -> Parcel:
    """Pack sold goods of one order into a parcel; without ``items``, everything unpacked."""
    order = get_order(ctx, order_id)
    ref = parse_key(parcel_key, "parcel")
    if ref.kind != "parcel":
        raise Unprocessable("not_a_parcel_key", f"parcel: {ref.key} is a {ref.kind}, not an "
                            "SSCC or waybill", field="parcel")
    if ctx.db.scalar(select(TraceKey.id).where(TraceKey.key == ref.key)):
        raise Conflict("parcel_exists", f"parcel {ref.key} is already in use", key=ref.key)
    carrier = ctx.db.get(Party, carrier_id)
    if carrier is None or carrier.kind != "carrier":
        raise Unprocessable("carrier_not_found", f"carrier_id: {carrier_id} is not a carrier",
                            field="carrier_id")
    lines = {line.trace_key_id: line for line in order.lines}
    already = dict(ctx.db.execute(
        select(ParcelItem.trace_key_id, func.sum(ParcelItem.quantity))
        .join(Parcel, Parcel.id == ParcelItem.parcel_id)
        .where(Parcel.order_id == order.id).group_by(ParcelItem.trace_key_id)).all())
    wanted: list[tuple[TraceKey, int]] = []
    if items:
        for i, item in enumerate(items):
            key = find_key(ctx.db, item["key"], f"items[{i}].key")
            if key.id not in lines:
                raise Unprocessable("not_in_order", f"items[{i}].key: {key.key} was not sold "
                                    f"in order {order.id}", field=f"items[{i}].key")
            wanted.append((key, item.get("quantity") or lines[key.id].quantity))
    else:
        wanted = [(line.trace_key, line.quantity - already.get(tid, 0))
                  for tid, line in lines.items() if line.quantity - already.get(tid, 0) > 0]
        if not wanted:
            raise Conflict("nothing_to_pack", f"everything in order {order.id} is packed")
    keys = lock(ctx.db, [k for k, _ in wanted])
    today = ctx.today()
    for (key, qty), locked in zip(wanted, keys):
        if locked.kind == "unit" and locked.state != "sold":
            raise Conflict("not_sold" if locked.state in ("commissioned", "returned")
                           else "already_packed",
                           f"{locked.key} is {locked.state}; only sold, unpacked units can be "
                           "packed", key=locked.key, state=locked.state)
        if locked.kind == "lot" and already.get(locked.id, 0) + qty > lines[locked.id].quantity:
            raise Conflict("over_packed", f"{locked.key}: packing {qty} more would exceed the "
                           f"{lines[locked.id].quantity} sold", key=locked.key)
        refuse_if_blocked(locked, today, "packed")
    parcel_tk = TraceKey(kind="parcel", key=ref.key, state="packed", owner_id=order.merchant_id)
    ctx.db.add(parcel_tk)
    ctx.db.flush()
    parcel = Parcel(id=new_id("pcl"), trace_key_id=parcel_tk.id, order_id=order.id,
                    merchant_id=order.merchant_id, carrier_id=carrier.id)
    ctx.db.add(parcel)
    ctx.db.flush()
    for (_, qty), key in zip(wanted, keys):
        ctx.db.add(ParcelItem(parcel_id=parcel.id, trace_key_id=key.id, quantity=qty))
        if key.kind == "unit":
            key.state = "packed"
            key.container_id = parcel_tk.id
            key.updated_at = utcnow()
    order.status = "packed"
    ctx.db.flush()
    parcel_packed(ctx.db, order, parcel, parcel_tk,
                  [(lines[key.id], key, qty) for (_, qty), key in zip(wanted, keys)])
    ctx.db.refresh(parcel)
    record_event(ctx.db, biz_step="packing", disposition="in_progress",
                 event_type="AggregationEvent", action="ADD", actor=ctx.actor, keys=[],
                 parent=parcel_tk, contents=keys, event_time=event_time,
                 default_offset=ctx.tz_offset,
                 parties=[order.merchant_id, carrier.id],
                 transactions={"order": order.id, "carrier": carrier.id},
                 data={"quantities": {k.key: q for (_, q), k in zip(wanted, keys)
                                      if k.kind == "lot"}})
    return parcel


def get_parcel(ctx: Ctx, parcel_key: str) -> Parcel:
    """A parcel by its key (SSCC, waybill, or parcel id), scoped to the caller."""
    if parcel_key.startswith("pcl_"):
        parcel = ctx.db.get(Parcel, parcel_key)
    else:
        try:
            key = find_key(ctx.db, parcel_key, "parcel")
        except NotFound:
            key = None  # answered below like another party's parcel
        parcel = key and ctx.db.scalar(select(Parcel).where(Parcel.trace_key_id == key.id))
    if parcel is None:
        raise NotFound("parcel_not_found", f"no parcel {parcel_key}")
    a = ctx.actor
    if not a.sees_everything and a.party_id not in (parcel.merchant_id, parcel.carrier_id):
        raise NotFound("parcel_not_found", f"no parcel {parcel_key}")
    if a.role == "device" and parcel.carrier_id != a.party_id:
        raise NotFound("parcel_not_found", f"no parcel {parcel_key}")
    return parcel


def _lock_parcel(ctx: Ctx, parcel: Parcel) -> tuple[TraceKey, list[TraceKey]]:
    items = [item.trace_key for item in parcel.items]
    # Lots travel as quantities and keep their state, so only the parcel and units are locked.
    lock(ctx.db, [parcel.trace_key] + [k for k in items if k.kind != "lot"])
    return parcel.trace_key, items


def dispatch(ctx: Ctx, parcel_key: str, *, event_time: dt.datetime | None) -> Parcel:
    parcel = get_parcel(ctx, parcel_key)
    tk, contents = _lock_parcel(ctx, parcel)
    check_dispatch(tk, contents, ctx.today())
    apply_move(tk, contents, "dispatched")
    parcel.dispatched_at = event_time or utcnow()
    parcels_moved(ctx.db, [tk.id], "dispatched")
    mark_order_dispatched(ctx.db, parcel.order_id)
    record_event(ctx.db, biz_step="dispatch", disposition="in_transit", actor=ctx.actor,
                 keys=[tk], contents=contents, event_time=event_time,
                 default_offset=ctx.tz_offset,
                 parties=[parcel.merchant_id, parcel.carrier_id],
                 transactions={"order": parcel.order_id, "carrier": parcel.carrier_id})
    return parcel


def scan(ctx: Ctx, *, key_text: str, step: str, point_id: str | None,
         event_time: dt.datetime | None, event_id: str | None = None,
         data: dict | None = None):
    """A logistics-point scan of a parcel: it (and all it carries) is in transit here.

    Returns ``(parcel, parcel_trace_key, event)``.
    """
    point_id = _scan_point(ctx, point_id)
    parcel = get_parcel(ctx, key_text)
    tk, contents = _lock_parcel(ctx, parcel)
    check_scan(tk, parcel.delivered_at)
    apply_move(tk, contents, "in_transit")
    parcel.last_point_id = point_id
    parcels_moved(ctx.db, [tk.id], "in_transit", point_id)
    point = ctx.db.get(LogisticsPoint, point_id)
    event = record_event(
        ctx.db, biz_step=step, disposition="in_transit", actor=ctx.actor, keys=[tk],
        contents=contents, point_id=point_id, gln=point.gln, event_time=event_time,
        default_offset=ctx.tz_offset, event_id=event_id,
        parties=[parcel.merchant_id, parcel.carrier_id],
        transactions={"order": parcel.order_id}, data=data)
    return parcel, tk, event


def _scan_point(ctx: Ctx, point_id: str | None) -> str:
    """A device scans only at its own point; a carrier names one of its own points (another
    carrier's point is answered like one that does not exist)."""
    if ctx.actor.point_id:
        if point_id and point_id != ctx.actor.point_id:
            raise Forbidden("wrong_point", f"this device is bound to point {ctx.actor.point_id}"
                            f" and cannot record scans at {point_id}",
                            device_point=ctx.actor.point_id, point=point_id)
        return ctx.actor.point_id
    if not point_id:
        raise Unprocessable("point_required", "point_id: say where this happened",
                            field="point_id")
    point = ctx.db.get(LogisticsPoint, point_id)
    if point is None or not (ctx.actor.sees_everything
                             or point.carrier_id == ctx.actor.party_id):
        raise Unprocessable("point_not_found", f"point_id: no point {point_id} of yours",
                            field="point_id")
    return point_id


def receive(ctx: Ctx, parcel_key: str, *, signer: dict | None, method: str,
            point_id: str | None, event_time: dt.datetime | None) -> Receipt:
    """Sign-for: the parcel and its contents are delivered to the consignee."""
    parcel = get_parcel(ctx, parcel_key)
    if ctx.actor.role == "device" or point_id:
        point_id = _scan_point(ctx, point_id)
    tk, contents = _lock_parcel(ctx, parcel)
    check_receipt(tk)
    now = utcnow()
    apply_move(tk, contents, "delivered")
    parcel.delivered_at = event_time or now
    parcels_moved(ctx.db, [tk.id], "delivered")
    receipt = Receipt(id=new_id("rcp"), parcel_id=parcel.id, method=method,
                      signer_id=(upsert_person(ctx.db, signer, scope_of(ctx.actor)).id
                                 if signer else None),
                      signed_at=event_time or now, point_id=point_id)
    ctx.db.add(receipt)
    mark_order_delivered_if_complete(ctx.db, parcel.order_id)
    record_event(ctx.db, biz_step="receipt", disposition="delivered", actor=ctx.actor,
                 keys=[tk], contents=contents, point_id=point_id, event_time=event_time,
                 default_offset=ctx.tz_offset,
                 parties=[parcel.merchant_id, parcel.carrier_id],
                 transactions={"order": parcel.order_id, "receipt": receipt.id},
                 data={"method": method})
    ctx.db.flush()
    return receipt


def mark_order_delivered_if_complete(db, order_id: str) -> None:
    """An order is delivered once every one of its parcels is."""
    from trace_service.orders.models import Order

    db.flush()
    pending = db.scalar(select(func.count()).select_from(Parcel).where(
        Parcel.order_id == order_id, Parcel.delivered_at.is_(None)))
    if not pending:
        db.get(Order, order_id).status = "delivered"


def mark_order_dispatched(db, order_id: str) -> None:
    from trace_service.orders.models import Order

    order = db.get(Order, order_id)
    if order.status in ("placed", "packed"):
        order.status = "dispatched"
