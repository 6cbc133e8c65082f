"""Search trace keys by any identifier and filters; the trail of one with who, where, when
and each step's integrity status."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from trace_service.catalog.models import Listing, Lot, Product
from trace_service.chain import facts
from trace_service.chain.models import Event, EventKey, TraceKey
from trace_service.chain.services import describe_key, find_key
from trace_service.context import Ctx
from trace_service.errors import Unprocessable
from trace_service.identifiers import IdentifierError, normalize_gtin, parse_trace_key
from trace_service.ingest.models import Scan
from trace_service.inspect import integrity
from trace_service.orders.models import Order, OrderLine
from trace_service.parties.models import Device, LogisticsPoint, Party
from trace_service.shipping.models import Parcel, ParcelItem

KINDS = ("unit", "lot", "parcel")


def _query_condition(db: Session, q: str):
    """The condition ``q`` puts on trace keys, and how it was read."""
    q = q.strip()
    if q[:4] in ("ord_", "pcl_", "lot_", "lst_"):
        return _by_id(q)
    try:
        ref = parse_trace_key(q)
    except IdentifierError as exc:
        if exc.code == "gtin_without_serial_or_lot":
            gtin = exc.details["gtin"]
            return TraceKey.gtin == gtin, f"product GTIN {gtin}"
        if q.isdigit() and len(q) in (8, 12, 13, 14):
            try:
                gtin = normalize_gtin(q)
            except IdentifierError as bad:
                raise Unprocessable(bad.code, f"q: {bad.message}", field="q",
                                    **bad.details) from None
            return TraceKey.gtin == gtin, f"product GTIN {gtin}"
        if exc.code != "unrecognised_identifier":
            raise Unprocessable(exc.code, f"q: {exc.message}", field="q",
                                **exc.details) from None
        # Free text: a lot number or a serial without its GTIN.
        lots = select(Lot.id).where(Lot.lot == q)
        return (or_(TraceKey.lot_id.in_(lots) & (TraceKey.kind == "lot"),
                    TraceKey.key.endswith(f"/21/{q}", autoescape=True)),
                f"lot or serial {q!r} of any product")
    return TraceKey.key == ref.key, f"{ref.kind} {ref.key}"


def _by_id(q: str):
    """Internal ids an inspector may have from another record."""
    if q.startswith("ord_"):
        lines = select(OrderLine.trace_key_id).where(OrderLine.order_id == q)
        parcels = select(Parcel.trace_key_id).where(Parcel.order_id == q)
        return or_(TraceKey.id.in_(lines), TraceKey.id.in_(parcels)), f"order {q}"
    if q.startswith("pcl_"):
        return TraceKey.id.in_(select(Parcel.trace_key_id).where(Parcel.id == q)), f"parcel {q}"
    if q.startswith("lot_"):
        return and_(TraceKey.lot_id == q, TraceKey.kind == "lot"), f"lot {q}"
    lines = select(OrderLine.trace_key_id).where(OrderLine.listing_id == q)
    lot = select(Listing.lot_id).where(Listing.id == q)
    return (or_(TraceKey.id.in_(lines), and_(TraceKey.lot_id.in_(lot), TraceKey.kind == "lot")),
            f"listing {q}")


def search(ctx: Ctx, *, q: str | None = None, kind: str | None = None,
           merchant_id: str | None = None, carrier_id: str | None = None,
           category: str | None = None, since: dt.datetime | None = None,
           until: dt.datetime | None = None, limit: int = 50,
           after: int | None = None) -> dict:
    """Trace keys matching every given criterion, in id order (keyset paging)."""
    stmt = (select(TraceKey, Product.name, Product.category, Lot.lot, Lot.recalled_at, Party.name)
            .outerjoin(Product, Product.gtin == TraceKey.gtin)
            .outerjoin(Lot, Lot.id == TraceKey.lot_id)
            .outerjoin(Party, Party.id == TraceKey.owner_id))
    understood = []
    if q:
        condition, meaning = _query_condition(ctx.db, q)
        stmt = stmt.where(condition)
        understood.append(meaning)
    if kind:
        stmt = stmt.where(TraceKey.kind == kind)
    if merchant_id:
        sold = (select(OrderLine.trace_key_id).join(Order, Order.id == OrderLine.order_id)
                .where(Order.merchant_id == merchant_id))
        shipped = select(Parcel.trace_key_id).where(Parcel.merchant_id == merchant_id)
        stmt = stmt.where(or_(TraceKey.owner_id == merchant_id, TraceKey.id.in_(sold),
                              TraceKey.id.in_(shipped)))
        understood.append(f"merchant {merchant_id}")
    if carrier_id:
        parcels = select(Parcel.trace_key_id).where(Parcel.carrier_id == carrier_id)
        carried = (select(ParcelItem.trace_key_id).join(Parcel, Parcel.id == ParcelItem.parcel_id)
                   .where(Parcel.carrier_id == carrier_id))
        stmt = stmt.where(or_(TraceKey.id.in_(parcels), TraceKey.id.in_(carried)))
        understood.append(f"carrier {carrier_id}")
    if category:
        stmt = stmt.where(Product.category == category)
        understood.append(f"category {category}")
    if since is not None or until is not None:
        active = (select(EventKey.trace_key_id).join(Event, Event.id == EventKey.event_id)
                  .where(EventKey.trace_key_id == TraceKey.id))
        if since is not None:
            active = active.where(Event.record_time >= since)
        if until is not None:
            active = active.where(Event.record_time < until)
        stmt = stmt.where(exists(active))
        understood.append("with steps recorded in the date range")
    if after is not None:
        stmt = stmt.where(TraceKey.id > after)
    rows = ctx.db.execute(stmt.order_by(TraceKey.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{"kind": tk.kind, "key": tk.key, "state": tk.state, "gtin": tk.gtin,
              "product": product, "category": cat, "lot": lot,
              "recalled": recalled_at is not None, "owner_id": tk.owner_id, "owner": owner,
              "updated_at": tk.updated_at}
             for tk, product, cat, lot, recalled_at, owner in rows]
    return {"items": items, "understood": understood,
            "next_cursor_id": rows[-1][0].id if more else None}


# --- the trail -------------------------------------------------------------------------------


def trail(ctx: Ctx, text_: str, *, limit: int, after: int | None,
          checkpoint_key=None) -> dict:
    """One page of a trace key's steps, in record order, each with who / where / when and
    its integrity status against the newest signed checkpoint."""
    key = find_key(ctx.db, text_)
    stmt = (select(Event, EventKey.role).join(EventKey, EventKey.event_id == Event.id)
            .where(EventKey.trace_key_id == key.id).order_by(Event.id).limit(limit + 1))
    if after is not None:
        stmt = stmt.where(Event.id > after)
    rows = ctx.db.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    log_key = checkpoint_key or integrity.log_key()
    checkpoint = integrity.fresh_checkpoint(ctx.db, log_key)
    statuses = integrity.check_events(ctx.db, log_key, checkpoint, [e for e, _ in rows])
    who = _Who(ctx.db, [e for e, _ in rows])
    steps = [step_view(event, role, who, statuses[event.id]) for event, role in rows]
    return {"trace_key": describe_key(ctx.db, key),
            "checkpoint": ({"size": checkpoint.size, "log_id": checkpoint.log_id,
                            "issued_at": checkpoint.issued_at} if checkpoint else None),
            "integrity": _overall(statuses.values()),
            "steps": steps, "next_cursor_id": rows[-1][0].id if more else None}


def _overall(statuses) -> str:
    kinds = {s.status for s in statuses}
    for worst in (integrity.FAILED, integrity.NOT_LOGGED, integrity.PENDING):
        if worst in kinds:
            return worst
    return integrity.VERIFIED if kinds else "empty"


class _Who:
    """Names of the parties, points and devices of a page of events, and the staff number
    the scanner sent with a batch scan (one query each)."""

    def __init__(self, db: Session, events: list[Event]):
        events = [facts.of(e) for e in events]
        parties = {e.party_id for e in events if e.party_id}
        points = {e.point_id for e in events if e.point_id}
        devices = {e.device_id for e in events if e.device_id}
        self.parties = {p.id: p for p in db.scalars(
            select(Party).where(Party.id.in_(parties)))} if parties else {}
        self.points = {p.id: p for p in db.scalars(
            select(LogisticsPoint).where(LogisticsPoint.id.in_(points)))} if points else {}
        self.devices = dict(db.execute(select(Device.id, Device.label).where(
            Device.id.in_(devices))).all()) if devices else {}
        ids = [e.event_id for e in events if e.device_id]
        self.staff = dict(db.execute(select(Scan.id, Scan.staff_no).where(
            Scan.id.in_(ids), Scan.staff_no.is_not(None))).all()) if ids else {}


def step_view(event: Event, role: str, who: _Who, status) -> dict:
    """One step as its hashed content states it (``chain.facts``): the columns only found
    the event. Names of parties, points and devices are looked up by the content's ids."""
    f = facts.of(event)
    content = f.content
    party = who.parties.get(f.party_id)
    point = who.points.get(f.point_id)
    offset = f.zone_offset
    return {
        "event_id": f.event_id, "biz_step": f.biz_step,
        "disposition": content.get("disposition"), "action": content.get("action"),
        "via": "container" if role == "content" else "direct",
        "when": {"event_time": f.event_time, "zone_offset": offset,
                 "local_time": local_time(f.event_time, offset) if f.event_time else None,
                 "record_time": f.record_time},
        "who": {"party_id": f.party_id, "party": party.name if party else None,
                "party_kind": party.kind if party else None, "device_id": f.device_id,
                "device": who.devices.get(f.device_id),
                "staff_no": who.staff.get(f.event_id)},
        "where": {"point_id": f.point_id, "point": point.name if point else None,
                  "city": point.city if point else None, "gln": f.gln},
        "transactions": content.get("biz_transactions", {}),
        "quantities": content.get("quantities", []),
        "integrity": status.as_dict(),
        "content": content,
    }


def local_time(when: dt.datetime, offset: str) -> str:
    """``2026-11-22 10:30:00 +08:00``: the time where it happened."""
    try:
        sign = 1 if offset[0] == "+" else -1
        hours, minutes = offset[1:].split(":")
        zone = dt.timezone(sign * dt.timedelta(hours=int(hours), minutes=int(minutes)))
    except (ValueError, IndexError):
        zone = dt.timezone.utc
        offset = "+00:00"
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S ") + offset
