"""Batch ingestion of scanner scans, idempotent by the client's scan id.

A batch is processed set-wise, in Core statements (no ORM objects per scan): one query
finds the scans already received (their stored receipts are returned again, nothing is
stored twice); a few resolve every parcel, lock the parcels and the units they carry (in
id order, ``FOR UPDATE`` on PostgreSQL; SQLite's write transaction holds the database
lock) and read their lots. Then each scan is checked in order against the same rules as the
single-step API (``shipping.rules``) on light in-memory copies, and what changed is written
back grouped: one ``UPDATE`` per new state for the trace keys, one for the parcels' last
point, one per order status, then the events, the log entries and the scan rows in a few
round trips. A rejected scan gets a receipt with the reason and is kept too, so a retry
gets the same answer.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from sqlalchemy import bindparam, exists, insert, select, update

from trace_service.catalog.models import Lot
from trace_service.chain.events import build_event, insert_events, zone_offset
from trace_service.chain.models import TraceKey
from trace_service.context import Ctx
from trace_service.db import chunks, new_id, one_of, utcnow
from trace_service.errors import DomainError, Forbidden, NotFound, Unprocessable
from trace_service.identifiers import IdentifierError, parse_trace_key
from trace_service.ingest.models import Scan
from trace_service.inspect.movements import parcels_moved
from trace_service.orders.models import Order
from trace_service.parties.models import LogisticsPoint
from trace_service.shipping.models import Parcel, ParcelItem, Receipt
from trace_service.shipping.rules import (
    apply_move, blocked_contents, check_dispatch, check_receipt, check_scan,
)

MAX_BATCH = 500
STEPS = ("arrive", "depart", "dispatch", "receipt")
# A second scan of the same parcel, same step, same point within this window is a double
# read by the worker: acknowledged as "duplicate", no second event.
DUPLICATE_WINDOW = dt.timedelta(minutes=10)

TK, PCL, PI, ORD = (TraceKey.__table__, Parcel.__table__, ParcelItem.__table__,
                    Order.__table__)
_KEY_COLUMNS = (TK.c.id, TK.c.key, TK.c.kind, TK.c.state, TK.c.lot_id, TK.c.container_id,
                TK.c.updated_at)
_PARCEL_COLUMNS = (PCL.c.id, PCL.c.trace_key_id, PCL.c.order_id, PCL.c.carrier_id,
                   PCL.c.merchant_id, PCL.c.dispatched_at, PCL.c.delivered_at,
                   PCL.c.last_point_id)
_N_KEY = len(_KEY_COLUMNS)


def limits() -> dict:
    return {"max_batch": MAX_BATCH, "steps": list(STEPS),
            "duplicate_window_seconds": int(DUPLICATE_WINDOW.total_seconds())}


# The same label is scanned at every point on its way: its parse is a pure function of the
# text (a frozen ``TraceKeyRef``), so it is kept. Refusals are not kept (they raise).
_parse = lru_cache(maxsize=50_000)(parse_trace_key)


class _Key:
    """A trace key row as the rules see it (``shipping.rules`` reads and sets these)."""

    __slots__ = ("id", "key", "kind", "state", "lot_id", "container_id", "updated_at", "lot",
                 "original")
    FIELDS = ("state", "container_id", "updated_at")

    def __init__(self, row, lots: dict):
        (self.id, self.key, self.kind, self.state, self.lot_id, self.container_id,
         self.updated_at) = row
        self.lot = lots.get(self.lot_id)
        self.original = (self.state, self.container_id, self.updated_at)

    def changes(self) -> tuple:
        return tuple((name, getattr(self, name)) for name, old in zip(self.FIELDS, self.original)
                     if getattr(self, name) != old)


class _Parcel:
    __slots__ = ("id", "trace_key_id", "order_id", "carrier_id", "merchant_id",
                 "dispatched_at", "delivered_at", "last_point_id", "contents", "moved")

    def __init__(self, row, contents: list[_Key]):
        (self.id, self.trace_key_id, self.order_id, self.carrier_id, self.merchant_id,
         self.dispatched_at, self.delivered_at, self.last_point_id) = row
        self.contents = contents
        self.moved: dict[str, object] = {}


class _Batch:
    """The locked state one batch is checked against, and what the batch changed."""

    def __init__(self, ctx: Ctx, keys: set[str], times: list[dt.datetime]):
        db = ctx.db
        conn = db.connection()
        # 1. The batch's parcels and what each carries (kinds only: nothing locked yet).
        item_tk = TK.alias("item_tk")
        contents: dict[int, list[int]] = {}
        lot_items: set[int] = set()
        to_lock: set[int] = set()
        for chunk in chunks(sorted(keys)):
            for parcel_tk, item, kind in conn.execute(
                    select(TK.c.id, PI.c.trace_key_id, item_tk.c.kind)
                    .select_from(TK.join(PCL, PCL.c.trace_key_id == TK.c.id)
                                 .outerjoin(PI, PI.c.parcel_id == PCL.c.id)
                                 .outerjoin(item_tk, item_tk.c.id == PI.c.trace_key_id))
                    .where(one_of(conn, TK.c.key, chunk), TK.c.kind == "parcel")).all():
                to_lock.add(parcel_tk)
                items = contents.setdefault(parcel_tk, [])
                if item is None:
                    continue
                items.append(item)
                # Lots only travel as quantities: a scan never changes a lot's state, so
                # lots are not locked (many parcels of one lot may move at once).
                (lot_items if kind == "lot" else to_lock).add(item)
        # 2. Parcels and units locked in id order and read as they are now, each parcel
        #    with its row of ``parcels``; then the lots they carry, unlocked.
        rows, parcel_rows = [], []
        for chunk in chunks(sorted(to_lock)):
            for row in conn.execute(
                    select(*_KEY_COLUMNS, *_PARCEL_COLUMNS)
                    .select_from(TK.outerjoin(PCL, PCL.c.trace_key_id == TK.c.id))
                    .where(one_of(conn, TK.c.id, chunk))
                    .order_by(TK.c.id).with_for_update(of=TK)).all():
                rows.append(row[:_N_KEY])
                if row[_N_KEY] is not None:
                    parcel_rows.append(row[_N_KEY:])
        for chunk in chunks(sorted(lot_items)):
            rows += conn.execute(select(*_KEY_COLUMNS).where(one_of(conn, TK.c.id, chunk))).all()
        lot_ids = {r[4] for r in rows if r[4] is not None}
        lots = {lot.id: lot for lot in db.scalars(select(Lot).where(Lot.id.in_(lot_ids)))} \
            if lot_ids else {}
        self.keys = {r[0]: _Key(r, lots) for r in rows}
        self.by_key = {k.key: k for k in self.keys.values() if k.kind == "parcel"}
        self.parcels: dict[int, _Parcel] = {
            row[1]: _Parcel(row, [self.keys[i] for i in sorted(contents.get(row[1], ()))])
            for row in parcel_rows}
        self.receipts: list[dict] = []
        self.dispatched_orders: set[str] = set()
        self.delivered_orders: set[str] = set()
        self.last_scans: dict[str, list[tuple]] = {}
        if keys and times:
            # The status is checked here, not in SQL: a condition on it lets the planner
            # take ix_scans_status_received_at (every accepted scan) over the key's own
            # index whenever its statistics lag behind a fast-growing table.
            rows = db.execute(select(Scan.trace_key, Scan.step, Scan.point_id, Scan.device_time,
                                     Scan.status)
                              .where(one_of(db, Scan.trace_key, keys),
                                     Scan.device_time >= min(times) - DUPLICATE_WINDOW,
                                     Scan.device_time <= max(times) + DUPLICATE_WINDOW)).all()
            for key, step, point, when, status in rows:
                if status == "accepted":
                    self.last_scans.setdefault(key, []).append((step, point, when))

    def is_duplicate(self, key: str, step: str, point: str, when: dt.datetime) -> bool:
        return any(s == step and p == point and abs(when - t) <= DUPLICATE_WINDOW
                   for s, p, t in self.last_scans.get(key, ()))

    def remember(self, key: str, step: str, point: str, when: dt.datetime) -> None:
        self.last_scans.setdefault(key, []).append((step, point, when))

    def write(self, db, point_id: str) -> None:
        """Write back what the scans changed, grouped into a few statements."""
        conn = db.connection()
        groups: dict[tuple, list[int]] = {}
        for key in self.keys.values():
            changes = key.changes()
            if changes:
                groups.setdefault(changes, []).append(key.id)
        for changes, ids in groups.items():
            for chunk in chunks(ids):
                conn.execute(update(TK).where(one_of(conn, TK.c.id, chunk)).values(dict(changes)))
        moved: dict[tuple, list[int]] = {}
        for field in ("dispatched_at", "delivered_at"):
            rows = [{"pid": p.id, "value": p.moved[field]} for p in self.parcels.values()
                    if field in p.moved]
            if rows:
                conn.execute(update(PCL).where(PCL.c.id == bindparam("pid"))
                             .values({field: bindparam("value")}), rows)
        at_point = [p.id for p in self.parcels.values() if "last_point_id" in p.moved]
        for chunk in chunks(at_point):
            conn.execute(update(PCL).where(one_of(conn, PCL.c.id, chunk))
                         .values(last_point_id=point_id))
        for parcel in self.parcels.values():
            tk = self.keys[parcel.trace_key_id]
            at = point_id if "last_point_id" in parcel.moved else None
            if at is not None or tk.state != tk.original[0]:
                moved.setdefault((tk.state, at), []).append(tk.id)
        for (state, at), ids in moved.items():
            parcels_moved(db, ids, state, at)
        if self.receipts:
            conn.execute(insert(Receipt.__table__), self.receipts)
        for chunk in chunks(sorted(self.dispatched_orders)):
            conn.execute(update(ORD).where(one_of(conn, ORD.c.id, chunk),
                                           ORD.c.status.in_(("placed", "packed")))
                         .values(status="dispatched"))
        pending = exists().where(PCL.c.order_id == ORD.c.id, PCL.c.delivered_at.is_(None))
        for chunk in chunks(sorted(self.delivered_orders)):
            # An order is delivered once every one of its parcels is.
            conn.execute(update(ORD).where(one_of(conn, ORD.c.id, chunk), ~pending)
                         .values(status="delivered"))


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
    known = {row.id: row for row in db.execute(select(*_RECEIPT_COLUMNS).where(
        one_of(db, Scan.id, ids)))}
    receipts: dict[str, dict] = {sid: _receipt_from_row(row._mapping)
                                 for sid, row in known.items()
                                 if row.device_id == ctx.actor.device_id}
    fresh, seen = [], set(known)
    for s in scans:
        if s["id"] not in seen:
            seen.add(s["id"])
            fresh.append(s)
    refs, parse_errors = {}, {}
    for s in fresh:
        try:
            refs[s["id"]] = _parse(s["key"])
        except IdentifierError as exc:
            refs[s["id"]] = None
            parse_errors[s["id"]] = Unprocessable(exc.code, exc.message, **exc.details)
    parcel_keys = {ref.key for ref in refs.values() if ref is not None and ref.kind == "parcel"}
    batch = _Batch(ctx, parcel_keys, [s["device_time"] for s in fresh])
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
    batch.write(db, point.id)
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
    tk = batch.by_key.get(ref.key)
    parcel = batch.parcels.get(tk.id) if tk is not None else None
    if parcel is None or parcel.carrier_id != ctx.actor.party_id:
        # Another carrier's parcel is answered like an unknown one: its existence is not
        # this device's to learn.
        raise NotFound("unknown_parcel", f"parcel {ref.key} is not registered with your "
                       "carrier", key=ref.key)
    step, when = s["step"], s["device_time"]
    if batch.is_duplicate(ref.key, step, point.id, when):
        return None, []
    contents = parcel.contents
    transactions = {"order": parcel.order_id}
    if step == "dispatch":
        check_dispatch(tk, contents, today)
        apply_move(tk, contents, "dispatched", now)
        parcel.dispatched_at = parcel.moved["dispatched_at"] = when
        batch.dispatched_orders.add(parcel.order_id)
        warnings, disposition = [], "in_transit"
    elif step == "receipt":
        check_receipt(tk)
        warnings = blocked_contents(contents, today)
        apply_move(tk, contents, "delivered", now)
        parcel.delivered_at = parcel.moved["delivered_at"] = when
        receipt = {"id": new_id("rcp"), "parcel_id": parcel.id, "method": "station",
                   "signed_at": when, "point_id": point.id, "created_at": now}
        batch.receipts.append(receipt)
        batch.delivered_orders.add(parcel.order_id)
        transactions["receipt"] = receipt["id"]
        disposition = "delivered"
    else:
        check_scan(tk, parcel.delivered_at)
        warnings = blocked_contents(contents, today)
        apply_move(tk, contents, "in_transit", now)
        parcel.last_point_id = parcel.moved["last_point_id"] = point.id
        disposition = "in_transit"
    batch.remember(ref.key, step, point.id, when)
    draft = build_event(
        biz_step=step, disposition=disposition, actor=ctx.actor, keys=[tk], contents=contents,
        point_id=point.id, gln=point.gln, event_time=when, allow_future=True, now=now,
        default_offset=ctx.tz_offset, event_id=s["id"], transactions=transactions,
        parties=[parcel.merchant_id, parcel.carrier_id],
        data={"device_seq": s["seq"]},
    )
    return draft, warnings


_RECEIPT_COLUMNS = (Scan.id, Scan.device_id, Scan.status, Scan.code, Scan.message, Scan.warnings,
                    Scan.event_id)


def _receipt_from_row(row) -> dict:
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

