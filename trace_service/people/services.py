"""Storing personal data apart, and masking it for display."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_service.db import new_id
from trace_service.people.models import Person


def upsert_person(db: Session, data: dict | None) -> Person | None:
    """The person for ``data`` (name / phone / address / external_ref), made if new.

    With an ``external_ref`` (the platform's account id) the same buyer keeps one
    pseudonymous id across orders; the newest contact details win.
    """
    if not data:
        return None
    person = None
    ref = data.get("external_ref")
    if ref:
        person = db.scalar(select(Person).where(Person.external_ref == ref))
    if person is None:
        person = Person(id=new_id("psn"), external_ref=ref)
        db.add(person)
    for field in ("name", "phone", "address"):
        if data.get(field):
            setattr(person, field, data[field])
    db.flush()
    return person


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
