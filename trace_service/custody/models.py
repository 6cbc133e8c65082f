"""Custody: who holds each unit and each lot quantity, and the B2B transfers that move them.

A unit's custodian is ``trace_keys.owner_id``. A lot's quantity can be spread over several
parties (the maker keeps some, a distributor received some): ``lot_holdings`` has one row
per lot and holder. Transfers (ship from one party, receive at another) are the only way
custody moves between parties; a sale hands goods to a consumer, who is not a party.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from trace_service.db import Base, UTCDateTime, utcnow

TRANSFER_STATES = ("shipped", "received")


class LotHolding(Base):
    __tablename__ = "lot_holdings"

    trace_key_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), primary_key=True,
                                          index=True)
    quantity: Mapped[int] = mapped_column(BigInteger)


class Transfer(Base):
    """Goods shipped from ``source_id`` to ``destination_id`` (CBV shipping / receiving)."""

    __tablename__ = "transfers"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    destination_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    carrier_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"))
    reference: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="shipped")
    shipped_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[TransferItem]] = relationship(order_by="TransferItem.trace_key_id",
                                                     lazy="selectin")


class TransferItem(Base):
    __tablename__ = "transfer_items"

    transfer_id: Mapped[str] = mapped_column(ForeignKey("transfers.id"), primary_key=True)
    trace_key_id: Mapped[int] = mapped_column(ForeignKey("trace_keys.id"), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)

    trace_key = relationship("TraceKey", lazy="joined")
