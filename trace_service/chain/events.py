"""Appending events and their canonical bytes.

The content of an event is a JSON object serialised canonically and stored as-is in
``events.content``; those exact UTF-8 bytes are what a later Merkle log hashes. Rules:

* keys sorted, no insignificant whitespace (``separators=(",", ":")``), UTF-8, non-ASCII kept;
* only strings, integers, booleans, lists and objects: no floats, no nulls (absent fields
  are omitted);
* times are UTC with millisecond precision, ``YYYY-MM-DDTHH:MM:SS.mmmZ``, and the zone the
  event happened in is kept separately as ``event_time_zone_offset`` (EPCIS style);
* lists of trace keys are sorted;
* no personal data: people appear in domain tables under ``psn_`` ids, never here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from dataclasses import dataclass, field

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from trace_service.auth.permissions import Actor
from trace_service.chain.models import Event, EventKey, EventParty, TraceKey
from trace_service.db import one_of, utcnow
from trace_service.errors import Unprocessable
from trace_service.ledger import services as ledger

CONTENT_VERSION = 1
_OFFSET = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")

# Our business steps and the CBV 2.0 step each corresponds to (None: no CBV equivalent).
BIZ_STEPS = {
    "commissioning": "commissioning",
    "listing": None,
    "delisting": None,
    "sale": "retail_selling",
    "packing": "packing",
    "dispatch": "shipping",
    "arrive": "arriving",
    "depart": "departing",
    "receipt": "receiving",
    "review": None,
    "complaint": None,
    "return_request": None,
    "return_receipt": "receiving",
    # B2B transfers of custody between parties (trace_service.custody).
    "shipping": "shipping",
    "receiving": "receiving",
}


def canonical_json(obj) -> str:
    """The canonical text of a JSON value (see module docstring)."""
    _check_canonical(obj)
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _check_canonical(obj) -> None:
    kind = type(obj)
    if kind is dict:
        for key, value in obj.items():
            if type(key) is not str:
                raise TypeError("canonical JSON keys must be strings")
            _check_canonical(value)
    elif kind is list:
        for value in obj:
            _check_canonical(value)
    elif kind not in (str, int, bool):
        raise TypeError(f"canonical JSON cannot hold {kind.__name__} values")


def format_time(value: dt.datetime) -> str:
    value = value.astimezone(dt.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def zone_offset(value: dt.datetime | None, default: str) -> str:
    """``+08:00`` style offset of an aware datetime, or the default zone."""
    if value is None or value.utcoffset() is None:
        return default
    minutes = int(value.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def resolve_event_time(value: dt.datetime | None, now: dt.datetime) -> dt.datetime:
    """When it happened: the client's time if given (must carry a zone), else now."""
    if value is None:
        return now
    if value.tzinfo is None:
        raise Unprocessable("event_time_without_zone",
                            "event_time must carry a UTC offset, e.g. 2026-11-22T10:30:00+08:00")
    if value - now > dt.timedelta(minutes=10):
        raise Unprocessable("event_time_in_future",
                            "event_time is more than 10 minutes in the future",
                            event_time=value.isoformat())
    return value


def _millis(value: dt.datetime) -> dt.datetime:
    """Times are kept to the millisecond, so the columns equal the canonical content."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


_FREE_FORM = ("biz_transactions", "data")


def _by_key(item: dict) -> str:
    return item["key"]


def _drop_empty(obj):
    """Remove absent values (None, empty lists and objects) at every level."""
    if type(obj) is dict:
        out = {}
        for k, v in obj.items():
            if v is None or v == {} or v == []:
                continue
            out[k] = _drop_empty(v) if type(v) in (dict, list) else v
        return out
    if type(obj) is list:
        return [_drop_empty(v) if type(v) in (dict, list) else v for v in obj]
    return obj


@dataclass
class EventDraft:
    """An event ready to insert: its row values and the trace keys it touches."""

    row: dict
    links: list[tuple[int, str]] = field(default_factory=list)
    parties: list[str] = field(default_factory=list)


def build_event(
    *,
    biz_step: str,
    disposition: str,
    actor: Actor,
    keys: list[TraceKey],
    action: str = "OBSERVE",
    event_type: str = "ObjectEvent",
    contents: list[TraceKey] = (),
    quantities: dict[int, int] | None = None,
    parent: TraceKey | None = None,
    point_id: str | None = None,
    gln: str | None = None,
    event_time: dt.datetime | None = None,
    default_offset: str = "+08:00",
    transactions: dict[str, str] | None = None,
    data: dict | None = None,
    event_id: str | None = None,
    now: dt.datetime | None = None,
    allow_future: bool = False,
    parties=(),
    source: str | None = None,
    destination: str | None = None,
) -> EventDraft:
    """Build one event touching ``keys`` (and, through a parcel, ``contents``).

    ``parties`` are the party ids the event concerns besides the actor, ``source`` and
    ``destination`` (a merchant whose parcel is scanned, a carrier, a brand owner); together
    they decide who may read the event (``trace_service.visibility``). ``source`` and
    ``destination`` are the parties custody moves between (EPCIS source/destination lists).

    ``allow_future`` keeps an event time far ahead of the server clock as it is (scanner
    clocks drift; the skew is kept, never corrected); otherwise such a time is refused.
    """
    if biz_step not in BIZ_STEPS:
        raise ValueError(f"unknown business step {biz_step}")
    now = _millis(now or utcnow())
    when = _millis(event_time if allow_future and event_time is not None
                   else resolve_event_time(event_time, now))
    event_id = event_id or str(uuid.uuid4())
    quantities = quantities or {}
    plain, counted = [], []
    for k in keys:
        if k.id in quantities:
            counted.append({"key": k.key, "quantity": quantities[k.id]})
        else:
            plain.append(k.key)
    counted.sort(key=_by_key)
    concerned = sorted({p for p in (actor.party_id, source, destination, *parties) if p})
    # The same object as ``_drop_empty`` of every field (absent values left out), built
    # directly: only what callers pass in free form (transactions, data) is walked.
    content = {"v": CONTENT_VERSION, "event_id": event_id, "type": event_type,
               "action": action, "biz_step": biz_step}
    for name, value in (
        ("cbv_biz_step", BIZ_STEPS[biz_step]),
        ("disposition", disposition),
        ("event_time", format_time(when)),
        ("event_time_zone_offset", zone_offset(event_time, default_offset)),
        ("record_time", format_time(now)),
        ("keys", sorted(plain)),
        ("quantities", counted),
        ("parent", parent.key if parent is not None else None),
        ("contents", sorted(k.key for k in contents)),
        ("read_point", point_id),
        ("gln", gln),
        ("party", actor.party_id),
        ("parties", concerned),
        ("source", source),
        ("destination", destination),
        ("device", actor.device_id),
        ("biz_transactions", transactions),
        ("data", data),
    ):
        if value is not None and value != [] and value != {}:
            content[name] = _drop_empty(value) if name in _FREE_FORM else value
    row = {"event_id": event_id, "biz_step": biz_step, "event_time": when, "record_time": now,
           "party_id": actor.party_id, "point_id": point_id, "device_id": actor.device_id,
           "content": canonical_json(content)}
    links: list[tuple[int, str]] = []
    seen: set[int] = set()
    for role, group in (("subject", list(keys) + ([parent] if parent else [])),
                        ("content", contents)):
        for key in group:
            if key.id not in seen:
                seen.add(key.id)
                links.append((key.id, role))
    return EventDraft(row=row, links=links, parties=concerned)


def insert_events(db: Session, drafts: list[EventDraft]) -> list[int]:
    """Insert events and their key links in three round trips; returns the new event ids.

    No RETURNING: SQLite would then insert row by row. The ids are read back by
    ``event_id`` (unique) instead.
    """
    if not drafts:
        return []
    conn = db.connection()  # Core inserts: the ORM's bulk path costs more than the insert
    conn.execute(insert(Event.__table__), [d.row for d in drafts])
    ids = dict(conn.execute(select(Event.event_id, Event.id)
                          .where(one_of(conn, Event.event_id,
                                        [d.row["event_id"] for d in drafts]))).all())
    ledger.append(db, [(ids[d.row["event_id"]], d.row["content"]) for d in drafts])
    links = [{"trace_key_id": tk, "event_id": ids[d.row["event_id"]], "role": role}
             for d in drafts for tk, role in d.links]
    if links:
        conn.execute(insert(EventKey.__table__), links)
    parties = [{"party_id": p, "event_id": ids[d.row["event_id"]]}
               for d in drafts for p in d.parties]
    if parties:
        conn.execute(insert(EventParty.__table__), parties)
    return [ids[d.row["event_id"]] for d in drafts]


def record_event(db: Session, **kwargs) -> Event:
    """Append one event (see ``build_event`` for the arguments) and return its row."""
    draft = build_event(**kwargs)
    (event_pk,) = insert_events(db, [draft])
    return db.get(Event, event_pk)


def is_valid_offset(value: str) -> bool:
    return bool(_OFFSET.match(value))
