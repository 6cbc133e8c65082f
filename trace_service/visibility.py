"""Who may read what: party-scoped visibility, decided here and nowhere else.

Administrators and inspectors read everything (every inspector read is logged by the
inspector's desk). Any other caller reads an event only if it is party to it: its party id
is in the event's ``parties`` (``event_parties``: the actor, the source and destination of
a transfer, the carrier and merchant of a parcel, the brand owner at commissioning). One
exception follows custody, because provenance is what a holder of goods is owed:

* the custody chain of a **unit** (its commissioning, and every shipping and receiving of
  it) is readable by every party that has held that unit, so a shop sees maker ->
  distributor -> shop, and a maker sees where its pack went;
* the **commissioning** of a lot is readable by every party that has held some of it (a lot
  splits over many holders, so transfers between other holders stay theirs).

A trace key itself is known to a caller only if the caller holds or held it, or is party to
one of its events; otherwise it is answered like an unknown key (404), never 403. In a trail,
the events a caller may not read appear as placeholders with the step and the date only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_service.auth.permissions import Actor
from trace_service.chain import facts
from trace_service.chain.models import Event, EventKey, EventParty, TraceKey

CUSTODY_STEPS = ("commissioning", "shipping", "receiving")


def sees_everything(actor: Actor) -> bool:
    return actor.sees_everything


def custodians(db: Session, key: TraceKey) -> set[str]:
    """Every party that has held ``key``: its custodian now, and the parties of its custody
    events (commissioning, shipping, receiving)."""
    rows = db.scalars(
        select(EventParty.party_id).join(Event, Event.id == EventParty.event_id)
        .join(EventKey, EventKey.event_id == Event.id)
        .where(EventKey.trace_key_id == key.id, EventKey.role == "subject",
               Event.biz_step.in_(CUSTODY_STEPS))).all()
    return set(rows) | ({key.owner_id} if key.owner_id and key.kind != "parcel" else set())


def knows_key(db: Session, actor: Actor, key: TraceKey) -> bool:
    """May the caller learn that ``key`` exists and read its trail header?"""
    if actor.sees_everything:
        return True
    me = actor.party_id
    if not me:
        return False
    if key.owner_id == me:
        return True
    stmt = (select(EventParty.event_id).join(EventKey, EventKey.event_id == EventParty.event_id)
            .where(EventKey.trace_key_id == key.id, EventParty.party_id == me).limit(1))
    return db.scalar(stmt) is not None


def readable_events(db: Session, actor: Actor, key: TraceKey, events: list[Event]) -> set[int]:
    """The ids of those of ``events`` (all from the trail of ``key``) the caller may read."""
    if actor.sees_everything:
        return {e.id for e in events}
    me = actor.party_id
    if not me or not events:
        return set()
    ids = [e.id for e in events]
    mine = set(db.scalars(select(EventParty.event_id).where(
        EventParty.party_id == me, EventParty.event_id.in_(ids))).all())
    if any(e.biz_step in CUSTODY_STEPS and e.id not in mine for e in events):
        held = me in custodians(db, key)
        for e in events:
            if held and (e.biz_step == "commissioning" or
                         (key.kind == "unit" and e.biz_step in CUSTODY_STEPS)):
                mine.add(e.id)
    return mine


def may_read_event(db: Session, actor: Actor, event: Event) -> bool:
    """May the caller read this one event (its content, its inclusion proof)?"""
    if actor.sees_everything:
        return True
    if not actor.party_id:
        return False
    if db.get(EventParty, (actor.party_id, event.id)) is not None:
        return True
    if event.biz_step not in CUSTODY_STEPS:
        return False
    subjects = db.scalars(select(TraceKey).join(EventKey, EventKey.trace_key_id == TraceKey.id)
                          .where(EventKey.event_id == event.id,
                                 EventKey.role == "subject")).all()
    return any(event.id in readable_events(db, actor, key, [event]) for key in subjects)


def placeholder(event: Event, tz: dt.tzinfo) -> dict:
    """What a caller sees of an event it may not read: that a step happened, and its date."""
    f = facts.of(event)
    return {"redacted": True, "biz_step": f.biz_step or "unknown",
            "date": f.event_time.astimezone(tz).date().isoformat() if f.event_time else None}


def shown_person_id(db: Session, actor: Actor, person_id: str | None) -> str | None:
    """``person_id`` if the caller may see it (see ``person_id_for``), else None."""
    if person_id is None or actor.sees_everything:
        return person_id
    from trace_service.people.models import Person

    return person_id_for(actor, db.get(Person, person_id))


def person_id_for(actor: Actor, person) -> str | None:
    """A ``psn_`` id is handed only to the party that wrote that person (and the operator)."""
    if person is None:
        return None
    if actor.sees_everything or person.scope == (actor.party_id or "operator"):
        return person.id
    return None
