"""Trace keys: resolving what a user typed, locking for a state change, and trails."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_service.catalog.models import Lot, Product
from trace_service.chain.models import Event, EventKey, TraceKey
from trace_service import visibility
from trace_service.chain import facts
from trace_service.context import Ctx
from trace_service.errors import Conflict, NotFound, Unprocessable
from trace_service.identifiers import IdentifierError, parse_trace_key


def parse_key(text: str, field: str = "key"):
    """A ``TraceKeyRef`` from any accepted identifier form, or a 422 naming the problem."""
    try:
        return parse_trace_key(text)
    except IdentifierError as exc:
        raise Unprocessable(exc.code, f"{field}: {exc.message}", field=field,
                            **exc.details) from None


def find_key(db: Session, text: str, field: str = "key") -> TraceKey:
    ref = parse_key(text, field)
    row = db.scalar(select(TraceKey).where(TraceKey.key == ref.key))
    if row is None:
        raise NotFound("unknown_trace_key", f"{field}: {ref.key} is not registered",
                       field=field, key=ref.key)
    return row


def lock(db: Session, keys: list[TraceKey]) -> list[TraceKey]:
    """Re-read ``keys`` under a row lock, in id order (so two requests never deadlock).

    On PostgreSQL this is ``SELECT ... FOR UPDATE``: a concurrent request changing the same
    keys waits for our commit and then sees our state. SQLite write transactions already
    hold the database write lock (``BEGIN IMMEDIATE``), so the re-read is enough there.
    """
    ids = sorted({k.id for k in keys})
    if not ids:
        return []
    rows = db.scalars(
        select(TraceKey).where(TraceKey.id.in_(ids)).order_by(TraceKey.id)
        .with_for_update(of=TraceKey).execution_options(populate_existing=True)
    ).all()
    by_id = {r.id: r for r in rows}
    return [by_id[k.id] for k in keys]


def refuse_if_blocked(key: TraceKey, today, action: str) -> None:
    """Recalled or expired goods may not be sold or moved on."""
    lot = key.lot
    if lot is None:
        return
    if lot.recalled_at is not None:
        raise Conflict("recalled", f"{key.key} belongs to lot {lot.lot}, which is recalled; "
                       f"it cannot be {action}", key=key.key, lot=lot.lot)
    if lot.expired(today):
        raise Conflict("expired", f"{key.key} belongs to lot {lot.lot}, which expired on "
                       f"{lot.expiry_date.isoformat()}; it cannot be {action}",
                       key=key.key, lot=lot.lot, expiry=lot.expiry_date.isoformat())


def describe_key(db: Session, key: TraceKey, actor=None) -> dict:
    """Facts about a trace key for its trail header (no personal data); the parcel it travels
    in is named only to a caller who may know that parcel."""
    out = {"kind": key.kind, "key": key.key, "state": key.state,
           "updated_at": key.updated_at}
    if key.gtin:
        product = db.get(Product, key.gtin)
        out["product"] = {"gtin": product.gtin, "name": product.name,
                          "category": product.category, "maker_id": product.maker_id}
    if key.lot_id:
        lot = db.get(Lot, key.lot_id)
        out["lot"] = {"lot": lot.lot, "production_date": lot.production_date,
                      "expiry_date": lot.expiry_date, "origin": lot.origin,
                      "recalled": lot.recalled_at is not None}
    if key.container_id:
        container = db.get(TraceKey, key.container_id)
        if actor is None or visibility.knows_key(db, actor, container):
            out["container"] = container.key
    return out


def trail(ctx: Ctx, text: str, *, limit: int, after: int | None) -> tuple[dict, list[dict], int | None]:
    """The trace key's header and one page of its events in record order; the steps the
    caller is not party to are placeholders (``trace_service.visibility``)."""
    key = find_key(ctx.db, text)
    if not visibility.knows_key(ctx.db, ctx.actor, key):
        # Same answer as for an unknown key: existence is not revealed to other parties.
        raise NotFound("unknown_trace_key", f"key: {key.key} is not registered", key=key.key)
    stmt = (select(Event, EventKey.role).join(EventKey, EventKey.event_id == Event.id)
            .where(EventKey.trace_key_id == key.id).order_by(Event.id).limit(limit + 1))
    if after is not None:
        stmt = stmt.where(Event.id > after)
    rows = ctx.db.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    readable = visibility.readable_events(ctx.db, ctx.actor, key, [e for e, _ in rows])
    events = [event_view(event, role) if event.id in readable
              else visibility.placeholder(event, ctx.tz) for event, role in rows]
    return (describe_key(ctx.db, key, ctx.actor), events,
            (rows[-1][0].id if more else None))


def event_view(event: Event, role: str | None = None) -> dict:
    """An event as its hashed content states it (``chain.facts``; the columns are indexes)."""
    f = facts.of(event)
    view = {"event_id": f.event_id, "biz_step": f.biz_step,
            "event_time": f.event_time, "record_time": f.record_time,
            "point_id": f.point_id, "party_id": f.party_id,
            "device_id": f.device_id, "content": f.content}
    if f.damaged:
        view["damaged"] = f.damaged
    if role is not None:
        view["via"] = "container" if role == "content" else "direct"
    return view
