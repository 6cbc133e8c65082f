"""Parties (platforms, merchants, manufacturers, carriers), their licences, carrier staff,
logistics points and the scanner devices bound to them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace_service.db import Base, UTCDateTime, utcnow

PARTY_KINDS = ("platform", "merchant", "manufacturer", "carrier")
#: The kinds that own brands and hold goods (carriers only carry them).
TRADING_KINDS = ("manufacturer", "merchant", "platform")

# The key-product categories of the e-commerce integrity plans.
CATEGORIES = (
    "food",
    "drug",
    "medical_device",
    "agricultural_product",
    "agricultural_input",
    "daily_consumer_good",
    "special_equipment",
    "hazardous",
    "rare_earth",
    "other",
)


class Party(Base):
    __tablename__ = "parties"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    # Real-name registration checked by the platform (营业执照 matched to the credit code).
    verified: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    licences: Mapped[list[Licence]] = relationship(
        back_populates="party", order_by="Licence.id", lazy="selectin"
    )


class Licence(Base):
    """A licence with a category scope and validity dates (business, food, drug ...)."""

    __tablename__ = "licences"
    __table_args__ = (UniqueConstraint("party_id", "kind", "number"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    number: Mapped[str] = mapped_column(String(64))
    categories: Mapped[list] = mapped_column(JSON)
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_until: Mapped[dt.date] = mapped_column(Date)
    issuer: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    party: Mapped[Party] = relationship(back_populates="licences")

    def covers(self, category: str, on: dt.date) -> bool:
        return category in self.categories and self.valid_from <= on <= self.valid_until


class LogisticsPoint(Base):
    __tablename__ = "logistics_points"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    gln: Mapped[str | None] = mapped_column(String(13), unique=True)
    carrier_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Device(Base):
    """A scanner bound to one logistics point and one carrier."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    point_id: Mapped[str] = mapped_column(ForeignKey("logistics_points.id"), index=True)
    carrier_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    point: Mapped[LogisticsPoint] = relationship(lazy="joined")


class Staff(Base):
    """A carrier's courier or warehouse worker; the name and phone live in ``persons``."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("carrier_id", "staff_no"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    carrier_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    staff_no: Mapped[str] = mapped_column(String(40))
    person_id: Mapped[str] = mapped_column(ForeignKey("persons.id"))
    point_id: Mapped[str | None] = mapped_column(ForeignKey("logistics_points.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
