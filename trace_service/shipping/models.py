"""Parcels (SSCC or waybill), what is packed in them, and receipts (sign-for)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace_service.db import Base, UTCDateTime, utcnow


class Parcel(Base):
    __tablename__ = "parcels"
    # Room on each page for the updates of every scan (migration 0008).
    __table_args__ = {"postgresql_with": {"fillfactor": 70}}

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    trace_key_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    carrier_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_point_id: Mapped[str | None] = mapped_column(ForeignKey("logistics_points.id"))

    trace_key = relationship("TraceKey", lazy="joined")
    items: Mapped[list[ParcelItem]] = relationship(lazy="selectin")


class ParcelItem(Base):
    __tablename__ = "parcel_items"

    parcel_id: Mapped[str] = mapped_column(ForeignKey("parcels.id"), primary_key=True)
    trace_key_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)

    trace_key = relationship("TraceKey", lazy="joined")


class Receipt(Base):
    __tablename__ = "receipts"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    parcel_id: Mapped[str] = mapped_column(ForeignKey("parcels.id"), unique=True)
    signer_id: Mapped[str | None] = mapped_column(ForeignKey("persons.id"))
    # How it was signed for: by the consignee, a proxy, a parcel locker or station.
    method: Mapped[str] = mapped_column(String(20))
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    point_id: Mapped[str | None] = mapped_column(ForeignKey("logistics_points.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
