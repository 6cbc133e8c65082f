"""The facts a public page shows, per kind of thing. No flask.request in here.

Exact match. A unit's page is built from that unit's trace key only (its own events, which
include the scans of the parcel while it travelled inside), its lot and its product; a
lot's page from lot-level facts only (dates, origin, recall, who listed and sold from it,
never a parcel or a buyer's delivery); a parcel's page from the parcel's own events. Event
content is never shown as such, only step, time, place (city and point) and the business
that acted, so the other serials a parcel carried never appear on a unit's page. Steps are
listed in the order the service recorded them (as the trail API does), each with the time
it happened.

No personal data: nothing here reads ``persons``, order buyers, consignees, signers,
reviewers, complainants, staff or devices. Businesses (makers, merchants, carriers) are
shown with their registered name, credit code, verification and licences, which the
e-commerce rules require to be public.
"""

from __future__ import annotations

import datetime as dt
import importlib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trace_service.catalog.models import Lot, Product
from trace_service.chain import facts
from trace_service.chain.models import Event, EventKey, TraceKey
from trace_service.errors import NotFound
from trace_service.parties.models import LogisticsPoint, Party
from trace_service.public.cache import TTLCache
from trace_service.public.resolve import Target
from trace_service.shipping.models import Parcel

#: Steps of a unit's journey, and of a parcel's; events of other steps are not shown.
UNIT_STEPS = ("commissioning", "shipping", "receiving", "sale", "packing", "dispatch", "arrive",
              "depart", "receipt", "return_request", "return_receipt")
PARCEL_STEPS = ("packing", "dispatch", "arrive", "depart", "receipt")
LOT_STEPS = ("commissioning", "listing")
MAX_EVENTS = 300


class Directory:
    """Reference data many pages share, kept per process for the cache period: businesses
    as public views (with licences) and logistics points. A page then needs only its own
    key and events from the database. With no cache (``TTLCache(0)``) every page reads all.
    """

    def __init__(self, cache: TTLCache | None = None):
        self.cache = cache or TTLCache(0)

    def parties(self, db: Session, ids, today: dt.date) -> dict[str, dict]:
        ids = {i for i in ids if i}
        found = {i: self.cache.get(("party", i, today)) for i in ids}
        missing = [i for i, view in found.items() if view is None]
        if missing:
            for party in db.scalars(select(Party).where(Party.id.in_(missing))):
                found[party.id] = party_view(party, today)
                self.cache.put(("party", party.id, today), found[party.id])
        return {i: v for i, v in found.items() if v is not None}

    def points(self, db: Session, ids) -> dict[str, dict]:
        ids = {i for i in ids if i}
        found = {i: self.cache.get(("point", i)) for i in ids}
        missing = [i for i, view in found.items() if view is None]
        if missing:
            for p in db.scalars(select(LogisticsPoint).where(LogisticsPoint.id.in_(missing))):
                found[p.id] = {"name": p.name, "city": p.city, "latitude": p.latitude,
                               "longitude": p.longitude}
                self.cache.put(("point", p.id), found[p.id])
        return {i: v for i, v in found.items() if v is not None}


def build(db: Session, target: Target, today: dt.date,
          directory: Directory | None = None) -> dict:
    """The facts of ``target``; NotFound (with a code the 404 page explains) otherwise."""
    directory = directory or Directory()
    if target.kind == "product":
        product = _product(db, target.gtin)
        return {"kind": "product", "key": None, "identifiers": target.identifiers(),
                **_product_facts(db, product, today, directory)}
    key = db.scalar(select(TraceKey).where(TraceKey.key == target.key))
    if key is None or key.kind != target.kind:
        raise NotFound("unknown_code", f"{target.key} is not registered", key=target.key)
    if target.kind == "parcel":
        return _parcel_facts(db, key, target, today, directory)
    if target.kind == "lot":
        return _lot_facts(db, key, target, today, directory)
    return _unit_facts(db, key, target, today, directory)


def _product(db: Session, gtin: str) -> Product:
    product = db.get(Product, gtin)
    if product is None:
        raise NotFound("unknown_product", f"no product with GTIN {gtin} is registered",
                       gtin=gtin)
    return product


def public_maker_id(product: Product) -> str:
    """The maker a consumer is shown: the named maker once it confirmed, else the brand
    owner (a party cannot make another party appear as its product's maker)."""
    if product.maker_confirmed or not product.brand_owner_id:
        return product.maker_id
    return product.brand_owner_id


def _product_facts(db: Session, product: Product, today: dt.date,
                   directory: Directory) -> dict:
    maker = public_maker_id(product)
    return {"product": {"gtin": product.gtin, "name": product.name,
                        "category": product.category},
            "maker": directory.parties(db, [maker], today).get(maker)}


def party_view(party: Party | None, today: dt.date) -> dict | None:
    if party is None:
        return None
    return {
        "name": party.name, "kind": party.kind, "verified": party.verified,
        "credit_code": party.credit_code,
        "licences": [{"kind": lic.kind, "number": lic.number, "categories": lic.categories,
                      "valid_from": lic.valid_from, "valid_until": lic.valid_until,
                      "issuer": lic.issuer,
                      "valid_today": lic.valid_from <= today <= lic.valid_until}
                     for lic in party.licences],
    }


def lot_view(lot: Lot | None, today: dt.date) -> dict | None:
    if lot is None:
        return None
    return {"lot": lot.lot, "production_date": lot.production_date,
            "expiry_date": lot.expiry_date, "origin": lot.origin,
            "expired": lot.expired(today)}


# --- units ----------------------------------------------------------------------------------


def _unit_facts(db: Session, key: TraceKey, target: Target, today: dt.date,
                directory: Directory) -> dict:
    lot = db.get(Lot, key.lot_id) if key.lot_id else None
    if target.lot is not None and (lot is None or lot.lot != target.lot):
        # The serial exists, but not in the lot the label claims: a mislabelled or copied pack.
        raise NotFound("lot_mismatch", f"serial {target.serial} is not from lot {target.lot}",
                       key=target.key, lot=target.lot)
    product = _product(db, key.gtin)
    events = _events(db, key.id, UNIT_STEPS)
    parties = directory.parties(db, [e.party_id for e in events] + [public_maker_id(product)],
                                today)
    journey = _journey(db, events, parties, directory)
    sales = [e for e in events if e.biz_step == "sale"]
    identifiers = target.identifiers()
    if lot is not None:
        identifiers["lot"] = lot.lot
    return {
        "kind": "unit", "key": key.key, "identifiers": identifiers, "state": key.state,
        "trace_key_id": key.id,
        **_product_facts(db, product, today, directory),
        "lot": lot_view(lot, today), "recall": recall_of(db, lot),
        "sales": [{"merchant": parties.get(e.party_id), "sold_at": e.event_time}
                  for e in sales],
        "counts": {"sales": len(sales),
                   "returns": sum(1 for s in journey if s["step"] == "return_receipt")},
        "journey": journey,
        "sightings": [{"at": s["at"], "city": s["city"], "latitude": s["latitude"],
                       "longitude": s["longitude"]} for s in journey
                      if s["latitude"] is not None],
        "_events": [(e.id, e.content) for e in events],
    }


@dataclass(frozen=True)
class _Step:
    """A step of a page as its hashed content states it (the columns only found it)."""

    id: int
    biz_step: str | None
    event_time: dt.datetime | None
    point_id: str | None
    party_id: str | None
    content: str
    role: str
    data: dict


def _events(db: Session, trace_key_id: int, steps: tuple[str, ...]) -> list[_Step]:
    rows = db.execute(
        select(Event.id, Event.content, EventKey.role)
        .join(EventKey, EventKey.event_id == Event.id)
        .where(EventKey.trace_key_id == trace_key_id, Event.biz_step.in_(steps))
        .order_by(Event.id).limit(MAX_EVENTS)).all()
    out = []
    for pk, content, role in rows:
        f = facts.read(pk, content)
        out.append(_Step(pk, f.biz_step, f.event_time, f.point_id, f.party_id, content, role,
                         f.data))
    return out


def _journey(db: Session, events: list, parties: dict[str, dict],
             directory: Directory) -> list[dict]:
    points = directory.points(db, [e.point_id for e in events])
    steps = []
    for e in events:
        point = points.get(e.point_id) or {}
        party = parties.get(e.party_id)
        step = {"step": e.biz_step, "at": e.event_time, "city": point.get("city"),
                "point": point.get("name"), "latitude": point.get("latitude"),
                "longitude": point.get("longitude"), "by": party["name"] if party else None,
                "via_parcel": e.role == "content"}
        if e.biz_step == "receipt":
            step["method"] = e.data.get("method")
        steps.append(step)
    return steps


# --- lots -----------------------------------------------------------------------------------


def _lot_facts(db: Session, key: TraceKey, target: Target, today: dt.date,
               directory: Directory) -> dict:
    lot = db.get(Lot, key.lot_id)
    product = _product(db, key.gtin)
    events = _events(db, key.id, LOT_STEPS)
    rows = db.execute(
        select(Event.party_id, Event.biz_step, func.count(), func.min(Event.event_time))
        .join(EventKey, EventKey.event_id == Event.id)
        .where(EventKey.trace_key_id == key.id, EventKey.role == "subject",
               Event.biz_step.in_(("listing", "sale")), Event.party_id.is_not(None))
        .group_by(Event.party_id, Event.biz_step)).all()
    sellers: dict[str, dict] = {}
    for party_id, step, count, first in rows:
        seller = sellers.setdefault(party_id, {"listed": False, "sales": 0, "since": first})
        seller["listed"] |= step == "listing"
        if step == "sale":
            seller["sales"] += count
        seller["since"] = min(seller["since"], first)
    parties = directory.parties(db, list(sellers) + [e.party_id for e in events], today)
    return {
        "kind": "lot", "key": key.key, "identifiers": target.identifiers(), "state": key.state,
        **_product_facts(db, product, today, directory),
        "lot": lot_view(lot, today), "recall": recall_of(db, lot),
        "sellers": [dict(merchant=parties[pid], **info)
                    for pid, info in sorted(sellers.items(), key=lambda kv: kv[1]["since"])
                    if pid in parties],
        "journey": _journey(db, events, parties, directory),
        "_events": [(e.id, e.content) for e in events],
    }


# --- parcels --------------------------------------------------------------------------------


def _parcel_facts(db: Session, key: TraceKey, target: Target, today: dt.date,
                  directory: Directory) -> dict:
    parcel = db.scalar(select(Parcel).where(Parcel.trace_key_id == key.id))
    events = [e for e in _events(db, key.id, PARCEL_STEPS) if e.role == "subject"]
    parties = directory.parties(
        db, [e.party_id for e in events] + ([parcel.carrier_id, parcel.merchant_id]
                                             if parcel else []), today)
    return {
        "kind": "parcel", "key": key.key, "identifiers": target.identifiers(),
        "state": key.state,
        "carrier": parties.get(parcel.carrier_id) if parcel else None,
        "sender": parties.get(parcel.merchant_id) if parcel else None,
        "journey": _journey(db, events, parties, directory),
        "_events": [(e.id, e.content) for e in events],
    }


# --- recalls --------------------------------------------------------------------------------

_RECALL_MODULES = ("trace_service.recalls.services", "trace_service.recalls",
                   "trace_service.inspect.recalls", "trace_service.inspect.services",
                   "trace_service.inspect")
_finder = None


def _recall_finder():
    """``active_recall_for_lot(db, lot_id)`` of the recall module, if it is installed."""
    global _finder
    if _finder is None:
        _finder = False
        for name in _RECALL_MODULES:
            try:
                module = importlib.import_module(name)
            except ImportError:
                continue
            if hasattr(module, "active_recall_for_lot"):
                _finder = module.active_recall_for_lot
                break
    return _finder or None


def recall_of(db: Session, lot: Lot | None) -> dict | None:
    """The recall banner's facts. The flag the chain rules read is ``lots.recalled_at``; the
    recall module (``trace_service.recalls``, when present) adds its reason, severity,
    the authority that ordered it and the document reference."""
    if lot is None or lot.recalled_at is None:
        return None
    out = {"recalled_at": lot.recalled_at, "reason": None, "severity": None,
           "authority": None, "reference": None}
    finder = _recall_finder()
    if finder is not None:
        record = finder(db, lot.id)
        if record is not None:
            for field in ("reason", "severity", "authority", "reference"):
                value = (record.get(field) if isinstance(record, dict)
                         else getattr(record, field, None))
                out[field] = str(value) if value is not None else None
    return out
