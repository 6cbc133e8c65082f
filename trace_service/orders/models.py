"""Orders with their lines and payment reference, and returns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace_service.db import Base, UTCDateTime, utcnow


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("merchant_id", "order_no"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    # The merchant's own order number; a retried POST with the same number is refused.
    order_no: Mapped[str] = mapped_column(String(64))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("persons.id"), index=True)
    consignee_id: Mapped[str | None] = mapped_column(ForeignKey("persons.id"))
    payment_channel: Mapped[str] = mapped_column(String(30))
    payment_reference: Mapped[str] = mapped_column(String(100))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(20), default="placed")
    placed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", lazy="selectin"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    listing_id: Mapped[str] = mapped_column(ForeignKey("listings.id"), index=True)
    trace_key_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    price_cents: Mapped[int] = mapped_column(BigInteger)

    order: Mapped[Order] = relationship(back_populates="lines")
    trace_key = relationship("TraceKey", lazy="joined")


class Return(Base):
    """A return (七天无理由退货 or defect) of some of an order's items."""

    __tablename__ = "returns"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="requested")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[ReturnItem]] = relationship(lazy="selectin")


class ReturnItem(Base):
    __tablename__ = "return_items"

    return_id: Mapped[str] = mapped_column(ForeignKey("returns.id"), primary_key=True)
    trace_key_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)

    trace_key = relationship("TraceKey", lazy="joined")
