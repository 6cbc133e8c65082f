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

One human, several rows. Each party that writes a person gets a row of its own (a
merchant's buyer, a carrier's receipt signer, the operator's consumer reporter), so the
same human can hold many ``psn_`` ids. :func:`erase_subject` erases the data subject
behind one id: every row that :func:`same_subject` matches, by this rule, applied until
no new row is found:

1. **the same phone number** (digits only, a leading +86 dropped), in any scope: a mobile
   number in China is registered to one named person, and it is what every party records;
2. **the signer of a receipt of her own order who gave her name**: a receipt signer whose
   name is, after trimming, exactly the name of a matched buyer or consignee of the
   parcel's order (it catches a signer who left no phone or another one).

(The same ``external_ref`` in the same scope is the same row already: it is unique.) The
rule does not catch the same human under another phone and another name, or signing for
someone else's parcel, or mentioned by name in another person's free text; and it catches
too much when two people share one phone (a family line): ``--dry-run`` lists the rows
first. Besides the rows, her name, phone and address are cut out of the free texts of the
records the matched rows wrote (reviews, complaints and their resolutions, consumer
reports); the rest of those texts stays. Events never held any of it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select, union_all
from sqlalchemy.orm import Session

from trace_service.db import utcnow
from trace_service.errors import NotFound
from trace_service.feedback.models import Complaint, Review
from trace_service.orders.models import Order
from trace_service.parties.models import Staff
from trace_service.people.models import Person
from trace_service.people.services import masked
from trace_service.public.models import ConsumerReport
from trace_service.shipping.models import Parcel, Receipt


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


ERASED_MARK = "[erased]"


def phone_key(phone: str | None) -> str | None:
    """The digits of a phone number, a +86 / 0086 country code dropped: the matching form."""
    digits = "".join(c for c in phone or "" if c.isdigit())
    for code in ("0086", "86"):
        if digits.startswith(code) and len(digits) == len(code) + 11:
            digits = digits[len(code):]
    return digits or None


def _name_key(name: str | None) -> str | None:
    return " ".join((name or "").split()) or None


def same_subject(db: Session, person: Person, limit: int = 1000) -> list[Person]:
    """Every person row of the data subject behind ``person`` (itself first), by the rule of
    the module docstring. ``limit`` bounds a runaway match (a shared switchboard number)."""
    found = {person.id: person}
    phones, todo = set(), [person]
    while todo:
        batch, todo = todo, []
        new_phones = {phone_key(p.phone) for p in batch} - phones - {None}
        phones |= new_phones
        candidates: list[Person] = []
        if new_phones:
            # A cheap pre-filter on the last four digits; the exact comparison is in Python,
            # as phones are stored as they were typed (spaces, dashes, +86).
            tails = [f"%{ph[-4:]}" for ph in new_phones]
            candidates += [p for p in db.scalars(select(Person).where(
                or_(*(Person.phone.like(t) for t in tails)))) if phone_key(p.phone) in phones]
        names = {_name_key(p.name) for p in batch} - {None}
        ids = [p.id for p in batch]
        if names:
            orders = select(Order.id).where(or_(Order.buyer_id.in_(ids),
                                                Order.consignee_id.in_(ids)))
            signers = db.scalars(
                select(Person).join(Receipt, Receipt.signer_id == Person.id)
                .join(Parcel, Parcel.id == Receipt.parcel_id)
                .where(Parcel.order_id.in_(orders)))
            candidates += [p for p in signers if _name_key(p.name) in names]
        for candidate in candidates:
            if candidate.id not in found and len(found) < limit:
                found[candidate.id] = candidate
                todo.append(candidate)
    return list(found.values())


@dataclass(frozen=True)
class SubjectErased:
    person_id: str
    rows: list[Erased]          # every person row of the subject, the asked-for one first
    texts: list[str]            # "reviews rev_... text" for each free text cut


def erase_subject(db: Session, person_id: str, dry_run: bool = False,
                  now: dt.datetime | None = None) -> SubjectErased:
    """Erase every person row of the data subject behind ``person_id`` and cut their name,
    phone and address out of the free texts those rows wrote. Caller commits."""
    person = db.get(Person, person_id, with_for_update=True)
    if person is None:
        raise NotFound("unknown_person", f"no person has id {person_id}", person_id=person_id)
    rows = same_subject(db, person)
    needles = sorted({v for p in rows for v in (p.name, p.phone, p.address)
                      if v and len(v.strip()) >= 2}, key=len, reverse=True)
    texts = []
    ids = [p.id for p in rows]
    for model, author, columns in ((Review, Review.reviewer_id, ("text",)),
                                   (Complaint, Complaint.complainant_id, ("text", "resolution")),
                                   (ConsumerReport, ConsumerReport.reporter_id, ("text",))):
        for record in db.scalars(select(model).where(author.in_(ids))):
            for column in columns:
                value = getattr(record, column)
                cut = value
                for needle in needles:
                    cut = cut.replace(needle, ERASED_MARK) if cut else cut
                if cut != value:
                    texts.append(f"{model.__tablename__} {record.id} {column}")
                    if not dry_run:
                        setattr(record, column, cut)
    if dry_run:
        return SubjectErased(person.id, [Erased(p.id, masked(p), p.erased_at is not None)
                                         for p in rows], texts)
    erased = [erase_person(db, p.id, now) for p in rows]
    return SubjectErased(person.id, erased, texts)


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
