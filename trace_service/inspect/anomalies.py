"""Anomalies worth an inspector's look, each with its evidence, within a time window.

``dispatched_without_scan``  a parcel dispatched more than ``gap_hours`` ago, not
                             delivered, and never scanned at a logistics point
                             (``parcels.last_point_id`` is empty): an empty or fake shipment?
``receipt_without_scan``     a parcel signed for without any logistics scan in between.
``scans_out_of_order``       a step of a parcel whose event time is earlier than the step
                             recorded before it (clock skew, or a back-dated record).
``serial_in_two_places``     one trace key seen at two points (events, and scans the rules
                             refused) closer in time than travel allows: faster than
                             ``max_speed_kmh`` between points with coordinates, or in two
                             cities less than ``min_city_gap_minutes`` apart otherwise.
``rejected_scans``           scans the chain rules refused (scan after receipt, recalled
                             goods dispatched, another carrier's parcel ...).

Every kind reads an index (``ix_parcels_dispatched_at``, ``ix_parcels_delivered_at``,
``ix_events_record_time``, ``ix_scans_status_received_at``) over the window only, and
returns at most ``MAX_PER_KIND`` findings; narrow the window for more.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from trace_service.chain.models import Event, EventKey, TraceKey
from trace_service.db import UTCDateTime, utcnow
from trace_service.ingest.models import Scan
from trace_service.parties.models import LogisticsPoint, Party
from trace_service.shipping.models import Parcel

KINDS = ("dispatched_without_scan", "receipt_without_scan", "scans_out_of_order",
         "serial_in_two_places", "rejected_scans")
MAX_PER_KIND = 5000
DEFAULT_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class Settings:
    gap_hours: float = 24.0
    max_speed_kmh: float = 150.0
    min_city_gap_minutes: float = 60.0


def find(db: Session, kind: str, since: dt.datetime, until: dt.datetime,
         settings: Settings, now: dt.datetime | None = None) -> list[dict]:
    """Findings of one kind in [since, until), oldest first, each with a ``sort`` key."""
    now = now or utcnow()
    return {"dispatched_without_scan": _dispatched_without_scan,
            "receipt_without_scan": _receipt_without_scan,
            "scans_out_of_order": _scans_out_of_order,
            "serial_in_two_places": _serial_in_two_places,
            "rejected_scans": _rejected_scans}[kind](db, since, until, settings, now)


def _finding(kind: str, at: dt.datetime, ref: str, key: str | None, summary: str,
             **details) -> dict:
    millis = int(at.timestamp() * 1000)
    return {"kind": kind, "at": at, "key": key, "summary": summary, "details": details,
            "sort": f"{millis:015d}|{ref[:40]}"}


def _parcels(db: Session, *where):
    parcel_tk = TraceKey.__table__.alias("parcel_tk")
    return db.execute(
        select(Parcel.id, parcel_tk.c.key, Parcel.order_id, Parcel.merchant_id,
               Parcel.carrier_id, Parcel.dispatched_at, Parcel.delivered_at)
        .join(parcel_tk, parcel_tk.c.id == Parcel.trace_key_id)
        .where(*where).order_by(Parcel.dispatched_at, Parcel.id).limit(MAX_PER_KIND)).all()


def _dispatched_without_scan(db, since, until, settings, now):
    cutoff = now - dt.timedelta(hours=settings.gap_hours)
    rows = _parcels(db, Parcel.dispatched_at >= since, Parcel.dispatched_at < until,
                    Parcel.dispatched_at < cutoff, Parcel.delivered_at.is_(None),
                    Parcel.last_point_id.is_(None))
    names = _party_names(db, rows)
    return [_finding("dispatched_without_scan", r.dispatched_at, r.id, r.key,
                     f"dispatched {(now - r.dispatched_at).total_seconds() / 3600:.0f} h ago, "
                     "never scanned at a logistics point",
                     parcel_id=r.id, order_id=r.order_id, merchant_id=r.merchant_id,
                     merchant=names.get(r.merchant_id), carrier_id=r.carrier_id,
                     carrier=names.get(r.carrier_id), dispatched_at=r.dispatched_at)
            for r in rows]


def _receipt_without_scan(db, since, until, settings, now):
    rows = _parcels(db, Parcel.delivered_at >= since, Parcel.delivered_at < until,
                    Parcel.last_point_id.is_(None))
    names = _party_names(db, rows)
    out = []
    for r in rows:
        gap = ((r.delivered_at - r.dispatched_at).total_seconds() / 60
               if r.dispatched_at else None)
        out.append(_finding(
            "receipt_without_scan", r.delivered_at, r.id, r.key,
            "signed for with no logistics scan"
            + (f", {gap:.0f} min after dispatch" if gap is not None else ""),
            parcel_id=r.id, order_id=r.order_id, merchant_id=r.merchant_id,
            merchant=names.get(r.merchant_id), carrier_id=r.carrier_id,
            carrier=names.get(r.carrier_id), dispatched_at=r.dispatched_at,
            delivered_at=r.delivered_at))
    return sorted(out, key=lambda f: f["sort"])


def _party_names(db, rows) -> dict:
    ids = {r.merchant_id for r in rows} | {r.carrier_id for r in rows}
    return dict(db.execute(select(Party.id, Party.name).where(Party.id.in_(ids))).all()) \
        if ids else {}


def _scans_out_of_order(db, since, until, settings, now):
    """Parcel steps in record order; LAG gives each the event time of the one before."""
    previous = func.lag(Event.event_time, type_=UTCDateTime()).over(
        partition_by=EventKey.trace_key_id, order_by=Event.id)
    previous_id = func.lag(Event.event_id).over(partition_by=EventKey.trace_key_id,
                                                order_by=Event.id)
    steps = (select(TraceKey.key, Event.event_id, Event.biz_step, Event.event_time,
                    Event.record_time, previous.label("previous_time"),
                    previous_id.label("previous_event"))
             .join(EventKey, and_(EventKey.event_id == Event.id, EventKey.role == "subject"))
             .join(TraceKey, and_(TraceKey.id == EventKey.trace_key_id, TraceKey.kind == "parcel"))
             .where(Event.record_time >= since, Event.record_time < until)).subquery()
    rows = db.execute(select(steps).where(steps.c.event_time < steps.c.previous_time)
                      .order_by(steps.c.record_time).limit(MAX_PER_KIND)).all()
    out = []
    for r in rows:
        event_time, previous_time = _aware(r.event_time), _aware(r.previous_time)
        minutes = (previous_time - event_time).total_seconds() / 60
        out.append(_finding(
            "scans_out_of_order", _aware(r.record_time), r.event_id, r.key,
            f"{r.biz_step} at {event_time.isoformat()} is {minutes:.0f} min before the "
            "step recorded earlier", event_id=r.event_id, biz_step=r.biz_step,
            event_time=event_time, previous_event_id=r.previous_event,
            previous_event_time=previous_time))
    return out


def _aware(value):
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.timezone.utc)


def _serial_in_two_places(db, since, until, settings, now):
    """Sightings (events at a point, and refused scans) per key in time order; a pair of
    consecutive sightings at two places too close in time is a finding."""
    sightings = [(key, _aware(when), point, "event", ref) for key, when, point, ref in db.execute(
        select(TraceKey.key, Event.event_time, Event.point_id, Event.event_id)
        .join(EventKey, and_(EventKey.event_id == Event.id, EventKey.role == "subject"))
        .join(TraceKey, TraceKey.id == EventKey.trace_key_id)
        .where(Event.record_time >= since, Event.record_time < until,
               Event.point_id.is_not(None)).limit(MAX_PER_KIND * 20))]
    sightings += [(key, _aware(when), point, "scan", ref) for key, when, point, ref in db.execute(
        select(Scan.trace_key, Scan.device_time, Scan.point_id, Scan.id)
        .where(Scan.status != "accepted", Scan.received_at >= since, Scan.received_at < until,
               Scan.trace_key.is_not(None)).limit(MAX_PER_KIND * 20))]
    points = {p.id: p for p in db.scalars(select(LogisticsPoint))}
    sightings.sort(key=lambda s: (s[0], s[1], s[4]))
    out = []
    for a, b in zip(sightings, sightings[1:]):
        if a[0] != b[0] or a[2] == b[2]:
            continue
        why = _impossible(points.get(a[2]), points.get(b[2]), (b[1] - a[1]).total_seconds(),
                          settings)
        if why is None:
            continue
        out.append(_finding(
            "serial_in_two_places", b[1], b[4], a[0],
            f"seen at {_place(points.get(a[2]))} and {_place(points.get(b[2]))} "
            f"{(b[1] - a[1]).total_seconds() / 60:.0f} min apart: {why}",
            first={"source": a[3], "ref": a[4], "time": a[1], "point_id": a[2]},
            second={"source": b[3], "ref": b[4], "time": b[1], "point_id": b[2]}))
        if len(out) >= MAX_PER_KIND:
            break
    return sorted(out, key=lambda f: f["sort"])


def _place(point) -> str:
    return f"{point.name} ({point.city})" if point is not None else "an unknown point"


def _impossible(a, b, seconds: float, settings: Settings) -> str | None:
    if a is None or b is None:
        return None
    if None not in (a.latitude, a.longitude, b.latitude, b.longitude):
        km = haversine_km(a.latitude, a.longitude, b.latitude, b.longitude)
        hours = max(seconds, 1) / 3600
        if km / hours > settings.max_speed_kmh:
            return f"{km:.0f} km at {km / hours:.0f} km/h (limit {settings.max_speed_kmh:.0f})"
        return None
    if a.city != b.city and seconds < settings.min_city_gap_minutes * 60:
        return (f"two cities within {settings.min_city_gap_minutes:.0f} min "
                "(no coordinates to compute a speed)")
    return None


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _rejected_scans(db, since, until, settings, now):
    rows = db.scalars(select(Scan).where(Scan.status == "rejected", Scan.received_at >= since,
                                         Scan.received_at < until)
                      .order_by(Scan.received_at, Scan.id).limit(MAX_PER_KIND)).all()
    return [_finding("rejected_scans", _aware(s.received_at), s.id, s.trace_key or s.code_text,
                     f"{s.step} refused: {s.code}", scan_id=s.id, code=s.code,
                     message=s.message, step=s.step, device_id=s.device_id,
                     point_id=s.point_id, staff_no=s.staff_no, device_time=s.device_time,
                     skew_ms=s.skew_ms)
            for s in rows]
