"""Reviews (with one appended review) and complaints."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from trace_service.db import Base, UTCDateTime, utcnow


class Review(Base):
    """``sequence`` 0 is the review, 1 the appended review (追评); one of each per order."""

    __tablename__ = "reviews"
    __table_args__ = (UniqueConstraint("order_id", "sequence"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    reviewer_id: Mapped[str] = mapped_column(ForeignKey("persons.id"))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    rating: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


COMPLAINT_CATEGORIES = (
    "quality", "counterfeit", "not_delivered", "empty_parcel", "damaged", "wrong_item",
    "expired", "false_advertising", "service", "other",
)
COMPLAINT_STATUSES = ("open", "accepted", "resolved", "rejected")


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    merchant_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    complainant_id: Mapped[str | None] = mapped_column(ForeignKey("persons.id"))
    trace_key_id: Mapped[int | None] = mapped_column(ForeignKey("trace_keys.id"))
    category: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="open")
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
