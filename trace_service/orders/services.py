"""Sales (orders with lines and a payment reference) and returns, with the chain rules.

A sale also writes one ``movements`` row per line (``trace_service.inspect.movements``);
returns change none (a trace reads the return and the unit's state where they are kept).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from trace_service.catalog.models import Listing
from trace_service.chain.events import record_event
from trace_service.chain.models import TraceKey
from trace_service.chain.services import find_key, lock, refuse_if_blocked
from trace_service.context import Ctx
from trace_service.custody.services import IN_STOCK, check_unit_custody, take
from trace_service.db import new_id, utcnow
from trace_service.errors import Conflict, NotFound, Unprocessable
from trace_service.inspect.movements import lines_sold
from trace_service.orders.models import Order, OrderLine, Return, ReturnItem
from trace_service.people.services import upsert_person

SELLABLE = IN_STOCK
RETURN_WINDOW = dt.timedelta(days=7)


def get_order(ctx: Ctx, order_id: str) -> Order:
    order = ctx.db.get(Order, order_id)
    if order is None:
        raise NotFound("order_not_found", f"order {order_id} does not exist", order=order_id)
    ctx.own_party(order.merchant_id, "order", order_id)
    return order


def place_order(ctx: Ctx, *, order_no: str, buyer: dict, consignee: dict | None,
                payment: dict, lines: list[dict], event_time: dt.datetime | None) -> Order:
    """Record a sale. Every line names a listing of the caller and a unit or lot key."""
    merchant_id = ctx.actor.party_id
    if ctx.db.scalar(select(Order.id).where(Order.merchant_id == merchant_id,
                                            Order.order_no == order_no)):
        raise Conflict("order_exists", f"order number {order_no} is already recorded",
                       order_no=order_no)
    resolved = []
    for i, line in enumerate(lines):
        field = f"lines[{i}]"
        listing = ctx.db.get(Listing, line["listing_id"])
        if listing is None or listing.merchant_id != merchant_id:
            raise Unprocessable("listing_not_found",
                                f"{field}.listing_id: no listing {line['listing_id']} of yours",
                                field=f"{field}.listing_id")
        if listing.status != "active":
            raise Conflict("listing_not_active",
                           f"{field}: listing {listing.id} is {listing.status}; it cannot sell",
                           listing=listing.id)
        key = find_key(ctx.db, line["key"], f"{field}.key")
        _check_line(key, listing, line.get("quantity", 1), field)
        resolved.append((listing, key, line.get("quantity", 1)))
    if len({k.id for _, k, _ in resolved}) != len(resolved):
        raise Unprocessable("duplicate_lines", "the same unit or lot appears on two lines")

    keys = lock(ctx.db, [k for _, k, _ in resolved])
    today = ctx.today()
    for (listing, _, qty), key in zip(resolved, keys):
        if key.kind == "unit":
            # Custody first: a party that does not hold the pack learns nothing of its state.
            check_unit_custody(key, merchant_id, "sold")
            if key.state == "shipped":
                raise Conflict("not_in_stock", f"{key.key} is on its way to another party; "
                               "it can be sold by whoever receives it", key=key.key,
                               state=key.state)
            if key.state not in SELLABLE:
                raise Conflict("already_sold", f"{key.key} was already sold (its state is "
                               f"{key.state}); one serial can be sold once", key=key.key,
                               state=key.state)
        refuse_if_blocked(key, today, "sold")
        if key.kind == "lot":
            take(ctx.db, key, merchant_id, qty, "sold")

    order = Order(
        id=new_id("ord"), merchant_id=merchant_id, order_no=order_no,
        buyer_id=upsert_person(ctx.db, buyer, merchant_id).id,
        consignee_id=(upsert_person(ctx.db, consignee, merchant_id).id if consignee else None),
        payment_channel=payment["channel"], payment_reference=payment["reference"],
        total_cents=sum(listing.price_cents * qty for listing, _, qty in resolved),
        currency=resolved[0][0].currency,
    )
    ctx.db.add(order)
    ctx.db.flush()
    sold = []
    for (listing, _, qty), key in zip(resolved, keys):
        line = OrderLine(order_id=order.id, listing_id=listing.id, trace_key_id=key.id,
                         quantity=qty, price_cents=listing.price_cents)
        ctx.db.add(line)
        sold.append((line, key))
        if key.kind == "unit":
            key.state = "sold"
            key.updated_at = utcnow()
    ctx.db.flush()
    lines_sold(ctx.db, order, sold)
    ctx.db.refresh(order)
    record_event(
        ctx.db, biz_step="sale", disposition="sold", event_type="TransactionEvent",
        action="ADD", actor=ctx.actor, keys=keys, default_offset=ctx.tz_offset,
        quantities={k.id: qty for (_, _, qty), k in zip(resolved, keys) if k.kind == "lot"},
        event_time=event_time,
        parties=[merchant_id],
        transactions={"order": order.id,
                      "listing": ",".join(sorted({l.id for l, _, _ in resolved}))},
        data={"payment_channel": order.payment_channel},
    )
    return order


def _check_line(key: TraceKey, listing: Listing, quantity: int, field: str) -> None:
    if key.kind not in ("unit", "lot"):
        raise Unprocessable("not_sellable", f"{field}.key: {key.key} is a {key.kind}; "
                            "sell units or lots", field=f"{field}.key")
    if key.gtin != listing.gtin:
        raise Unprocessable("listing_mismatch", f"{field}: {key.key} is not the product of "
                            f"listing {listing.id} (GTIN {listing.gtin})", field=field)
    if listing.lot_id and key.lot_id != listing.lot_id:
        raise Unprocessable("listing_mismatch",
                            f"{field}: {key.key} is not from the lot listing {listing.id} offers",
                            field=field)
    if key.kind == "unit" and quantity != 1:
        raise Unprocessable("unit_quantity", f"{field}.quantity: a serialised unit is sold "
                            "one at a time", field=f"{field}.quantity")


def request_return(ctx: Ctx, order_id: str, *, keys: list[str], reason: str) -> Return:
    """Start a return of delivered units of an order; 7-day no-reason returns are time-boxed."""
    order = get_order(ctx, order_id)
    line_keys = {line.trace_key_id: line for line in order.lines}
    rows = []
    for i, text in enumerate(keys):
        key = find_key(ctx.db, text, f"keys[{i}]")
        if key.id not in line_keys or key.kind != "unit":
            raise Unprocessable("not_in_order", f"keys[{i}]: {key.key} is not a unit of order "
                                f"{order.id}", field=f"keys[{i}]")
        rows.append(key)
    rows = lock(ctx.db, rows)
    for key in rows:
        if key.state != "delivered":
            raise Conflict("not_delivered", f"{key.key} is {key.state}; only delivered goods "
                           "can be returned", key=key.key, state=key.state)
    if reason == "no_reason_7_days":
        from trace_service.shipping.models import Parcel

        delivered = ctx.db.scalar(select(Parcel.delivered_at).where(Parcel.order_id == order.id)
                                  .order_by(Parcel.delivered_at.desc()))
        if delivered and utcnow() - delivered > RETURN_WINDOW:
            raise Conflict("return_window_closed", "the 7-day no-reason return window closed on "
                           f"{(delivered + RETURN_WINDOW).date().isoformat()}")
    ret = Return(id=new_id("rtn"), order_id=order.id, reason=reason)
    ctx.db.add(ret)
    ctx.db.flush()
    for key in rows:
        ctx.db.add(ReturnItem(return_id=ret.id, trace_key_id=key.id))
        key.state = "return_requested"
        key.updated_at = utcnow()
    ctx.db.flush()
    ctx.db.refresh(ret)
    record_event(ctx.db, biz_step="return_request", disposition="return_requested",
                 actor=ctx.actor, keys=rows, default_offset=ctx.tz_offset,
                 parties=[order.merchant_id],
                 transactions={"order": order.id, "return": ret.id}, data={"reason": reason})
    return ret


def receive_return(ctx: Ctx, return_id: str) -> Return:
    """The merchant got the goods back: they are sellable again (and visibly so)."""
    ret = ctx.db.get(Return, return_id)
    if ret is None:
        raise NotFound("return_not_found", f"return {return_id} does not exist")
    order = get_order(ctx, ret.order_id)
    if ret.status != "requested":
        raise Conflict("return_already_received", f"return {ret.id} was already received")
    keys = lock(ctx.db, [item.trace_key for item in ret.items])
    for key in keys:
        key.state = "returned"
        key.container_id = None
        key.updated_at = utcnow()
    ret.status = "received"
    ret.received_at = utcnow()
    order.status = "returned"
    record_event(ctx.db, biz_step="return_receipt", disposition="returned", actor=ctx.actor,
                 keys=keys, default_offset=ctx.tz_offset,
                 parties=[order.merchant_id],
                 transactions={"order": order.id, "return": ret.id})
    return ret
