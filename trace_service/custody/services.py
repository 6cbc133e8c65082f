"""Custody rules and B2B transfers.

Only the custodian of goods may sell, pack or ship them. Units carry their custodian in
``trace_keys.owner_id``; lot quantities are counted per holder in ``lot_holdings`` and are
conserved: every quantity taken from a holder is either sold to a consumer or put with
another holder by a transfer's receipt. Taking stock is one conditional ``UPDATE ... WHERE
quantity >= :n`` (checked by its row count), so two sales racing for the last cartons of a
lot cannot both succeed on any engine.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from trace_service.chain.events import record_event
from trace_service.chain.models import TraceKey
from trace_service.chain.services import find_key, lock, refuse_if_blocked
from trace_service.context import Ctx
from trace_service.custody.models import LotHolding, Transfer, TransferItem
from trace_service.db import new_id, utcnow
from trace_service.errors import Conflict, NotFound, Unprocessable
from trace_service.parties.models import TRADING_KINDS, Party

#: Unit states in which the custodian has the goods in stock (may sell or ship them on).
IN_STOCK = ("commissioned", "received", "returned")


def held(db: Session, lot_key_id: int, party_id: str | None) -> int:
    if not party_id:
        return 0
    return db.scalar(select(LotHolding.quantity).where(
        LotHolding.trace_key_id == lot_key_id, LotHolding.party_id == party_id)) or 0


def holds_any_of_lot(db: Session, lot: TraceKey, party_id: str) -> bool:
    """Does ``party_id`` hold some of a lot: a quantity, or one of its units in stock?"""
    if held(db, lot.id, party_id) > 0:
        return True
    return db.scalar(select(TraceKey.id).where(
        TraceKey.lot_id == lot.lot_id, TraceKey.kind == "unit", TraceKey.owner_id == party_id,
        TraceKey.state.in_(IN_STOCK)).limit(1)) is not None


def put(db: Session, lot_key_id: int, party_id: str, quantity: int) -> None:
    """Add ``quantity`` of a lot to what ``party_id`` holds."""
    db.flush()
    done = db.execute(update(LotHolding).where(
        LotHolding.trace_key_id == lot_key_id, LotHolding.party_id == party_id)
        .values(quantity=LotHolding.quantity + quantity)).rowcount
    if not done:
        db.add(LotHolding(trace_key_id=lot_key_id, party_id=party_id, quantity=quantity))
        db.flush()


def take(db: Session, lot: TraceKey, party_id: str | None, quantity: int, action: str) -> None:
    """Take ``quantity`` of a lot from ``party_id``'s stock, or refuse (409) naming what it
    holds. The check and the decrement are one statement."""
    db.flush()
    done = party_id and db.execute(update(LotHolding).where(
        LotHolding.trace_key_id == lot.id, LotHolding.party_id == party_id,
        LotHolding.quantity >= quantity)
        .values(quantity=LotHolding.quantity - quantity)).rowcount
    if not done:
        have = held(db, lot.id, party_id)
        raise Conflict("not_enough_in_custody",
                       f"{lot.key}: you hold {have} of this lot and cannot have {quantity} "
                       f"{action}; only goods in your custody can be", key=lot.key,
                       held=have, requested=quantity)


def check_unit_custody(key: TraceKey, party_id: str | None, action: str) -> None:
    """A unit may be sold, packed or shipped only by the party holding it."""
    if key.owner_id is None or key.owner_id != party_id:
        raise Conflict("not_in_custody",
                       f"{key.key} is not in your custody; only the party holding goods can "
                       f"have them {action} (they reach you by a transfer you receive)",
                       key=key.key)


def commissioned(db: Session, lot: TraceKey, party_id: str, quantity: int | None) -> None:
    """A new lot's declared quantity starts with the party that commissioned it."""
    if quantity:
        put(db, lot.id, party_id, quantity)


def ship(ctx: Ctx, *, destination_id: str, items: list[dict], reference: str,
         carrier_id: str | None, event_time: dt.datetime | None) -> Transfer:
    """Ship goods in the caller's custody to another party (CBV ``shipping``)."""
    me = ctx.actor.party_id
    if not me:
        raise Unprocessable("party_required", "transfers are made by the party holding the "
                            "goods, with its own key")
    dest = ctx.db.get(Party, destination_id)
    if dest is None or dest.kind not in TRADING_KINDS or dest.id == me:
        raise Unprocessable("party_not_found", f"destination_id: {destination_id} is not "
                            "another maker, merchant or platform", field="destination_id")
    if carrier_id:
        carrier = ctx.db.get(Party, carrier_id)
        if carrier is None or carrier.kind != "carrier":
            raise Unprocessable("carrier_not_found", f"carrier_id: {carrier_id} is not a "
                                "carrier", field="carrier_id")
    wanted: list[tuple[TraceKey, int]] = []
    for i, item in enumerate(items):
        key = find_key(ctx.db, item["key"], f"items[{i}].key")
        qty = item.get("quantity")
        if key.kind == "unit":
            if qty not in (None, 1):
                raise Unprocessable("unit_quantity", f"items[{i}].quantity: a serialised unit "
                                    "moves one at a time", field=f"items[{i}].quantity")
            qty = 1
        elif key.kind == "lot":
            if not qty:
                raise Unprocessable("quantity_required", f"items[{i}].quantity: say how many "
                                    "of the lot are shipped", field=f"items[{i}].quantity")
        else:
            raise Unprocessable("not_transferable", f"items[{i}].key: {key.key} is a "
                                f"{key.kind}; ship units or lot quantities",
                                field=f"items[{i}].key")
        wanted.append((key, qty))
    if len({k.id for k, _ in wanted}) != len(wanted):
        raise Unprocessable("duplicate_items", "the same unit or lot appears twice")
    keys = lock(ctx.db, [k for k, _ in wanted])
    today = ctx.today()
    transfer = Transfer(id=new_id("trf"), source_id=me, destination_id=dest.id,
                        carrier_id=carrier_id, reference=reference,
                        shipped_at=event_time or utcnow())
    ctx.db.add(transfer)
    ctx.db.flush()
    for (_, qty), key in zip(wanted, keys):
        if not _back_to_its_maker(ctx, key, dest.id):
            # Recalled or expired goods move only back to their maker or brand owner.
            refuse_if_blocked(key, today, "shipped")
        if key.kind == "unit":
            check_unit_custody(key, me, "shipped")
            if key.state not in IN_STOCK:
                raise Conflict("not_in_stock", f"{key.key} is {key.state}; only goods in "
                               "stock can be shipped", key=key.key, state=key.state)
            key.state = "shipped"
            key.updated_at = utcnow()
        else:
            take(ctx.db, key, me, qty, "shipped")
        ctx.db.add(TransferItem(transfer_id=transfer.id, trace_key_id=key.id, quantity=qty))
    ctx.db.flush()
    ctx.db.refresh(transfer)
    record_event(ctx.db, biz_step="shipping", disposition="in_transit", actor=ctx.actor,
                 keys=keys, quantities={k.id: q for (_, q), k in zip(wanted, keys)
                                        if k.kind == "lot"},
                 event_time=event_time, default_offset=ctx.tz_offset,
                 source=me, destination=dest.id, parties=[carrier_id],
                 transactions={"transfer": transfer.id, "desadv": reference})
    return transfer


def _back_to_its_maker(ctx: Ctx, key: TraceKey, destination_id: str) -> bool:
    from trace_service.catalog.models import Product

    product = ctx.db.get(Product, key.gtin) if key.gtin else None
    return product is not None and destination_id in (product.maker_id,
                                                       product.brand_owner_id)


def get_transfer(ctx: Ctx, transfer_id: str) -> Transfer:
    transfer = ctx.db.get(Transfer, transfer_id)
    a = ctx.actor
    if transfer is None or not (a.sees_everything or a.party_id in (
            transfer.source_id, transfer.destination_id, transfer.carrier_id)):
        raise NotFound("transfer_not_found", f"no transfer {transfer_id}",
                       transfer=transfer_id)
    return transfer


def receive(ctx: Ctx, transfer_id: str, *, event_time: dt.datetime | None) -> Transfer:
    """The destination takes the goods into its custody (CBV ``receiving``)."""
    get_transfer(ctx, transfer_id)
    # Re-read under a row lock: of two receipts racing, the second waits and then sees
    # ``received`` (on SQLite the write transaction already serialises them).
    transfer = ctx.db.scalar(select(Transfer).where(Transfer.id == transfer_id)
                             .with_for_update().execution_options(populate_existing=True))
    if ctx.actor.party_id != transfer.destination_id:
        raise Conflict("not_the_destination", f"transfer {transfer.id} is addressed to another "
                       "party; only the destination can receive it", transfer=transfer.id)
    if transfer.status != "shipped":
        raise Conflict("transfer_already_received", f"transfer {transfer.id} was already "
                       "received", transfer=transfer.id)
    keys = lock(ctx.db, [item.trace_key for item in transfer.items])
    quantities = {}
    for item, key in zip(transfer.items, keys):
        if key.kind == "unit":
            key.owner_id = transfer.destination_id
            key.state = "received"
            key.updated_at = utcnow()
        else:
            put(ctx.db, key.id, transfer.destination_id, item.quantity)
            quantities[key.id] = item.quantity
    transfer.status = "received"
    transfer.received_at = event_time or utcnow()
    record_event(ctx.db, biz_step="receiving", disposition="in_progress", actor=ctx.actor,
                 keys=keys, quantities=quantities, event_time=event_time,
                 default_offset=ctx.tz_offset, source=transfer.source_id,
                 destination=transfer.destination_id, parties=[transfer.carrier_id],
                 transactions={"transfer": transfer.id, "desadv": transfer.reference})
    return transfer


def transfers(ctx: Ctx, *, limit: int, after: str | None) -> list[Transfer]:
    stmt = select(Transfer).order_by(Transfer.id).limit(limit + 1)
    if not ctx.actor.sees_everything:
        me = ctx.actor.party_id
        stmt = stmt.where(or_(Transfer.source_id == me, Transfer.destination_id == me,
                              Transfer.carrier_id == me))
    if after:
        stmt = stmt.where(Transfer.id > after)
    return ctx.db.scalars(stmt).all()


def stock(ctx: Ctx, party_id: str | None = None) -> dict:
    """What a party holds: lot quantities and in-stock units per product."""
    me = party_id if ctx.actor.sees_everything and party_id else ctx.actor.party_id
    lots = ctx.db.execute(select(TraceKey.key, LotHolding.quantity)
                          .join(TraceKey, TraceKey.id == LotHolding.trace_key_id)
                          .where(LotHolding.party_id == me, LotHolding.quantity > 0)
                          .order_by(TraceKey.key)).all()
    units = ctx.db.execute(select(TraceKey.gtin, TraceKey.state, TraceKey.id)
                           .where(TraceKey.owner_id == me, TraceKey.kind == "unit",
                                  TraceKey.state.in_(IN_STOCK + ("shipped",)))).all()
    per_gtin: dict[str, dict] = {}
    for gtin, state, _ in units:
        entry = per_gtin.setdefault(gtin, {"gtin": gtin, "in_stock": 0, "shipped": 0})
        entry["shipped" if state == "shipped" else "in_stock"] += 1
    return {"party_id": me, "lots": [{"key": k, "quantity": q} for k, q in lots],
            "units": sorted(per_gtin.values(), key=lambda e: e["gtin"])}
