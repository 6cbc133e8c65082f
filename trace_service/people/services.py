"""Storing personal data apart, and masking it for display."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trace_service.db import new_id, utcnow
from trace_service.people.models import Person


def upsert_person(db: Session, data: dict | None) -> Person | None:
    """The person for ``data`` (name / phone / address / external_ref), made if new.

    With an ``external_ref`` (the platform's account id) the same buyer keeps one
    pseudonymous id across orders; the newest contact details win.
    """
    if not data:
        return None
    ref = data.get("external_ref")
    if ref:
        person = _get_or_insert_by_ref(db, ref)
    else:
        person = Person(id=new_id("psn"))
        db.add(person)
    for field in ("name", "phone", "address"):
        if data.get(field):
            setattr(person, field, data[field])
    db.flush()
    return person


def _get_or_insert_by_ref(db: Session, ref: str) -> Person:
    """One person per account reference, even when two requests for a new buyer race:
    ``INSERT ... ON CONFLICT DO NOTHING`` lets the loser read the winner's row."""
    person = db.scalar(select(Person).where(Person.external_ref == ref))
    if person is not None:
        return person
    dialect = db.get_bind().dialect.name
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    db.execute(insert(Person).values(id=new_id("psn"), external_ref=ref, created_at=utcnow())
               .on_conflict_do_nothing(index_elements=["external_ref"]))
    return db.scalar(select(Person).where(Person.external_ref == ref))


def mask_name(name: str | None) -> str | None:
    """张三丰 -> 张**, Alice Smith -> A**** S****."""
    if not name:
        return name
    if name.isascii():
        return " ".join(p[0] + "*" * (len(p) - 1) for p in name.split())
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str | None) -> str | None:
    """13812345678 -> 138****5678; shorter numbers keep only their last two digits."""
    if not phone:
        return phone
    digits = [c for c in phone if c.isdigit()]
    if len(digits) > 11 and digits[:2] == ["8", "6"]:  # +86 country code
        digits = digits[2:]
    if len(digits) >= 11:
        return "".join(digits[:3]) + "****" + "".join(digits[-4:])
    return "*" * max(len(digits) - 2, 0) + "".join(digits[-2:])


def mask_address(address: str | None) -> str | None:
    """Keep the first six characters (province / city), hide the rest."""
    if not address:
        return address
    return address[:6] + "*" * min(len(address) - 6, 8) if len(address) > 6 else "*" * len(address)


def masked(person: Person | None) -> dict | None:
    if person is None:
        return None
    return {"id": person.id, "name": mask_name(person.name), "phone": mask_phone(person.phone),
            "address": mask_address(person.address)}
