"""Personal data, kept apart from everything else under pseudonymous ids.

Buyers, consignees, signers, reviewers, complainants and staff appear everywhere else only
as a ``psn_...`` id. Nothing in this table is ever copied into event content, logs or
public pages; masking for display lives in ``trace_service.people.masking``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trace_service.db import Base, UTCDateTime, utcnow


class Person(Base):
    __tablename__ = "persons"
    __table_args__ = (UniqueConstraint("scope", "external_ref"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # Whose record this is: the party that wrote it (its ``pty_`` id), or ``operator`` for
    # the platform operator's administrators, inspectors and consumer desk. A party only
    # ever finds, updates or sees the ids of its own persons.
    scope: Mapped[str] = mapped_column(String(40), default="operator")
    # The writing party's own account reference for this person (e.g. a buyer account id),
    # so the same buyer keeps one pseudonymous id across that party's orders.
    external_ref: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
