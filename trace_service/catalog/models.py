"""Products (by GTIN), lots and listings."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace_service.db import Base, UTCDateTime, utcnow


class Product(Base):
    __tablename__ = "products"

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    maker_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    registrant_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    # The holder of the GS1 company prefix the GTIN falls under (trace_service.brands).
    brand_owner_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"), index=True)
    # A maker other than the brand owner is shown as the maker only once it confirmed.
    maker_confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    # The 7-digit product identification code heading this product's 20-digit drug codes.
    drug_product_code: Mapped[str | None] = mapped_column(String(7), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (UniqueConstraint("gtin", "lot"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"), index=True)
    lot: Mapped[str] = mapped_column(String(20))
    production_date: Mapped[dt.date | None] = mapped_column(Date)
    expiry_date: Mapped[dt.date | None] = mapped_column(Date)
    origin: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[int | None] = mapped_column(Integer)
    recalled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    product: Mapped["Product"] = relationship(lazy="joined")

    def expired(self, on: dt.date) -> bool:
        return self.expiry_date is not None and self.expiry_date < on


class Listing(Base):
    """A merchant's offer of a product (optionally one lot) on the platform."""

    __tablename__ = "listings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    gtin: Mapped[str] = mapped_column(ForeignKey("products.gtin"), index=True)
    lot_id: Mapped[str | None] = mapped_column(ForeignKey("lots.id"))
    title: Mapped[str] = mapped_column(String(200))
    price_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    product: Mapped[Product] = relationship(lazy="joined")
