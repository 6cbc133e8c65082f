"""Batch ingestion of scanner scans, idempotent by the client's scan id.

A batch is processed set-wise: one query finds the scans already received (their stored
receipts are returned again, nothing is stored twice), one resolves every parcel, one locks
the parcels and what they carry, then each scan is checked in order against the same rules
as the single-step API (``shipping.rules``), and the events and scan rows are inserted in
a few round trips. A rejected scan gets a receipt with the reason and is kept too, so a
retry gets the same answer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, select

from trace_service.chain.events import build_event, insert_events, zone_offset
from trace_service.chain.models import TraceKey
from trace_service.chain.services import lock
from trace_service.context import Ctx
from trace_service.db import new_id, utcnow
from trace_service.errors import DomainError, Forbidden, NotFound, Unprocessable
from trace_service.identifiers import IdentifierError, parse_trace_key
from trace_service.ingest.models import Scan
from trace_service.parties.models import LogisticsPoint
from trace_service.shipping.models import Parcel, Receipt
from trace_service.shipping.rules import (
    apply_move, blocked_contents, check_dispatch, check_receipt, check_scan,
)
from trace_service.shipping.services import mark_order_delivered_if_complete, mark_order_dispatched

MAX_BATCH = 500
STEPS = ("arrive", "depart", "dispatch", "receipt")
# A second scan of the same parcel, same step, same point within this window is a double
# read by the worker: acknowledged as "duplicate", no second event.
DUPLICATE_WINDOW = dt.timedelta(minutes=10)


def limits() -> dict:
    return {"max_batch": MAX_BATCH, "steps": list(STEPS),
            "duplicate_window_seconds": int(DUPLICATE_WINDOW.total_seconds())}


class _Batch:
    """The preloaded state one batch is checked against."""

    def __init__(self, ctx: Ctx, refs: dict[str, object], times: list[dt.datetime]):
        db = ctx.db
        keys = {ref.key for ref in refs.values() if ref is not None}
        self.trace_keys = {tk.key: tk for tk in db.scalars(
            select(TraceKey).where(TraceKey.key.in_(keys)))} if keys else {}
        ids = [tk.id for tk in self.trace_keys.values()]
        self.parcels = {p.trace_key_id: p for p in db.scalars(
            select(Parcel).where(Parcel.trace_key_id.in_(ids)))} if ids else {}
        # Lots only travel as quantities: a scan never changes a lot's state, so lots are
        # not locked (many parcels of one lot may move at once without queueing).
        to_lock = list(self.trace_keys.values()) + [
            item.trace_key for p in self.parcels.values() for item in p.items
            if item.trace_key.kind != "lot"]
        lock(db, to_lock)
        self.last_scans: dict[str, list[tuple]] = {}
        if keys and times:
            rows = db.execute(select(Scan.trace_key, Scan.step, Scan.point_id, Scan.device_time)
                              .where(Scan.trace_key.in_(keys), Scan.status == "accepted",
                                     Scan.device_time >= min(times) - DUPLICATE_WINDOW,
                                     Scan.device_time <= max(times) + DUPLICATE_WINDOW)).all()
            for key, step, point, when in rows:
                self.last_scans.setdefault(key, []).append((step, point, when))

    def is_duplicate(self, key: str, step: str, point: str, when: dt.datetime) -> bool:
        return any(s == step and p == point and abs(when - t) <= DUPLICATE_WINDOW
                   for s, p, t in self.last_scans.get(key, ()))

    def remember(self, key: str, step: str, point: str, when: dt.datetime) -> None:
        self.last_scans.setdefault(key, []).append((step, point, when))


def ingest(ctx: Ctx, scans: list[dict]) -> dict:
    """Apply a batch of scans from the calling device; one receipt per scan, in order."""
    if ctx.actor.role != "device":
        raise Forbidden("devices_only", "scan batches come from scanner devices")
    if len(scans) > MAX_BATCH:
        raise Unprocessable("batch_too_large", f"a batch holds at most {MAX_BATCH} scans; "
                            f"this one has {len(scans)}", max_batch=MAX_BATCH, found=len(scans))
    db = ctx.db
    now = utcnow()
    ids = [s["id"] for s in scans]
    known = {row.id: row for row in db.scalars(select(Scan).where(Scan.id.in_(ids)))}
    receipts: dict[str, dict] = {sid: _receipt(row) for sid, row in known.items()
                                 if row.device_id == ctx.actor.device_id}
    fresh, seen = [], set(known)
    for s in scans:
        if s["id"] not in seen:
            seen.add(s["id"])
            fresh.append(s)
    refs, parse_errors = {}, {}
    for s in fresh:
        try:
            refs[s["id"]] = parse_trace_key(s["key"])
        except IdentifierError as exc:
            refs[s["id"]] = None
            parse_errors[s["id"]] = Unprocessable(exc.code, exc.message, **exc.details)
    batch = _Batch(ctx, refs, [s["device_time"] for s in fresh])
    point = db.get(LogisticsPoint, ctx.actor.point_id)
    today = ctx.today()
    drafts, rows = [], []
    for s in fresh:
        ref = refs[s["id"]]
        row = {
            "id": s["id"], "device_id": ctx.actor.device_id, "point_id": point.id,
            "staff_no": s.get("staff_no"), "step": s["step"], "code_text": s["key"][:300],
            "trace_key": ref.key if ref is not None else None,
            "device_time": s["device_time"], "device_tz": zone_offset(s["device_time"], "+00:00"),
            "device_seq": s["seq"], "received_at": now,
            "skew_ms": int((now - s["device_time"]).total_seconds() * 1000),
            "status": "accepted", "code": None, "message": None, "warnings": None,
            "event_id": None,
        }
        try:
            if s["id"] in parse_errors:
                raise parse_errors[s["id"]]
            draft, warnings = _apply(ctx, batch, s, ref, point, today, now)
            if draft is None:
                row["status"] = "duplicate"
            else:
                drafts.append(draft)
                row["event_id"] = s["id"]
            row["warnings"] = ",".join(warnings) or None
        except DomainError as exc:
            row.update(status="rejected", code=exc.code, message=exc.message[:300])
        rows.append(row)
    db.flush()
    insert_events(db, drafts)
    if rows:
        db.connection().execute(insert(Scan.__table__), rows)
    for row in rows:
        receipts[row["id"]] = _receipt_from_row(row)
    for s in scans:
        if s["id"] in known and s["id"] not in receipts:
            receipts[s["id"]] = {"id": s["id"], "status": "rejected", "code": "scan_id_in_use",
                                 "message": "another device already sent a scan with this id"}
    out = [receipts[s["id"]] for s in scans]
    counts = {status: sum(r["status"] == status for r in out)
              for status in ("accepted", "duplicate", "rejected")}
    return {"receipts": out, **counts, "server_time": now}


def _apply(ctx: Ctx, batch: _Batch, s: dict, ref, point, today, now):
    """Check and apply one scan; returns (event draft or None for a duplicate, warnings)."""
    if ref.kind != "parcel":
        raise Unprocessable("not_a_parcel", f"{ref.key} is a {ref.kind}; logistics scans are "
                            "of parcel labels (SSCC or waybill)", key=ref.key)
    tk = batch.trace_keys.get(ref.key)
    parcel = batch.parcels.get(tk.id) if tk is not None else None
    if parcel is None:
        raise NotFound("unknown_parcel", f"parcel {ref.key} is not registered", key=ref.key)
    if parcel.carrier_id != ctx.actor.party_id:
        raise Forbidden("not_your_parcel", f"parcel {ref.key} travels with another carrier",
                        key=ref.key)
    step, when = s["step"], s["device_time"]
    if batch.is_duplicate(ref.key, step, point.id, when):
        return None, []
    contents = [item.trace_key for item in parcel.items]
    transactions = {"order": parcel.order_id}
    if step == "dispatch":
        check_dispatch(tk, contents, today)
        apply_move(tk, contents, "dispatched")
        parcel.dispatched_at = when
        mark_order_dispatched(ctx.db, parcel.order_id)
        warnings, disposition = [], "in_transit"
    elif step == "receipt":
        check_receipt(tk)
        warnings = blocked_contents(contents, today)
        apply_move(tk, contents, "delivered")
        parcel.delivered_at = when
        receipt = Receipt(id=new_id("rcp"), parcel_id=parcel.id, method="station",
                          signed_at=when, point_id=point.id)
        ctx.db.add(receipt)
        mark_order_delivered_if_complete(ctx.db, parcel.order_id)
        transactions["receipt"] = receipt.id
        disposition = "delivered"
    else:
        check_scan(tk, parcel.delivered_at)
        warnings = blocked_contents(contents, today)
        apply_move(tk, contents, "in_transit")
        parcel.last_point_id = point.id
        disposition = "in_transit"
    batch.remember(ref.key, step, point.id, when)
    draft = build_event(
        biz_step=step, disposition=disposition, actor=ctx.actor, keys=[tk], contents=contents,
        point_id=point.id, gln=point.gln, event_time=when, allow_future=True, now=now,
        default_offset=ctx.tz_offset, event_id=s["id"], transactions=transactions,
        data={"device_seq": s["seq"]},
    )
    return draft, warnings


def _receipt(row: Scan) -> dict:
    return _receipt_from_row({c: getattr(row, c) for c in
                              ("id", "status", "code", "message", "warnings", "event_id")})


def _receipt_from_row(row: dict) -> dict:
    out = {"id": row["id"], "status": row["status"]}
    if row.get("code"):
        out["code"] = row["code"]
        out["message"] = row["message"]
    if row.get("warnings"):
        out["warnings"] = row["warnings"].split(",")
    if row.get("event_id"):
        out["event_id"] = row["event_id"]
    return out


def blocklist(ctx: Ctx, unit_limit: int = 50000) -> dict:
    """What a scanner must warn about offline: recalled or expired lots, their serialised
    units (a drug code does not name its lot), and parcels carrying them."""
    from trace_service.catalog.models import Lot
    from trace_service.shipping.models import ParcelItem

    today = ctx.today()
    lots = ctx.db.scalars(select(Lot).where(
        (Lot.recalled_at.is_not(None)) | (Lot.expiry_date < today))).all()
    out_lots, lot_ids = [], []
    for lot in lots:
        lot_ids.append(lot.id)
        reason = "recalled" if lot.recalled_at is not None else "expired"
        out_lots.append({"key": f"01/{lot.gtin}/10/{lot.lot}", "gtin": lot.gtin, "lot": lot.lot,
                         "reason": reason,
                         "since": (lot.recalled_at.isoformat() if lot.recalled_at
                                   else lot.expiry_date.isoformat())})
    units, parcels, truncated = [], [], False
    if lot_ids:
        rows = ctx.db.execute(select(TraceKey.key, TraceKey.lot_id).where(
            TraceKey.lot_id.in_(lot_ids), TraceKey.kind == "unit").limit(unit_limit + 1)).all()
        truncated = len(rows) > unit_limit
        reasons = {lot["gtin"] + lot["lot"]: lot["reason"] for lot in out_lots}
        lot_names = {lot.id: lot.gtin + lot.lot for lot in lots}
        units = [{"key": key, "reason": reasons[lot_names[lot_id]]}
                 for key, lot_id in rows[:unit_limit]]
        parcel_tk = TraceKey.__table__.alias("parcel_tk")
        item_tk = TraceKey.__table__.alias("item_tk")
        parcels = sorted(set(ctx.db.scalars(
            select(parcel_tk.c.key)
            .select_from(ParcelItem.__table__
                         .join(Parcel.__table__, Parcel.id == ParcelItem.parcel_id)
                         .join(parcel_tk, parcel_tk.c.id == Parcel.trace_key_id)
                         .join(item_tk, item_tk.c.id == ParcelItem.trace_key_id))
            .where(item_tk.c.lot_id.in_(lot_ids), parcel_tk.c.state != "delivered")).all()))
    return {"generated_at": utcnow(), "lots": out_lots, "units": units, "parcels": parcels,
            "truncated": truncated}

