"""Erasing personal data without touching the log, and the retention rule.

People are kept in ``persons`` under ``psn_`` ids; events, and so the log, only ever hold
those ids (``chain.events``). Erasing a person blanks the row's name, phone, address and
account reference and sets ``erased_at``; the id stays, so orders, receipts and the
trail keep their shape and every proof keeps verifying.

Retention: events are kept for ever (they are the evidence). Personal data is kept while
it is in use and then for ``PERSONAL_DATA_RETENTION_DAYS`` (default 1095 days, the
three years for which e-commerce law asks platforms to keep transaction records). A
person's last activity is the newest of: creation, an order placed as buyer or
consignee, a receipt signed, a review written, a complaint filed or updated. Persons
linked to a carrier's staff are employment records and not touched by retention (erase
them explicitly when the employment ends).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from trace_service.db import utcnow
from trace_service.errors import NotFound
from trace_service.feedback.models import Complaint, Review
from trace_service.orders.models import Order
from trace_service.parties.models import Staff
from trace_service.people.models import Person
from trace_service.people.services import masked
from trace_service.shipping.models import Receipt


@dataclass(frozen=True)
class Erased:
    person_id: str
    was: dict          # masked view of what was erased (for the operator's record)
    already: bool      # erased before; nothing changed


def erase_person(db: Session, person_id: str, now: dt.datetime | None = None) -> Erased:
    """Blank one person's personal data. Idempotent. Caller commits."""
    person = db.get(Person, person_id, with_for_update=True)
    if person is None:
        raise NotFound("unknown_person", f"no person has id {person_id}", person_id=person_id)
    if person.erased_at is not None:
        return Erased(person.id, masked(person), already=True)
    was = masked(person)
    person.name = person.phone = person.address = person.external_ref = None
    person.erased_at = now or utcnow()
    db.flush()
    return Erased(person.id, was, already=False)


def last_activity():
    """(person_id, last activity time) for every person, as a subquery."""
    activity = union_all(
        select(Person.id.label("pid"), Person.created_at.label("at")),
        select(Order.buyer_id, Order.placed_at),
        select(Order.consignee_id, Order.placed_at).where(Order.consignee_id.is_not(None)),
        select(Receipt.signer_id, Receipt.signed_at).where(Receipt.signer_id.is_not(None)),
        select(Review.reviewer_id, Review.created_at),
        select(Complaint.complainant_id, Complaint.updated_at)
        .where(Complaint.complainant_id.is_not(None)),
    ).subquery()
    return (select(activity.c.pid, func.max(activity.c.at).label("last"))
            .group_by(activity.c.pid).subquery())


def expired_persons(db: Session, days: int, now: dt.datetime | None = None) -> list[str]:
    """Ids of persons not yet erased whose last activity is more than ``days`` days old."""
    cutoff = (now or utcnow()) - dt.timedelta(days=days)
    last = last_activity()
    staff = select(Staff.person_id)
    stmt = (select(Person.id).join(last, last.c.pid == Person.id)
            .where(Person.erased_at.is_(None), last.c.last < cutoff,
                   Person.id.not_in(staff))
            .order_by(Person.id))
    return list(db.scalars(stmt))


def apply_retention(db: Session, days: int, dry_run: bool = False,
                    now: dt.datetime | None = None) -> list[str]:
    """Erase (or with ``dry_run`` only list) the persons past retention. Caller commits."""
    ids = expired_persons(db, days, now)
    if not dry_run:
        for person_id in ids:
            erase_person(db, person_id, now)
    return ids
