"""Storing personal data apart, and masking it for display."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trace_service.db import new_id, utcnow
from trace_service.people.models import Person


def scope_of(actor) -> str:
    """The scope persons written by ``actor`` belong to (see ``Person.scope``)."""
    return actor.party_id or "operator"


def upsert_person(db: Session, data: dict | None, scope: str) -> Person | None:
    """The person for ``data`` (name / phone / address / external_ref), made if new.

    An ``external_ref`` is the writing party's own account id: within that party's
    ``scope`` the same buyer keeps one pseudonymous id across orders and the newest contact
    details win; another party's person with the same reference is never found or touched.
    """
    if not data:
        return None
    ref = data.get("external_ref")
    if ref:
        person = _get_or_insert_by_ref(db, ref, scope)
    else:
        person = Person(id=new_id("psn"), scope=scope)
        db.add(person)
    for field in ("name", "phone", "address"):
        if data.get(field):
            setattr(person, field, data[field])
    db.flush()
    return person


def find_by_ref(db: Session, ref: str, scope: str) -> Person | None:
    return db.scalar(select(Person).where(Person.scope == scope, Person.external_ref == ref))


def _get_or_insert_by_ref(db: Session, ref: str, scope: str) -> Person:
    """One person per account reference and scope, even when two requests for a new buyer
    race: ``INSERT ... ON CONFLICT DO NOTHING`` lets the loser read the winner's row."""
    person = find_by_ref(db, ref, scope)
    if person is not None:
        return person
    dialect = db.get_bind().dialect.name
    insert = {"postgresql": pg_insert, "sqlite": sqlite_insert}[dialect]
    db.execute(insert(Person).values(id=new_id("psn"), scope=scope, external_ref=ref,
                                     created_at=utcnow())
               .on_conflict_do_nothing(index_elements=["scope", "external_ref"]))
    return find_by_ref(db, ref, scope)


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


def masked(person: Person | None, actor=None) -> dict | None:
    """Masked contact details; the ``psn_`` id only for the party that wrote the person (or
    the operator: no ``actor``)."""
    if person is None:
        return None
    from trace_service.visibility import person_id_for

    return {"id": person.id if actor is None else person_id_for(actor, person), "name": mask_name(person.name), "phone": mask_phone(person.phone),
            "address": mask_address(person.address)}
