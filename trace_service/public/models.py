"""Tables of the consumer side: checks of a serial, consumer reports, the daily salt, the
rate limits' counters.

No raw IP address (nor user agent) is ever stored. A check keeps only a *visitor hash*:
HMAC-SHA256 of the device (its address; see ``checks``) under a salt that is made at random
for one day and deleted the day after (``visitor_salts``), so two checks by the same phone
on the same day count once, and nobody, not even with the database and the app secret, can
tell once the salt is gone which address made a check.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, LargeBinary, String, Text,
    UniqueConstraint, true,
)
from sqlalchemy.orm import Mapped, mapped_column

from trace_service.db import Base, UTCDateTime, utcnow


class ConsumerCheck(Base):
    """One consumer's look at one unit's page on one day (the counterfeit signal)."""

    __tablename__ = "consumer_checks"
    __table_args__ = (
        UniqueConstraint("trace_key_id", "day", "visitor_hash"),
        Index("ix_consumer_checks_key_time", "trace_key_id", "checked_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trace_key_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"))
    # The service-zone date the salt of ``visitor_hash`` belonged to.
    day: Mapped[dt.date] = mapped_column(Date)
    visitor_hash: Mapped[str] = mapped_column(String(32))
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Coarse place, only if the consumer offered it: a city and/or lat/lon rounded to 0.1°.
    city: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # False for a check that looked automated (``checks.classify``) or came from a network
    # that already had its share of devices that day: kept only so the page can say that
    # some checks were not counted.
    counted: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # HMAC of the check's network (IPv4 /24, IPv6 /48) under the day's salt, like
    # ``visitor_hash``: how many devices of one network checked the unit that day.
    network_hash: Mapped[str | None] = mapped_column(String(32))


class ConsumerReport(Base):
    """A problem reported from the public page. It always enters the chain as a complaint
    event on the unit, lot or parcel; when the order that sold the thing is known it is also
    a ``complaints`` row (``complaint_id``) the merchant must handle."""

    __tablename__ = "consumer_reports"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    trace_key_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"), index=True)
    order_id: Mapped[str | None] = mapped_column(ForeignKey("orders.id"))
    complaint_id: Mapped[str | None] = mapped_column(ForeignKey("complaints.id"))
    reporter_id: Mapped[str | None] = mapped_column(ForeignKey("persons.id"))
    category: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    event_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class VisitorSalt(Base):
    """The random salt of one day's visitor hashes; rows older than yesterday are deleted."""

    __tablename__ = "visitor_salts"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateLimitCounter(Base):
    """Requests of one client in one fixed window of one limit (``public.ratelimit``), shared
    by every worker and server using this database. ``client_hash`` is a keyed hash of the
    client's address and the window, never the address; rows of past windows are deleted."""

    __tablename__ = "rate_limit_counters"

    bucket: Mapped[str] = mapped_column(String(20), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    client_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
